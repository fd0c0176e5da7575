"""A cohort's statistics for its organisers: the funnel by week, who went quiet, review turnaround, tiers.

Everything comes from five queries for the cohort whatever its history (members, first versions,
reviews, activity windows per member, awards); the rest is arithmetic here, in pure functions.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import (
    CheckIn,
    Cohort,
    Membership,
    MembershipStatus,
    Review,
    ReviewDecision,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    TierAward,
)
from bot.errors import InvalidInput
from bot.roadmap import Module, Roadmap
from bot.services.cohorts import CohortService

QUIET_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class WeekFunnel:
    """One checkpoint: of the learners active that week, how many handed it in, on time, approved, sent back."""

    week: int
    label: str
    title: str
    active: int
    submitted: int
    on_time: int
    """The first version came in by the deadline (the learner's own, after an extension)."""
    approved: int
    sent_back: int
    """Changes were requested on at least one version."""
    quiet: int
    """Active learners with no check-in or submission in the 7 days before the week's end (or now)."""
    reviews: int
    review_median: timedelta | None
    review_p90: timedelta | None


@dataclass(frozen=True)
class QuietLearner:
    user_id: int
    display_name: str
    last_active: datetime | None


@dataclass(frozen=True)
class CohortStats:
    cohort_name: str
    roadmap_title: str
    current_week: int
    total_weeks: int
    members: int
    """Active members now."""
    weeks: tuple[WeekFunnel, ...]
    quiet_now: tuple[QuietLearner, ...]
    reviews: int
    review_median: timedelta | None
    review_p90: timedelta | None
    tiers: tuple[tuple[str, int], ...]
    """Each tier of the roadmap with how many learners earned it."""
    now: datetime


@dataclass(frozen=True)
class _Member:
    id: int
    user_id: int
    display_name: str
    joined_at: datetime
    left_at: datetime | None
    active: bool


@dataclass(frozen=True)
class _Week:
    """An opened module and the moment its numbers are taken: its deadline, or now while it is still open."""

    module: Module
    opened: datetime
    end: datetime


@dataclass(frozen=True)
class _Activity:
    last: datetime
    """The member's latest check-in or hand-in."""
    recent: frozenset[int]
    """Indexes of the moments (each week's end, then now) with activity in the 7 days before them."""


class StatsService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, cohorts: CohortService) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cohorts = cohorts

    async def stats(self, guild_id: int, cohort_name: str) -> CohortStats:
        """/cohort stats: refused before the first week opens, when there is nothing to count."""
        async with self._sessions() as session:
            cohort = await self._cohorts.find(session, guild_id, cohort_name)
            view = await self._cohorts.view(session, cohort)
            if not view.current_week:
                opening = view.openings.get(1)
                when = f" on <t:{int(opening.timestamp())}:f>" if opening is not None else " once it is resumed"
                raise InvalidInput(
                    f"'{cohort.name}' has not opened its first week yet, so there is nothing to count. It opens"
                    f"{when}; ask again after that."
                )
            return await cohort_stats(session, cohort, view.roadmap, view.openings, view.now)

    async def for_digest(self, cohort: Cohort, roadmap: Roadmap, openings: dict[int, datetime]) -> CohortStats:
        async with self._sessions() as session:
            return await cohort_stats(session, cohort, roadmap, openings, self._clock.now())


async def cohort_stats(
    session: AsyncSession, cohort: Cohort, roadmap: Roadmap, openings: dict[int, datetime], now: datetime
) -> CohortStats:
    weeks = _weeks(roadmap, openings, now)
    members = [
        _Member(member_id, user_id, name, joined_at, left_at, status is MembershipStatus.ACTIVE)
        for member_id, user_id, name, joined_at, left_at, status in await session.execute(
            select(Membership.id, Membership.user_id, Membership.display_name, Membership.joined_at,
                   Membership.left_at, Membership.status)
            .where(Membership.cohort_id == cohort.id)
            .order_by(Membership.display_name, Membership.id)
        )
    ]
    first_versions = (
        await session.execute(
            select(Submission.membership_id, Submission.week, Submission.status, SubmissionVersion.late)
            .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
            .where(Submission.cohort_id == cohort.id, SubmissionVersion.version == 1)
        )
    ).all()
    reviewed = (
        await session.execute(
            select(Submission.membership_id, Submission.week,
                   _seconds(session, SubmissionVersion.submitted_at, Review.decided_at), Review.decision)
            .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
            .join(Review, Review.submission_version_id == SubmissionVersion.id)
            .where(Submission.cohort_id == cohort.id)
        )
    ).tuples().all()
    activity = await _activity(session, cohort.id, [w.end for w in weeks] + [now])
    earned = dict(
        (
            await session.execute(
                select(TierAward.tier_key, func.count())
                .join(Membership, Membership.id == TierAward.membership_id)
                .where(Membership.cohort_id == cohort.id)
                .group_by(TierAward.tier_key)
            )
        ).tuples().all()
    )
    hand_ins = {(m, week): (status is SubmissionStatus.APPROVED, late) for m, week, status, late in first_versions}
    return summarise(cohort.name, roadmap, weeks, now, members, hand_ins, reviewed, activity, earned)


def _seconds(
    session: AsyncSession, start: SQLColumnExpression[datetime], end: SQLColumnExpression[datetime]
) -> ColumnElement[Any]:
    """Seconds from `start` to `end`, worked out by the database: no datetime per row crosses into Python.

    The number's Python type depends on the dialect (PostgreSQL gives a Decimal), hence Any."""
    if session.bind.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _weeks(roadmap: Roadmap, openings: dict[int, datetime], now: datetime) -> list[_Week]:
    weeks = []
    for module in roadmap.modules:
        opened = openings.get(module.week)
        if opened is None or opened > now:
            break
        due = openings.get(module.last_week + 1)
        weeks.append(_Week(module, opened, min(due, now) if due is not None else now))
    return weeks


async def _activity(session: AsyncSession, cohort_id: int, moments: list[datetime]) -> dict[int, _Activity]:
    """Per member, the latest activity and which of `moments` had some in the 7 days before: one query that
    returns a row per member, however many check-ins and hand-ins the cohort has."""
    checkins = (
        select(CheckIn.membership_id.label("membership_id"), CheckIn.created_at.label("at"))
        .join(Membership, Membership.id == CheckIn.membership_id)
        .where(Membership.cohort_id == cohort_id)
    )
    handed_in = (
        select(Submission.membership_id.label("membership_id"), SubmissionVersion.submitted_at.label("at"))
        .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
        .where(Submission.cohort_id == cohort_id)
    )
    acts = union_all(checkins, handed_in).subquery()
    windows = [
        func.max(case((and_(acts.c.at >= moment - QUIET_AFTER, acts.c.at <= moment), 1), else_=0))
        for moment in moments
    ]
    rows = await session.execute(
        select(acts.c.membership_id, func.max(acts.c.at), *windows).group_by(acts.c.membership_id)
    )
    return {
        row[0]: _Activity(row[1], frozenset(k for k, flag in enumerate(row[2:]) if flag)) for row in rows
    }


def summarise(
    cohort_name: str,
    roadmap: Roadmap,
    weeks: Sequence[_Week],
    now: datetime,
    members: Sequence[_Member],
    hand_ins: dict[tuple[int, int], tuple[bool, bool]],
    reviewed: Sequence[tuple[int, int, float, ReviewDecision]],
    activity: dict[int, _Activity],
    earned: dict[str, int],
) -> CohortStats:
    """The numbers from the rows: `hand_ins` maps (membership, week) to (approved, first version late)."""
    sent_back = {(m, w) for m, w, _, decision in reviewed if decision is ReviewDecision.CHANGES_REQUESTED}
    turnaround: dict[int, list[timedelta]] = defaultdict(list)
    for _, number, seconds, _ in reviewed:
        turnaround[number].append(timedelta(seconds=round(float(seconds))))
    funnel = []
    for index, week in enumerate(weeks):
        number = week.module.week
        active = [m for m in members if m.joined_at <= week.end and (m.left_at is None or m.left_at > week.opened)]
        handed = [(m.id, hand_ins[(m.id, number)]) for m in active if (m.id, number) in hand_ins]
        times = turnaround.get(number, [])
        funnel.append(
            WeekFunnel(
                week=number,
                label=week.module.label,
                title=week.module.title,
                active=len(active),
                submitted=len(handed),
                on_time=sum(1 for _, (_, late) in handed if not late),
                approved=sum(1 for _, (approved, _) in handed if approved),
                sent_back=sum(1 for m, _ in handed if (m, number) in sent_back),
                quiet=sum(1 for m in active if _quiet(m, activity.get(m.id), index, week.end)),
                reviews=len(times),
                review_median=median(times),
                review_p90=percentile(times, 0.9),
            )
        )
    current = [m for m in members if m.active]
    quiet_now = tuple(
        QuietLearner(m.user_id, m.display_name, activity[m.id].last if m.id in activity else None)
        for m in current
        if _quiet(m, activity.get(m.id), len(weeks), now)
    )
    every = [t for times in turnaround.values() for t in times]
    return CohortStats(
        cohort_name=cohort_name,
        roadmap_title=roadmap.title,
        current_week=weeks[-1].module.week if weeks else 0,
        total_weeks=roadmap.total_weeks,
        members=len(current),
        weeks=tuple(funnel),
        quiet_now=quiet_now,
        reviews=len(every),
        review_median=median(every),
        review_p90=percentile(every, 0.9),
        tiers=tuple((tier.name, earned.get(tier.key, 0)) for tier in roadmap.tiers),
        now=now,
    )


def _quiet(member: _Member, activity: _Activity | None, index: int, at: datetime) -> bool:
    """No check-in or submission in the 7 days up to moment `index` (`at`), having been a member that long."""
    if member.joined_at > at - QUIET_AFTER:
        return False
    return activity is None or index not in activity.recent


def median(values: Sequence[timedelta]) -> timedelta | None:
    # typeshed admits only numbers to median(); a timedelta has the + and / it needs.
    return statistics.median(sorted(values)) if values else None  # type: ignore[type-var]


def percentile(values: Sequence[timedelta], share: float) -> timedelta | None:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]
