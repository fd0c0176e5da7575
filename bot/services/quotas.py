"""Quotas: how often one server or one person may repeat something, counted from the injected clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.db.changes import rows_changed
from bot.db.models import QuotaUse
from bot.errors import QuotaExceeded


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


async def take(session: AsyncSession, quota: Quota, now: datetime, guild_id: int, user_id: int | None = None) -> None:
    """Record one use of a quota kept in `quota_uses`, or refuse; `user_id` None counts for the whole server."""
    key = _key(quota, guild_id, user_id)
    # Uses outside the window count for nobody: drop them for every server and person at once.
    await session.execute(delete(QuotaUse).where(QuotaUse.action == quota.action, QuotaUse.at <= now - quota.window))
    earlier = (await session.scalars(select(QuotaUse.at).where(key).order_by(QuotaUse.at))).all()
    refuse_if_spent(quota, earlier)
    session.add(QuotaUse(action=quota.action, guild_id=guild_id, user_id=user_id, at=now))


async def uses_of(session: AsyncSession, guild_id: int, user_id: int) -> list[QuotaUse]:
    """A person's quota uses in one server (their data export lists them)."""
    query = select(QuotaUse).where(QuotaUse.guild_id == guild_id, QuotaUse.user_id == user_id).order_by(QuotaUse.at)
    return list((await session.scalars(query)).all())


async def forget_user(session: AsyncSession, guild_id: int, user_id: int) -> int:
    """Delete a person's quota uses in one server (erasure); returns how many there were."""
    return await rows_changed(
        session, delete(QuotaUse).where(QuotaUse.guild_id == guild_id, QuotaUse.user_id == user_id)
    )


def _key(quota: Quota, guild_id: int, user_id: int | None) -> ColumnElement[bool]:
    who = QuotaUse.user_id.is_(None) if user_id is None else QuotaUse.user_id == user_id
    return (QuotaUse.action == quota.action) & (QuotaUse.guild_id == guild_id) & who
