"""Quotas: how often one server or one person may repeat something, counted from the injected clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.clock import Clock
from bot.db.changes import rows_changed
from bot.db.models import QuotaUse
from bot.errors import QuotaExceeded
from bot.shards import Ownership


@dataclass(frozen=True)
class Quota:
    """At most `limit` uses in any `window`; `refusal` is the sentence before "Try again …"."""

    action: str
    limit: int
    window: timedelta
    refusal: str


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

ROADMAP_UPLOADS = Quota(
    "roadmap-upload", 10, HOUR, "This server has uploaded 10 roadmap files in the last hour, the most it may"
)
ROSTER_DOWNLOADS = Quota(
    "roster-download", 10, HOUR, "This server has downloaded 10 rosters in the last hour, the most it may"
)
COHORTS_CREATED = Quota(
    "cohort-create", 10, DAY, "This server has created 10 cohorts in the last 24 hours, the most it may"
)
PAUSES = Quota("cohort-pause", 10, DAY, "This cohort has been paused 10 times in the last 24 hours, the most it may")
DATA_EXPORTS = Quota("data-export", 3, HOUR, "You have exported your data 3 times in the last hour, the most you may")
JOINS = Quota("join", 5, DAY, "You have joined cohorts on this server 5 times in the last 24 hours, the most you may")
VERSIONS_PER_CHECKPOINT = Quota(
    "submission", 5, DAY, "You have sent 5 versions of this checkpoint in the last 24 hours, the most you may"
)
PEER_REVIEWS = Quota(
    "peer-review", 20, DAY, "You have sent 20 peer reviews or edits in the last 24 hours, the most you may"
)
CHECK_INS = Quota("check-in", 20, DAY, "You have checked in 20 times in the last 24 hours, the most you may")


def refuse_if_spent(quota: Quota, earlier: Sequence[datetime]) -> None:
    """Refuse when `earlier` (the uses inside the window, oldest first) already fills the quota."""
    if len(earlier) >= quota.limit:
        # The use that must age out before one more fits.
        raise QuotaExceeded(quota.refusal, earlier[len(earlier) - quota.limit] + quota.window)


async def refuse_if_spent_in(
    session: AsyncSession, quota: Quota, now: datetime, moment: InstrumentedAttribute[datetime], *where: Any
) -> None:
    """`refuse_if_spent` for uses that are rows of their own table: `moment` is when each happened."""
    earlier = (
        await session.scalars(select(moment).where(*where, moment > now - quota.window).order_by(moment))
    ).all()
    refuse_if_spent(quota, earlier)


KEPT_AS_USES = (ROADMAP_UPLOADS, ROSTER_DOWNLOADS, COHORTS_CREATED, DATA_EXPORTS, JOINS, PEER_REVIEWS)
"""The quotas counted from rows of `quota_uses` (`take`): the sweep deletes each one's uses outside its window."""

# Built once, of the table's columns: plain Core statements. Built per use, with the ORM's DELETE and a flush, a use
# and its commit took 1.9 ms on SQLite and 3.9 on PostgreSQL; so, 0.7 and 1.4.
_QUOTA_USES = cast(Table, QuotaUse.__table__)
_USE = _QUOTA_USES.c
_IN_WINDOW = and_(_USE.action == bindparam("action"), _USE.guild_id == bindparam("guild"), _USE.at > bindparam("since"))
_PERSONS_USES = select(_USE.at).where(_IN_WINDOW, _USE.user_id == bindparam("user")).order_by(_USE.at)
_SERVERS_USES = select(_USE.at).where(_IN_WINDOW, _USE.user_id.is_(None)).order_by(_USE.at)
_ADD_USE = insert(_QUOTA_USES)


async def take(session: AsyncSession, quota: Quota, now: datetime, guild_id: int, user_id: int | None = None) -> None:
    """Record one use of a quota kept in `quota_uses`, or refuse; `user_id` None counts for the whole server.

    Only uses inside the window count; those outside it are the sweep's to delete. Deleting them here, for every
    server at once, did strangers' work in each use, and on PostgreSQL could make it wait for the row locks of
    another use deleting the same rows."""
    assert quota in KEPT_AS_USES, f"{quota.action} is not swept"
    statement = _SERVERS_USES if user_id is None else _PERSONS_USES
    key = {"action": quota.action, "guild": guild_id, "user": user_id, "since": now - quota.window}
    refuse_if_spent(quota, (await session.scalars(statement, key)).all())
    await session.execute(_ADD_USE, {"action": quota.action, "guild_id": guild_id, "user_id": user_id, "at": now})


class QuotaSweep:
    """Deletes the uses that have left their quota's window, for the servers this process owns, off every
    interaction's path (the schedule's sweep, every minute)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, *, ownership: Ownership) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ownership = ownership

    async def sweep(self) -> int:
        now = self._clock.now()
        expired = or_(*(and_(QuotaUse.action == q.action, QuotaUse.at <= now - q.window) for q in KEPT_AS_USES))
        async with self._sessions.begin() as session:
            return await rows_changed(session, delete(QuotaUse).where(expired, self._ownership.where(QuotaUse.guild_id))
                                      .execution_options(synchronize_session=False))


async def uses_of(session: AsyncSession, guild_id: int, user_id: int) -> list[QuotaUse]:
    """A person's quota uses in one server (their data export lists them)."""
    query = select(QuotaUse).where(QuotaUse.guild_id == guild_id, QuotaUse.user_id == user_id).order_by(QuotaUse.at)
    return list((await session.scalars(query)).all())


async def forget_user(session: AsyncSession, guild_id: int, user_id: int) -> int:
    """Delete a person's quota uses in one server (erasure); returns how many there were."""
    return await rows_changed(
        session, delete(QuotaUse).where(QuotaUse.guild_id == guild_id, QuotaUse.user_id == user_id)
    )
