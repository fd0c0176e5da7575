"""Which roadmaps a server can use: the bundled ones and its own uploads, each version kept immutable."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import BUNDLED_GUILD, Cohort, RoadmapVersion
from bot.errors import Conflict, InvalidInput, NotFound
from bot.roadmap import Roadmap, RoadmapRegistry, load_roadmap_text
from bot.services.quotas import ROADMAP_UPLOADS, take

MAX_STORED_VERSIONS = 25
"""Uploaded roadmap versions one server may keep (each up to 256 KB); /cohort remove-roadmap frees room."""


class UploadChecker(Protocol):
    """Validates an uploaded file away from the event loop, with a time limit."""

    async def check(self, data: bytes, source: str) -> Roadmap: ...


@dataclass(frozen=True)
class RoadmapChoice:
    id: str
    title: str
    uploaded: bool


@dataclass(frozen=True)
class StoredVersion:
    version: int
    title: str
    used_by: tuple[str, ...]
    """Names of the cohorts on it (ended ones too: a cohort keeps its version for good)."""


@dataclass(frozen=True)
class Removal:
    roadmap_id: str
    removed: tuple[int, ...]
    kept: tuple[StoredVersion, ...]


class RoadmapCatalog:
    """Resolves roadmap ids per server and parses stored versions (cached: versions never change)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        registry: RoadmapRegistry,
        clock: Clock,
        checker: UploadChecker,
    ) -> None:
        self._sessions = sessions
        self._registry = registry
        self._clock = clock
        self._checker = checker
        self._parsed: dict[int, Roadmap] = {}
        self._numbered: dict[int, tuple[Roadmap, int]] = {}
        self._checking: set[int] = set()

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

    async def tier_role_names(self, guild_id: int, roadmap_id: str) -> list[str]:
        """The role names of a roadmap's tiers, as a cohort created now would use them; none if it is unknown."""
        async with self._sessions() as session:
            uploaded = (await session.execute(_latest_uploads(guild_id, roadmap_id))).scalar_one_or_none()
        roadmap = self.parse(uploaded) if uploaded is not None else self._registry.get(roadmap_id)
        return [tier.role for tier in roadmap.tiers] if roadmap is not None else []

    async def import_upload(
        self, guild_id: int, filename: str, read: Callable[[], Awaitable[bytes]], uploaded_by: int
    ) -> RoadmapVersion:
        """Validate an uploaded YAML file and store it as the next version of its id for this server.

        Cheap refusals come first, before `read` fetches the file; the upload then counts toward the
        server's hourly quota whatever the checker finds, so a server cannot keep the checker busy.
        """
        if guild_id in self._checking:
            raise Conflict("A roadmap upload from this server is still being checked; wait for its answer first.")
        self._checking.add(guild_id)
        try:
            async with self._sessions.begin() as session:
                await self._room_for_one_more(session, guild_id)
                await take(session, ROADMAP_UPLOADS, self._clock.now(), guild_id)
            data = await read()
            roadmap = await self._checker.check(data, filename)
        finally:
            self._checking.discard(guild_id)
        if self._registry.get(roadmap.id) is not None:
            raise InvalidInput(
                f"'{roadmap.id}' is the id of a bundled roadmap; give your roadmap a different `id`."
            )
        async with self._sessions.begin() as session:
            return await self._store(session, guild_id, roadmap, data.decode("utf-8"), uploaded_by=uploaded_by)

    async def stored_versions(self, guild_id: int, roadmap_id: str) -> list[StoredVersion]:
        """This server's uploaded versions of one roadmap, newest first, with the cohorts using each."""
        async with self._sessions() as session:
            return await _stored_versions(session, guild_id, roadmap_id)

    async def remove(self, guild_id: int, roadmap_id: str, version: int | None) -> Removal:
        """Delete one uploaded version, or every version, that no cohort uses; refuse versions in use."""
        async with self._sessions.begin() as session:
            stored = await _stored_versions(session, guild_id, roadmap_id)
            if not stored:
                raise NotFound(self._not_uploaded(roadmap_id))
            chosen = [v for v in stored if version is None or v.version == version]
            if not chosen:
                listed = ", ".join(str(v.version) for v in reversed(stored))
                raise NotFound(f"This server has no version {version} of '{roadmap_id}' (it has versions {listed}).")
            unused = tuple(v.version for v in chosen if not v.used_by)
            kept = tuple(v for v in chosen if v.used_by)
            if not unused:
                raise Conflict(f"Nothing was removed: {_in_use(roadmap_id, kept)}")
            await session.execute(
                delete(RoadmapVersion).where(
                    RoadmapVersion.guild_id == guild_id,
                    RoadmapVersion.roadmap_id == roadmap_id,
                    RoadmapVersion.version.in_(unused),
                )
            )
            try:
                await session.flush()
            except IntegrityError:
                # A cohort was created on one of them between the look and the delete.
                raise Conflict(f"A cohort started on '{roadmap_id}' a moment ago; nothing was removed.") from None
        # SQLite may give a deleted row's id to the next version stored: forget what the ids meant.
        self._parsed.clear()
        self._numbered.clear()
        return Removal(roadmap_id, tuple(sorted(unused)), kept)

    def _not_uploaded(self, roadmap_id: str) -> str:
        if self._registry.get(roadmap_id) is not None:
            return f"'{roadmap_id}' is a bundled roadmap; only roadmaps uploaded to this server can be removed."
        return f"This server has no uploaded roadmap '{roadmap_id}'. Pick one from the list."

    @staticmethod
    async def _room_for_one_more(session: AsyncSession, guild_id: int) -> None:
        stored = (
            await session.execute(
                select(func.count()).select_from(RoadmapVersion).where(RoadmapVersion.guild_id == guild_id)
            )
        ).scalar_one()
        if stored >= MAX_STORED_VERSIONS:
            raise Conflict(
                f"This server keeps {stored} roadmap versions; a server may keep at most {MAX_STORED_VERSIONS}. "
                "Remove versions no cohort uses with /cohort remove-roadmap, then upload again."
            )

    async def roadmap_of(self, session: AsyncSession, version_id: int) -> tuple[Roadmap, int]:
        """A stored version's roadmap and version number; its text is read from the database only the first time."""
        known = self._numbered.get(version_id)
        if known is None:
            version = await session.get_one(RoadmapVersion, version_id)
            known = self._numbered[version_id] = (self.parse(version), version.version)
        return known

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
        if guild_id != BUNDLED_GUILD:
            await self._room_for_one_more(session, guild_id)
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
    query = (
        select(RoadmapVersion)
        .where(RoadmapVersion.guild_id == guild_id, RoadmapVersion.roadmap_id == roadmap_id)
        .order_by(RoadmapVersion.version.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


def _latest_uploads(guild_id: int, roadmap_id: str | None = None) -> Select[tuple[RoadmapVersion]]:
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



async def _stored_versions(session: AsyncSession, guild_id: int, roadmap_id: str) -> list[StoredVersion]:
    rows = (
        await session.execute(
            select(RoadmapVersion.version, RoadmapVersion.title, Cohort.name)
            .outerjoin(Cohort, Cohort.roadmap_version_id == RoadmapVersion.id)
            .where(RoadmapVersion.guild_id == guild_id, RoadmapVersion.roadmap_id == roadmap_id)
            .order_by(RoadmapVersion.version.desc(), Cohort.name)
        )
    ).all()
    titles: dict[int, str] = {}
    users: defaultdict[int, list[str]] = defaultdict(list)
    for version, title, cohort_name in rows:
        titles[version] = title
        if cohort_name is not None:
            users[version].append(cohort_name)
    return [StoredVersion(v, title, tuple(users[v])) for v, title in titles.items()]


def _in_use(roadmap_id: str, kept: tuple[StoredVersion, ...]) -> str:
    uses = "; ".join(f"version {v.version} by {', '.join(v.used_by)}" for v in kept)
    return (
        f"'{roadmap_id}' is in use ({uses}). A cohort keeps its roadmap version for good, even after it ends, "
        "so those versions stay."
    )
