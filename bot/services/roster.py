"""A cohort's roster: one row per member ever enrolled, computed for everyone in a fixed number of queries."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import (
    CheckIn,
    Extension,
    LearnerSettings,
    Membership,
    MembershipStatus,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    TierAward,
)
from bot.services.activity import activity_of, cohort_pauses, member_daily_streak
from bot.services.cohorts import CohortService, CohortView
from bot.services.peer_facts import peer_tallies
from bot.services.progress import WeekState, checkpoint_states, member_weekly_streak
from bot.services.quotas import ROSTER_DOWNLOADS, take


@dataclass(frozen=True)
class RosterRow:
    """One learner's line of the roster, as the CSV renders it."""

    display_name: str
    user_id: int
    joined_at: datetime
    status: str
    timezone: str
    checkins: int
    approved: int
    pending: int
    changes_requested: int
    missing: int
    late: int
    daily_streak: int
    daily_best: int
    weekly_streak: int
    weekly_best: int
    tiers: tuple[tuple[str, datetime], ...]
    peer_reviews_given: int = 0
    peer_reviews_received: int = 0


@dataclass(frozen=True)
class Roster:
    view: CohortView
    rows: list[RosterRow]

    @property
    def active(self) -> int:
        return sum(1 for row in self.rows if row.status == MembershipStatus.ACTIVE.value)

    @property
    def completion_rate(self) -> float:
        """Share of due checkpoints (approved + pending + changes requested + missing) that are approved."""
        due = sum(r.approved + r.pending + r.changes_requested + r.missing for r in self.rows)
        return sum(r.approved for r in self.rows) / due if due else 0.0


class RosterService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, cohorts: CohortService) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cohorts = cohorts

    async def roster(self, guild_id: int, cohort_name: str) -> Roster:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            cohort = await self._cohorts.find(session, guild_id, cohort_name)
            await take(session, ROSTER_DOWNLOADS, now, guild_id)
            view = await self._cohorts.view(session, cohort)
            members = (
                await session.execute(
                    select(Membership, LearnerSettings.timezone)
                    .outerjoin(
                        LearnerSettings,
                        (LearnerSettings.guild_id == Membership.guild_id)
                        & (LearnerSettings.user_id == Membership.user_id),
                    )
                    .where(Membership.cohort_id == cohort.id)
                    .order_by(Membership.joined_at, Membership.id)
                )
            ).all()
            ids = [m.id for m, _ in members]
            checkins = dict(
                (
                    await session.execute(
                        select(CheckIn.membership_id, func.count())
                        .where(CheckIn.membership_id.in_(ids))
                        .group_by(CheckIn.membership_id)
                    )
                ).tuples().all()
            )
            activity = await activity_of(session, ids)
            standing: dict[int, dict[int, tuple[SubmissionStatus, datetime]]] = defaultdict(dict)
            for membership_id, week, status, at in await session.execute(
                select(Submission.membership_id, Submission.week, Submission.status, SubmissionVersion.submitted_at)
                .join(
                    SubmissionVersion,
                    (SubmissionVersion.submission_id == Submission.id)
                    & (SubmissionVersion.version == Submission.current_version),
                )
                .where(Submission.cohort_id == cohort.id)
            ):
                standing[membership_id][week] = (status, at)
            extensions: dict[int, dict[int, int]] = defaultdict(dict)
            for membership_id, week, extra in await session.execute(
                select(Extension.membership_id, Extension.week, Extension.days).where(Extension.membership_id.in_(ids))
            ):
                extensions[membership_id][week] = extra
            awards: dict[int, list[TierAward]] = defaultdict(list)
            for award in await session.scalars(
                select(TierAward).where(TierAward.membership_id.in_(ids)).order_by(TierAward.earned_at)
            ):
                awards[award.membership_id].append(award)
            pauses = (await cohort_pauses(session, [cohort.id]))[cohort.id]
            peer = await peer_tallies(session, ids)
        rows = []
        for membership, timezone in members:
            zone = timezone or cohort.timezone
            by_week = standing[membership.id]
            checkpoints = checkpoint_states(view, by_week, extensions[membership.id], now)
            daily = member_daily_streak(activity.days[membership.id], activity.moments[membership.id], pauses, zone,
                                        now)
            weekly = member_weekly_streak(checkpoints, by_week, now, peer[membership.id].missed_weeks)
            states = Counter(c.state for c in checkpoints)
            tiers = tuple((_tier_name(view, a.tier_key), a.earned_at) for a in awards[membership.id])
            rows.append(
                RosterRow(
                    display_name=membership.display_name,
                    user_id=membership.user_id,
                    joined_at=membership.joined_at,
                    status=membership.status.value,
                    timezone=zone,
                    checkins=checkins.get(membership.id, 0),
                    approved=states[WeekState.APPROVED],
                    pending=states[WeekState.PENDING],
                    changes_requested=states[WeekState.CHANGES_REQUESTED],
                    missing=states[WeekState.MISSING],
                    late=sum(1 for c in checkpoints if c.late),
                    daily_streak=daily.current,
                    daily_best=daily.best,
                    weekly_streak=weekly.current,
                    weekly_best=weekly.best,
                    tiers=tiers,
                    peer_reviews_given=peer[membership.id].given,
                    peer_reviews_received=peer[membership.id].received,
                )
            )
        return Roster(view, rows)


def _tier_name(view: CohortView, key: str) -> str:
    tier = view.roadmap.tier(key)
    return tier.name if tier else key
