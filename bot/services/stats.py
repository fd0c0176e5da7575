"""A cohort's statistics for its organisers: the funnel by week, who went quiet, review turnaround, tiers.

Everything comes from five queries for the cohort whatever its history (members, hand-ins, first
reviews, activity moments, awards); the rest is arithmetic here, in pure functions.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
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
from bot.roadmap import Roadmap
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
class _HandIn:
    membership_id: int
    week: int
    approved: bool
    first_at: datetime
    first_late: bool


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
    members = [
        _Member(r.id, r.user_id, r.display_name, r.joined_at, r.left_at, r.status is MembershipStatus.ACTIVE)
        for r in await session.execute(
            select(Membership.id, Membership.user_id, Membership.display_name, Membership.joined_at,
                   Membership.left_at, Membership.status)
            .where(Membership.cohort_id == cohort.id)
            .order_by(Membership.display_name, Membership.id)
        )
    ]
    first_versions = (
        await session.execute(
            select(Submission.membership_id, Submission.week, Submission.status, SubmissionVersion.submitted_at,
                   SubmissionVersion.late)
            .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
            .where(Submission.cohort_id == cohort.id, SubmissionVersion.version == 1)
        )
    ).all()
    reviewed = (
        await session.execute(
            select(Submission.membership_id, Submission.week, SubmissionVersion.submitted_at, Review.decided_at,
                   Review.decision)
            .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
            .join(Review, Review.submission_version_id == SubmissionVersion.id)
            .where(Submission.cohort_id == cohort.id)
        )
    ).all()
    activity = await _activity(session, cohort.id)
    earned = dict(
        (
            await session.execute(
                select(TierAward.tier_key, func.count())
                .join(Membership, Membership.id == TierAward.membership_id)
                .where(Membership.cohort_id == cohort.id)
                .group_by(TierAward.tier_key)
            )
        ).all()
    )
    hand_ins = [
        _HandIn(r.membership_id, r.week, r.status is SubmissionStatus.APPROVED, r.submitted_at, r.late)
        for r in first_versions
    ]
    return summarise(cohort.name, roadmap, openings, now, members, hand_ins, reviewed, activity, earned)


async def _activity(session: AsyncSession, cohort_id: int) -> dict[int, list[datetime]]:
    """Every check-in and hand-in moment of the cohort's members, sorted per member, in one query."""
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
    moments: dict[int, list[datetime]] = defaultdict(list)
    for membership_id, at in await session.execute(checkins.union_all(handed_in)):
        moments[membership_id].append(at)
    for times in moments.values():
        times.sort()
    return moments


def summarise(
    cohort_name: str,
    roadmap: Roadmap,
    openings: dict[int, datetime],
    now: datetime,
    members: Sequence[_Member],
    hand_ins: Sequence[_HandIn],
    reviewed: Sequence[tuple[int, int, datetime, datetime, ReviewDecision]],
    activity: dict[int, list[datetime]],
    earned: dict[str, int],
) -> CohortStats:
    by_member_week = {(h.membership_id, h.week): h for h in hand_ins}
    sent_back = {(m, w) for m, w, _, _, decision in reviewed if decision is ReviewDecision.CHANGES_REQUESTED}
    turnaround: dict[int, list[timedelta]] = defaultdict(list)
    for _, week, submitted_at, decided_at, _ in reviewed:
        turnaround[week].append(decided_at - submitted_at)
    weeks = []
    for module in roadmap.modules:
        opened = openings.get(module.week)
        if opened is None or opened > now:
            break
        due = openings.get(module.last_week + 1)
        end = min(due, now) if due is not None else now
        active = [m for m in members if m.joined_at <= end and (m.left_at is None or m.left_at > opened)]
        handed = [by_member_week[(m.id, module.week)] for m in active if (m.id, module.week) in by_member_week]
        times = turnaround.get(module.week, [])
        weeks.append(
            WeekFunnel(
                week=module.week,
                label=module.label,
                title=module.title,
                active=len(active),
                submitted=len(handed),
                on_time=sum(1 for h in handed if not h.first_late),
                approved=sum(1 for h in handed if h.approved),
                sent_back=sum(1 for h in handed if (h.membership_id, module.week) in sent_back),
                quiet=sum(1 for m in active if _quiet(m, activity.get(m.id, []), end)),
                reviews=len(times),
                review_median=median(times),
                review_p90=percentile(times, 0.9),
            )
        )
    current = [m for m in members if m.active]
    quiet_now = tuple(
        QuietLearner(m.user_id, m.display_name, activity[m.id][-1] if activity.get(m.id) else None)
        for m in current
        if _quiet(m, activity.get(m.id, []), now)
    )
    every = [t for times in turnaround.values() for t in times]
    return CohortStats(
        cohort_name=cohort_name,
        roadmap_title=roadmap.title,
        current_week=weeks[-1].week if weeks else 0,
        total_weeks=roadmap.total_weeks,
        members=len(current),
        weeks=tuple(weeks),
        quiet_now=quiet_now,
        reviews=len(every),
        review_median=median(every),
        review_p90=percentile(every, 0.9),
        tiers=tuple((tier.name, earned.get(tier.key, 0)) for tier in roadmap.tiers),
        now=now,
    )


def _quiet(member: _Member, moments: list[datetime], at: datetime) -> bool:
    """No check-in or submission in the 7 days up to `at`, having been a member for at least that long."""
    since = at - QUIET_AFTER
    if member.joined_at > since:
        return False
    first_after = bisect.bisect_left(moments, since)
    return first_after >= len(moments) or moments[first_after] > at


def median(values: Sequence[timedelta]) -> timedelta | None:
    return statistics.median(sorted(values)) if values else None


def percentile(values: Sequence[timedelta], share: float) -> timedelta | None:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]
