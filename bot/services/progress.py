"""Check-ins, a learner's progress in a cohort, and the cohort leaderboard.

Every read here costs a fixed number of queries whatever the history holds: a learner's check-ins,
submissions and awards are each fetched in one query, never one per week or per member.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import (
    AwardStatus,
    CheckIn,
    Cohort,
    CohortStatus,
    Extension,
    LearnerSettings,
    Membership,
    MembershipStatus,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    TierAward,
)
from bot.errors import InvalidInput, NotFound
from bot.roadmap import Module, Roadmap, Tier
from bot.services.cohorts import CohortService, CohortView
from bot.services.enrolment import EnrolmentService
from bot.services.learners import as_prefs
from bot.services.quotas import CHECK_INS, refuse_if_spent_in
from bot.services.streak_book import (
    Member,
    active_days,
    check_in_days_of,
    cohort_pauses,
    refresh,
    submission_moments,
)
from bot.services.streak_book import standings as kept_streaks
from bot.services.streaks import (
    CheckpointRecord,
    PausedSpan,
    Streak,
    daily_streak,
    local_day,
    paused_spans,
    weekly_streak,
)

MIN_MINUTES = 1
MAX_MINUTES = 1440
MAX_NOTE = 500
LEADERBOARD_SIZE = 10


class WeekState(enum.StrEnum):
    APPROVED = "approved"
    PENDING = "pending review"
    CHANGES_REQUESTED = "changes requested"
    MISSING = "missing"
    OPEN = "open"
    """Open, nothing handed in yet, and its deadline has not passed."""
    UPCOMING = "not open yet"


class RankBy(enum.StrEnum):
    STREAK = "streak"
    APPROVED = "approved"


@dataclass(frozen=True)
class CheckInResult:
    cohort_name: str
    day: date
    zone: str
    minutes: int | None
    first_today: bool
    daily: Streak
    paused: bool


@dataclass(frozen=True)
class CheckpointProgress:
    module: Module
    state: WeekState
    late: bool
    due: datetime | None


@dataclass(frozen=True)
class TierProgress:
    tier: Tier
    required: tuple[Module, ...]
    still_needed: tuple[Module, ...]
    award: AwardStatus | None
    """None: not earned yet; pending: earned, the role is still to be given; granted: role given."""
    award_problem: str | None = None


@dataclass(frozen=True)
class Progress:
    view: CohortView
    user_id: int
    display_name: str
    zone: str
    today: date
    checkpoints: tuple[CheckpointProgress, ...]
    daily: Streak
    weekly: Streak
    checked_in_today: bool
    check_in_days: int
    minutes_logged: int
    tiers: tuple[TierProgress, ...]
    next_deadline: tuple[Module, datetime] | None
    start: date
    """The learner's local date of the cohort's first day."""
    study: dict[date, int]
    """Minutes logged per local day with any study (0: a check-in without minutes, or only a submission)."""
    paused_days: frozenset[date]

    @property
    def tiers_earned(self) -> list[TierProgress]:
        return [t for t in self.tiers if t.award is not None]

    @property
    def next_tier(self) -> TierProgress | None:
        return next((t for t in self.tiers if t.award is None), None)

    def count(self, state: WeekState) -> int:
        return sum(1 for c in self.checkpoints if c.state is state)


@dataclass(frozen=True)
class Standing:
    rank: int
    user_id: int
    display_name: str
    value: int
    """The current daily streak, or the number of approved checkpoints."""
    detail: int
    """The tie-breaker: the best daily streak (by streak); 0 by approved checkpoints."""


@dataclass(frozen=True)
class Leaderboard:
    view: CohortView
    by: RankBy
    top: tuple[Standing, ...]
    mine: Standing | None
    """The caller's own standing when they are a member (also when it is in the top list)."""
    members: int


class ProgressService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        cohorts: CohortService,
        enrolment: EnrolmentService,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cohorts = cohorts
        self._enrolment = enrolment

    # /checkin

    async def check_in(self, guild_id: int, user_id: int, minutes: int | None, note: str | None) -> list[CheckInResult]:
        """Log study for the learner's local day in every cohort they are in (their zone, else the cohort's)."""
        if minutes is not None and not MIN_MINUTES <= minutes <= MAX_MINUTES:
            raise InvalidInput(
                f"Minutes must be between {MIN_MINUTES} and {MAX_MINUTES:,} (a whole day); you sent {minutes:,}."
            )
        note = (note or "").strip() or None
        if note is not None and len(note) > MAX_NOTE:
            raise InvalidInput(f"A note can be at most {MAX_NOTE} characters (yours is {len(note):,}). Shorten it.")
        now = self._clock.now()
        async with self._sessions.begin() as session:
            locked = await session.execute(
                select(Membership, Cohort)
                .join(Cohort, Cohort.id == Membership.cohort_id)
                .where(
                    Membership.guild_id == guild_id,
                    Membership.user_id == user_id,
                    Membership.status == MembershipStatus.ACTIVE,
                )
                # Locked, in id order like every lock on several memberships (so two never deadlock):
                # an erasure or a /leave of the same learner comes wholly before or after.
                .order_by(Membership.id)
                .with_for_update(of=Membership)
            )
            rows = sorted(locked.all(), key=lambda row: row[1].created_at)
            if not rows:
                raise NotFound("You are not in any cohort on this server. /join one first, then check in.")
            prefs = as_prefs(await _settings(session, guild_id, user_id))
            ids = [m.id for m, _ in rows]
            # One /checkin writes a row for each membership: the first one's rows count the calls.
            await refuse_if_spent_in(session, CHECK_INS, now, CheckIn.created_at, CheckIn.membership_id == ids[0])
            days_before = await check_in_days_of(session, ids)
            for membership, cohort in rows:
                day = local_day(now, prefs.zone_or(cohort.timezone))
                session.add(
                    CheckIn(membership_id=membership.id, local_date=day, minutes=minutes, note=note, created_at=now)
                )
            await session.flush()
            streaks = await refresh(
                session, [Member(m.id, c.id, prefs.zone_or(c.timezone)) for m, c in rows], now
            )
        results = []
        for membership, cohort in rows:
            zone = prefs.zone_or(cohort.timezone)
            day = local_day(now, zone)
            daily = streaks[membership.id]
            results.append(
                CheckInResult(
                    cohort.name,
                    day,
                    zone,
                    minutes,
                    day not in days_before[membership.id],
                    daily,
                    cohort.status is CohortStatus.PAUSED,
                )
            )
        return results

    # /progress

    async def progress(self, guild_id: int, user_id: int, cohort_name: str | None, *, asker_id: int) -> Progress:
        """Where a member stands in a cohort: each checkpoint, both streaks, tiers and the next deadline."""
        now = self._clock.now()
        async with self._sessions() as session:
            membership, cohort = await self._enrolment.membership(
                session, guild_id, cohort_name, user_id, asker_id=asker_id
            )
            view = await self._cohorts.view(session, cohort)
            prefs = as_prefs(await _settings(session, guild_id, user_id))
            zone = prefs.zone_or(cohort.timezone)
            standing = (
                await session.execute(
                    select(Submission.week, Submission.status, SubmissionVersion.submitted_at)
                    .join(
                        SubmissionVersion,
                        (SubmissionVersion.submission_id == Submission.id)
                        & (SubmissionVersion.version == Submission.current_version),
                    )
                    .where(Submission.membership_id == membership.id)
                )
            ).all()
            logged = (
                await session.execute(
                    select(CheckIn.local_date, func.coalesce(func.sum(CheckIn.minutes), 0))
                    .where(CheckIn.membership_id == membership.id)
                    .group_by(CheckIn.local_date)
                )
            ).all()
            submitted = await submission_moments(session, [membership.id])
            extensions = dict(
                (
                    await session.execute(
                        select(Extension.week, Extension.days).where(Extension.membership_id == membership.id)
                    )
                ).tuples().all()
            )
            awards = {
                a.tier_key: a
                for a in await session.scalars(select(TierAward).where(TierAward.membership_id == membership.id))
            }
            pauses = await cohort_pauses(session, [cohort.id])
        today = local_day(now, zone)
        days = {d for d, _ in logged}
        study = {day: 0 for day in active_days((), submitted[membership.id], zone)}
        study.update((d, int(m)) for d, m in logged)
        first = view.openings.get(1)
        by_week = {week: (status, at) for week, status, at in standing}
        checkpoints = checkpoint_states(view, by_week, extensions, now)
        approved = {c.module.week for c in checkpoints if c.state is WeekState.APPROVED}
        return Progress(
            view=view,
            user_id=user_id,
            display_name=membership.display_name,
            zone=zone,
            today=today,
            checkpoints=tuple(checkpoints),
            daily=member_daily_streak(days, submitted[membership.id], pauses[cohort.id], zone, now),
            weekly=member_weekly_streak(checkpoints, by_week, now),
            checked_in_today=today in days,
            check_in_days=len(days),
            minutes_logged=sum(int(m) for _, m in logged),
            tiers=tuple(_tier_progress(view.roadmap, approved, awards)),
            next_deadline=_next_deadline(checkpoints, now),
            start=local_day(first, zone) if first is not None else cohort.start_date,
            study=study,
            paused_days=paused_dates(paused_spans(pauses[cohort.id], zone), today),
        )

    # /leaderboard

    async def leaderboard(self, view: CohortView, user_id: int, by: RankBy) -> Leaderboard:
        """Top learners of a cohort by current daily streak or by approved checkpoints, and the caller's rank."""
        now = self._clock.now()
        async with self._sessions() as session:
            members = (
                await session.execute(
                    select(Membership.id, Membership.user_id, Membership.display_name, LearnerSettings.timezone)
                    .outerjoin(
                        LearnerSettings,
                        (LearnerSettings.guild_id == Membership.guild_id)
                        & (LearnerSettings.user_id == Membership.user_id),
                    )
                    .where(Membership.cohort_id == view.id, Membership.status == MembershipStatus.ACTIVE)
                )
            ).all()
            if by is RankBy.APPROVED:
                counts = dict(
                    (
                        await session.execute(
                            select(Submission.membership_id, func.count())
                            .where(Submission.cohort_id == view.id, Submission.status == SubmissionStatus.APPROVED)
                            .group_by(Submission.membership_id)
                        )
                    ).tuples().all()
                )
                scores = {m.id: (counts.get(m.id, 0), 0) for m in members}
            else:
                pauses = (await cohort_pauses(session, [view.id]))[view.id]
                zoned = [Member(m.id, view.id, m.timezone or view.cohort.timezone) for m in members]
                streaks = await kept_streaks(session, view.id, zoned, pauses, now)
                scores = {m.id: (streaks[m.id].current, streaks[m.id].best) for m in members}
        ranked = sorted(members, key=lambda m: (-scores[m.id][0], -scores[m.id][1], m.display_name.casefold()))
        # Equal scores share the rank of the first of them; only the top and the caller become Standings.
        top: list[Standing] = []
        mine = None
        rank, previous = 0, None
        for position, m in enumerate(ranked, start=1):
            value, detail = scores[m.id]
            if (value, detail) != previous:
                rank, previous = position, (value, detail)
            if (position <= LEADERBOARD_SIZE and value > 0) or m.user_id == user_id:
                standing = Standing(rank, m.user_id, m.display_name, value, detail)
                if position <= LEADERBOARD_SIZE and value > 0:
                    top.append(standing)
                if m.user_id == user_id:
                    mine = standing
        return Leaderboard(view, by, tuple(top), mine, len(members))


# Queries shared by the reads above; each is one statement whatever the history holds.


async def _settings(session: AsyncSession, guild_id: int, user_id: int) -> LearnerSettings | None:
    query = select(LearnerSettings).where(LearnerSettings.guild_id == guild_id, LearnerSettings.user_id == user_id)
    return (await session.scalars(query)).first()


# Pure helpers.


def paused_dates(spans: Iterable[PausedSpan], today: date) -> frozenset[date]:
    """Every local date a pause touched, up to today for a pause still on."""
    dates: set[date] = set()
    for span in spans:
        last = min(span.last or today, today)
        dates.update(span.first + timedelta(days=k) for k in range((last - span.first).days + 1))
    return frozenset(dates)


def _due(view: CohortView, module: Module, extensions: dict[int, int]) -> datetime | None:
    return view.deadline(module, extensions.get(module.week, 0))


def checkpoint_states(
    view: CohortView,
    by_week: dict[int, tuple[SubmissionStatus, datetime]],
    extensions: dict[int, int],
    now: datetime,
) -> list[CheckpointProgress]:
    result = []
    for module in view.roadmap.modules:
        due = _due(view, module, extensions)
        entry = by_week.get(module.week)
        if entry is not None:
            status, at = entry
            state = {
                SubmissionStatus.APPROVED: WeekState.APPROVED,
                SubmissionStatus.PENDING: WeekState.PENDING,
                SubmissionStatus.CHANGES_REQUESTED: WeekState.CHANGES_REQUESTED,
            }[status]
            result.append(CheckpointProgress(module, state, due is not None and at > due, due))
        elif not view.is_open(module):
            result.append(CheckpointProgress(module, WeekState.UPCOMING, False, due))
        elif due is not None and now > due:
            result.append(CheckpointProgress(module, WeekState.MISSING, False, due))
        else:
            result.append(CheckpointProgress(module, WeekState.OPEN, False, due))
    return result


def member_daily_streak(
    check_in_days: Iterable[date],
    submitted: Iterable[datetime],
    pauses: Iterable[tuple[datetime, datetime | None]],
    zone: str,
    now: datetime,
) -> Streak:
    """One learner's daily streak from their check-in days, hand-in moments and the cohort's pauses."""
    return daily_streak(active_days(check_in_days, submitted, zone), paused_spans(pauses, zone), local_day(now, zone))


def member_weekly_streak(
    checkpoints: list[CheckpointProgress], by_week: dict[int, tuple[SubmissionStatus, datetime]], now: datetime
) -> Streak:
    """One learner's weekly streak from their checkpoint states and what stands for each week."""
    records = [CheckpointRecord(c.due, *handed_in(by_week.get(c.module.week))) for c in checkpoints]
    return weekly_streak(records, now)


def handed_in(entry: tuple[SubmissionStatus, datetime] | None) -> tuple[datetime | None, bool]:
    if entry is None:
        return None, False
    status, at = entry
    return at, status is SubmissionStatus.CHANGES_REQUESTED


def _tier_progress(roadmap: Roadmap, approved: set[int], awards: dict[str, TierAward]) -> list[TierProgress]:
    result = []
    for tier in roadmap.tiers:
        required = roadmap.tier_modules(tier)
        award = awards.get(tier.key)
        result.append(
            TierProgress(
                tier,
                required,
                tuple(m for m in required if m.week not in approved),
                award.status if award else None,
                award.last_error if award and award.status is AwardStatus.PENDING else None,
            )
        )
    return result


def _next_deadline(checkpoints: list[CheckpointProgress], now: datetime) -> tuple[Module, datetime] | None:
    """The soonest deadline still ahead for a checkpoint that is open and not approved."""
    ahead = [
        (c.due, c.module)
        for c in checkpoints
        if c.due is not None and c.due > now and c.state not in (WeekState.APPROVED, WeekState.UPCOMING)
    ]
    if not ahead:
        return None
    due, module = min(ahead, key=lambda item: item[0])
    return module, due
