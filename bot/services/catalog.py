"""Which roadmaps a server can use: the bundled ones and its own uploads, each version kept immutable."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import BUNDLED_GUILD, RoadmapVersion
from bot.errors import Conflict, InvalidInput, NotFound
from bot.roadmap import Roadmap, RoadmapRegistry, load_roadmap_bytes, load_roadmap_text


@dataclass(frozen=True)
class RoadmapChoice:
    id: str
    title: str
    uploaded: bool


class RoadmapCatalog:
    """Resolves roadmap ids per server and parses stored versions (cached: versions never change)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], registry: RoadmapRegistry, clock: Clock) -> None:
        self._sessions = sessions
        self._registry = registry
        self._clock = clock
        self._parsed: dict[int, Roadmap] = {}

    async def choices(self, guild_id: int) -> list[RoadmapChoice]:
        """Every roadmap this server can start a cohort on: bundled first, then its latest uploads."""
        bundled = [RoadmapChoice(r.id, r.title, False) for r in self._registry.all()]
        async with self._sessions() as session:
            rows = (await session.execute(_latest_uploads(guild_id))).scalars().all()
        return bundled + [RoadmapChoice(v.roadmap_id, v.title, True) for v in rows]

    async def version_for_new_cohort(self, session: AsyncSession, guild_id: int, roadmap_id: str) -> RoadmapVersion:
        """The version a cohort created now would keep: the server's latest upload, or a bundled snapshot."""
        uploaded = (await session.execute(_latest_uploads(guild_id, roadmap_id))).scalar_one_or_none()
        if uploaded is not None:
            return uploaded
        roadmap = self._registry.get(roadmap_id)
        if roadmap is None:
            raise NotFound(f"There is no roadmap '{roadmap_id}' on this server. Pick one from the list.")
        text = self._registry.source_text(roadmap_id)
        return await self._store(session, BUNDLED_GUILD, roadmap, text, uploaded_by=None)

    async def import_upload(self, guild_id: int, filename: str, data: bytes, uploaded_by: int) -> RoadmapVersion:
        """Validate an uploaded YAML file and store it as the next version of its id for this server."""
        roadmap = load_roadmap_bytes(data, filename)
        if self._registry.get(roadmap.id) is not None:
            raise InvalidInput(
                f"'{roadmap.id}' is the id of a bundled roadmap; give your roadmap a different `id`."
            )
        async with self._sessions.begin() as session:
            return await self._store(session, guild_id, roadmap, data.decode("utf-8"), uploaded_by=uploaded_by)

    def parse(self, version: RoadmapVersion) -> Roadmap:
        roadmap = self._parsed.get(version.id)
        if roadmap is None:
            roadmap = self._bundled_copy(version) or load_roadmap_text(
                version.yaml_text, f"{version.roadmap_id} v{version.version}"
            )
            self._parsed[version.id] = roadmap
        return roadmap

    def _bundled_copy(self, version: RoadmapVersion) -> Roadmap | None:
        """A snapshot identical to the bundled file is the registry's roadmap: no need to parse it again."""
        if version.guild_id != BUNDLED_GUILD or self._registry.get(version.roadmap_id) is None:
            return None
        if self._registry.source_text(version.roadmap_id) != version.yaml_text:
            return None
        return self._registry.get(version.roadmap_id)

    async def _store(
        self, session: AsyncSession, guild_id: int, roadmap: Roadmap, text: str, uploaded_by: int | None
    ) -> RoadmapVersion:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        latest = await _latest(session, guild_id, roadmap.id)
        # Only the latest counts: re-uploading an older text makes it the newest version again.
        if latest is not None and latest.sha256 == digest:
            return latest
        version = RoadmapVersion(
            guild_id=guild_id,
            roadmap_id=roadmap.id,
            version=(latest.version if latest else 0) + 1,
            title=roadmap.title,
            yaml_text=text,
            sha256=digest,
            uploaded_by=uploaded_by,
            created_at=self._clock.now(),
        )
        try:
            async with session.begin_nested():
                session.add(version)
        except IntegrityError:
            # Stored by someone else at the same moment (PostgreSQL; on SQLite writers take turns):
            # the same text is that version, another text needs a new upload.
            winner = await _latest(session, guild_id, roadmap.id)
            if winner is not None and winner.sha256 == digest:
                return winner
            raise Conflict(
                f"Another version of '{roadmap.id}' was stored at this very moment; upload yours again."
            ) from None
        self._parsed[version.id] = roadmap
        return version


async def _latest(session: AsyncSession, guild_id: int, roadmap_id: str) -> RoadmapVersion | None:
    return await session.scalar(
        select(RoadmapVersion)
        .where(RoadmapVersion.guild_id == guild_id, RoadmapVersion.roadmap_id == roadmap_id)
        .order_by(RoadmapVersion.version.desc())
        .limit(1)
    )


def _latest_uploads(guild_id: int, roadmap_id: str | None = None):
    latest = (
        select(RoadmapVersion.roadmap_id, func.max(RoadmapVersion.version).label("version"))
        .where(RoadmapVersion.guild_id == guild_id)
        .group_by(RoadmapVersion.roadmap_id)
        .subquery()
    )
    query = select(RoadmapVersion).join(
        latest,
        (RoadmapVersion.roadmap_id == latest.c.roadmap_id) & (RoadmapVersion.version == latest.c.version),
    ).where(RoadmapVersion.guild_id == guild_id)
    if roadmap_id is not None:
        query = query.where(RoadmapVersion.roadmap_id == roadmap_id)
    return query.order_by(RoadmapVersion.roadmap_id)

