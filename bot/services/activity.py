"""What learners did, read for many memberships at once: check-in days, hand-in moments, the cohorts' pauses.

Each query is one statement whatever the history holds; results are plain values (no ORM objects), so a
streak for a thousand members costs rows, not objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import BindParameter, bindparam, cast, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.columns import CHECK_IN, PAUSE, SETTINGS, SUBMISSION, VERSION
from bot.db.models import Submission, SubmissionVersion
from bot.db.types import UTCDateTime
from bot.services.streaks import Streak, daily_streak, local_day, paused_spans

Pauses = list[tuple[datetime, datetime | None]]
"""A cohort's pauses as (paused_at, resumed_at) moments; resumed_at is None while it is still paused."""


# Built once, of the tables' columns (bot/db/columns.py); `ids` expands to the memberships (or cohorts) asked about.
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_CHECKED_IN, _HANDED_IN = "checked in", "handed in"
# Check-in days and hand-in moments together (two round trips to PostgreSQL otherwise): rows are (kind, membership,
# day, moment); the first branch types both columns for every row (its empty moment cast: DISTINCT makes PostgreSQL
# settle an untyped NULL as text before the union).
_ACTIVITY = union_all(
    select(literal(_CHECKED_IN), CHECK_IN.membership_id, CHECK_IN.local_date, cast(null(), UTCDateTime()))
    .where(CHECK_IN.membership_id.in_(_IDS))
    .distinct(),
    select(literal(_HANDED_IN), SUBMISSION.membership_id, null(), VERSION.submitted_at)
    .join_from(Submission.__table__, SubmissionVersion.__table__, VERSION.submission_id == SUBMISSION.id)
    .where(SUBMISSION.membership_id.in_(_IDS)),
)
_PAUSES = select(PAUSE.cohort_id, PAUSE.paused_at, PAUSE.resumed_at).where(PAUSE.cohort_id.in_(_IDS))


@dataclass(frozen=True)
class Activity:
    """What some memberships did, by membership: the days they checked in, and every version they handed in (each
    is activity on its day)."""

    days: dict[int, set[date]]
    moments: dict[int, list[datetime]]


async def activity_of(session: AsyncSession, membership_ids: Sequence[int]) -> Activity:
    found = Activity({m: set() for m in membership_ids}, {m: [] for m in membership_ids})
    for kind, membership_id, day, at in await session.execute(_ACTIVITY, {"ids": list(membership_ids)}):
        if kind == _CHECKED_IN:
            found.days[membership_id].add(day)
        else:
            found.moments[membership_id].append(at)
    return found


async def cohort_pauses(session: AsyncSession, cohort_ids: Iterable[int]) -> dict[int, Pauses]:
    pauses: dict[int, Pauses] = {c: [] for c in cohort_ids}
    for cohort_id, start, end in await session.execute(_PAUSES, {"ids": list(pauses)}):
        pauses[cohort_id].append((start, end))
    return pauses


OWN_ZONE = select(SETTINGS.timezone).where(
    SETTINGS.guild_id == bindparam("guild"), SETTINGS.user_id == bindparam("user")
)
"""Built once: nearly every command asks it, and building a statement costs more than this one runs."""


async def own_zone(session: AsyncSession, guild_id: int, user_id: int) -> str | None:
    """The zone the learner set on this server, if any."""
    return await session.scalar(OWN_ZONE, {"guild": guild_id, "user": user_id})


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
