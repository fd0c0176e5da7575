"""The moderators' weekly digest of a cohort: what is due, and the facts of every digest of a sweep in four queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import (
    AwardStatus,
    CheckIn,
    Membership,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    TierAward,
)
from bot.domain.notices import AwardLately, DigestFacts, PendingReview, SubmittedLately
from bot.schedule.reminder_rules import LearnerRow, due_digest, is_new
from bot.services.ledger import cohort_subject
from bot.services.posting import ScheduledCohort

MOD_DIGEST = "mod_digest"
ACTIVITY_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class DigestDue:
    cohort_id: int
    week: int
    moment: datetime
    channel_id: int

    @property
    def subject(self) -> str:
        return cohort_subject(self.cohort_id)

    @property
    def period(self) -> str:
        return f"week-{self.week}"


def digests_due(
    cohorts: dict[int, ScheduledCohort], learners: list[LearnerRow], now: datetime, since: datetime | None
) -> list[DigestDue]:
    """The digest due now of each cohort with learners, unless an earlier sweep (up to `since`) saw it."""
    members = {row.cohort_id for row in learners}
    found = []
    for cohort_id, item in cohorts.items():
        due = due_digest(item.openings, item.roadmap.total_weeks, now)
        if due is not None and cohort_id in members and is_new(due[1], since):
            cohort = item.cohort
            found.append(DigestDue(cohort_id, due[0], due[1], cohort.review_channel_id or cohort.channel_id))
    return found


async def digest_facts(
    sessions: async_sessionmaker[AsyncSession],
    digests: list[DigestDue],
    cohorts: dict[int, ScheduledCohort],
    learners: list[LearnerRow],
    now: datetime,
) -> dict[int, DigestFacts]:
    """Four queries for all the digests of a sweep together."""
    ids = [d.cohort_id for d in digests]
    since = now - ACTIVITY_WINDOW
    async with sessions() as session:
        submitted = (
            await session.execute(
                select(Submission.cohort_id, Submission.membership_id, Membership.user_id, Submission.week,
                       SubmissionVersion.late)
                .join(Submission, Submission.id == SubmissionVersion.submission_id)
                .join(Membership, Membership.id == Submission.membership_id)
                .where(Submission.cohort_id.in_(ids), SubmissionVersion.submitted_at >= since,
                       SubmissionVersion.submitted_at <= now)
                .order_by(SubmissionVersion.submitted_at, SubmissionVersion.id)
            )
        ).all()
        pending = (
            await session.execute(
                select(Submission.cohort_id, Membership.user_id, Membership.guild_id, Submission.week,
                       Submission.updated_at, Submission.review_channel_id, Submission.review_message_id)
                .join(Membership, Membership.id == Submission.membership_id)
                .where(Submission.cohort_id.in_(ids), Submission.status == SubmissionStatus.PENDING)
                .order_by(Submission.updated_at, Submission.id)
            )
        ).all()
        checked_in = set(
            (
                await session.scalars(
                    select(CheckIn.membership_id)
                    .join(Membership, Membership.id == CheckIn.membership_id)
                    .where(Membership.cohort_id.in_(ids), CheckIn.created_at >= since)
                    .distinct()
                )
            ).all()
        )
        awards = (
            await session.execute(
                select(Membership.cohort_id, Membership.user_id, TierAward.tier_key, TierAward.status)
                .join(Membership, Membership.id == TierAward.membership_id)
                .where(Membership.cohort_id.in_(ids), TierAward.earned_at >= since, TierAward.earned_at <= now)
                .order_by(TierAward.earned_at, TierAward.id)
            )
        ).all()
    active = checked_in | {row.membership_id for row in submitted}
    facts = {}
    for digest in digests:
        item = cohorts[digest.cohort_id]
        roadmap = item.roadmap
        members = [r for r in learners if r.cohort_id == digest.cohort_id]
        tiers = {tier.key: tier.name for tier in roadmap.tiers}
        facts[digest.cohort_id] = DigestFacts(
            cohort_name=item.cohort.name,
            week=digest.week,
            total_weeks=roadmap.total_weeks,
            opened=digest.moment,
            submissions=[
                SubmittedLately(r.user_id, _week_label(item, r.week), r.late)
                for r in submitted
                if r.cohort_id == digest.cohort_id
            ],
            pending=[
                PendingReview(
                    r.user_id,
                    _week_label(item, r.week),
                    r.updated_at,
                    _message_link(r.guild_id, r.review_channel_id, r.review_message_id),
                )
                for r in pending
                if r.cohort_id == digest.cohort_id
            ],
            inactive=[
                r.user_id for r in members if r.membership_id not in active and r.joined_at <= since
            ],
            awards=[
                AwardLately(r.user_id, tiers.get(r.tier_key, r.tier_key), r.status is AwardStatus.GRANTED)
                for r in awards
                if r.cohort_id == digest.cohort_id
            ],
            active_members=len(members),
        )
    return facts


def _week_label(item: ScheduledCohort, week: int) -> str:
    module = item.roadmap.module_for_week(week)
    return module.label if module is not None else f"Week {week}"


def _message_link(guild_id: int, channel_id: int | None, message_id: int | None) -> str | None:
    if channel_id is None or message_id is None:
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"
