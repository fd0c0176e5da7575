"""What learners did, read for many memberships at once: check-in days, hand-in moments, the cohorts' pauses.

Each query is one statement whatever the history holds; results are plain values (no ORM objects), so a
streak for a thousand members costs rows, not objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import BindParameter, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.columns import CHECK_IN, PAUSE, SETTINGS, SUBMISSION, VERSION
from bot.db.models import Submission, SubmissionVersion
from bot.services.streaks import Streak, daily_streak, local_day, paused_spans

Pauses = list[tuple[datetime, datetime | None]]
"""A cohort's pauses as (paused_at, resumed_at) moments; resumed_at is None while it is still paused."""


# Built once, of the tables' columns (bot/db/columns.py); `ids` expands to the memberships (or cohorts) asked about.
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_CHECK_IN_DAYS = select(CHECK_IN.membership_id, CHECK_IN.local_date).where(
    CHECK_IN.membership_id.in_(_IDS)
).distinct()
_SUBMITTED = (
    select(SUBMISSION.membership_id, VERSION.submitted_at)
    .join_from(Submission.__table__, SubmissionVersion.__table__, VERSION.submission_id == SUBMISSION.id)
    .where(SUBMISSION.membership_id.in_(_IDS))
)
_PAUSES = select(PAUSE.cohort_id, PAUSE.paused_at, PAUSE.resumed_at).where(PAUSE.cohort_id.in_(_IDS))

async def check_in_days_of(session: AsyncSession, membership_ids: Sequence[int]) -> dict[int, set[date]]:
    days: dict[int, set[date]] = {m: set() for m in membership_ids}
    for membership_id, day in await session.execute(_CHECK_IN_DAYS, {"ids": list(membership_ids)}):
        days[membership_id].add(day)
    return days


async def submission_moments(session: AsyncSession, membership_ids: Sequence[int]) -> dict[int, list[datetime]]:
    """Every version every one of these memberships handed in: each is activity on its day."""
    moments: dict[int, list[datetime]] = {m: [] for m in membership_ids}
    for membership_id, at in await session.execute(_SUBMITTED, {"ids": list(membership_ids)}):
        moments[membership_id].append(at)
    return moments


async def cohort_pauses(session: AsyncSession, cohort_ids: Iterable[int]) -> dict[int, Pauses]:
    pauses: dict[int, Pauses] = {c: [] for c in cohort_ids}
    for cohort_id, start, end in await session.execute(_PAUSES, {"ids": list(pauses)}):
        pauses[cohort_id].append((start, end))
    return pauses


_OWN_ZONE = select(SETTINGS.timezone).where(
    SETTINGS.guild_id == bindparam("guild"), SETTINGS.user_id == bindparam("user")
)
"""Built once: nearly every command asks it, and building a statement costs more than this one runs."""


async def own_zone(session: AsyncSession, guild_id: int, user_id: int) -> str | None:
    """The zone the learner set on this server, if any."""
    return await session.scalar(_OWN_ZONE, {"guild": guild_id, "user": user_id})


async def zone_of(session: AsyncSession, guild_id: int, user_id: int, cohort_zone: str) -> str:
    """The zone a learner's days are counted in now: their own, else the cohort's."""
    return await own_zone(session, guild_id, user_id) or cohort_zone


def active_days(check_in_days: Iterable[date], submitted: Iterable[datetime], zone: str) -> set[date]:
    """Check-ins keep the day they were logged on; submissions are placed with the learner's zone now."""
    return set(check_in_days) | {local_day(at, zone) for at in submitted}


def member_daily_streak(
    check_in_days: Iterable[date],
    submitted: Iterable[datetime],
    pauses: Iterable[tuple[datetime, datetime | None]],
    zone: str,
    now: datetime,
) -> Streak:
    """One learner's daily streak from their check-in days, hand-in moments and the cohort's pauses."""
    return daily_streak(active_days(check_in_days, submitted, zone), paused_spans(pauses, zone), local_day(now, zone))
