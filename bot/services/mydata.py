"""A learner's own data in one server: everything exported as plain values, or erased in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.changes import rows_changed
from bot.db.models import (
    AwardStatus,
    CheckIn,
    Cohort,
    DailyStreak,
    Delivery,
    Extension,
    LearnerSettings,
    Membership,
    MembershipStatus,
    OutboxMessage,
    PeerAssignment,
    PeerReview,
    Review,
    Submission,
    SubmissionVersion,
    TierAward,
)
from bot.errors import NotFound
from bot.services.ledger import forget_learner, subjects_of_learner
from bot.services.outbox import learner_lane
from bot.services.peer_review import forget_reviewer
from bot.services.quotas import DATA_EXPORTS, forget_user, take, uses_of

ERASED_NAME = "(erased)"
NOTHING_KEPT = "I keep nothing about you on this server (or it was already erased), so there is nothing to erase."
SETTINGS_FIELDS = ("timezone", "reminder_delivery", "reminder_hour", "dms_closed")
VERSION_FIELDS = (
    "version", "link", "notes", "attachment_name", "attachment_url", "attachment_size", "attachment_type", "late",
    "submitted_at",
)


@dataclass(frozen=True)
class ErasureReport:
    """What was removed, and what Discord still shows that the cog must tidy up."""

    checkins: int
    submissions: int
    deliveries: int
    memberships_anonymised: int
    awards_cancelled: int = 0
    review_messages: list[tuple[int, int]] = field(default_factory=list)
    tier_role_ids: list[int] = field(default_factory=list)
    cohort_role_ids: list[int] = field(default_factory=list)


class MyDataService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def export(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """Everything the bot stores about this person in this server, as JSON-ready values."""
        async with self._sessions.begin() as session:
            await take(session, DATA_EXPORTS, self._clock.now(), guild_id, user_id)
            quota_uses = await uses_of(session, guild_id, user_id)
            memberships = await _memberships(session, guild_id, user_id)
            ids = [m.id for m, _ in memberships]
            settings = await session.scalar(
                select(LearnerSettings).where(LearnerSettings.guild_id == guild_id, LearnerSettings.user_id == user_id)
            )
            checkins = (await session.scalars(select(CheckIn).where(CheckIn.membership_id.in_(ids)))).all()
            submissions = (await session.scalars(select(Submission).where(Submission.membership_id.in_(ids)))).all()
            versions = (
                await session.scalars(
                    select(SubmissionVersion).where(SubmissionVersion.submission_id.in_([s.id for s in submissions]))
                )
            ).all()
            reviews = (
                await session.scalars(select(Review).where(Review.submission_version_id.in_([v.id for v in versions])))
            ).all()
            awards = (await session.scalars(select(TierAward).where(TierAward.membership_id.in_(ids)))).all()
            extensions = (await session.scalars(select(Extension).where(Extension.membership_id.in_(ids)))).all()
            deliveries = (
                await session.scalars(select(Delivery).where(subjects_of_learner(guild_id, user_id, ids)))
            ).all()
            peer = (
                await session.execute(
                    select(PeerAssignment, PeerReview)
                    .outerjoin(PeerReview, PeerReview.assignment_id == PeerAssignment.id)
                    .where(PeerAssignment.reviewer_id.in_(ids))
                    .order_by(PeerAssignment.id)
                )
            ).all()
        cohort_of = {m.id: c.name for m, c in memberships}
        reviews_of = {r.submission_version_id: r for r in reviews}

        def owned(obj: Any, *names: str) -> dict[str, Any]:
            return _row(obj, *names) | {"cohort": cohort_of[obj.membership_id]}

        def version(v: SubmissionVersion) -> dict[str, Any]:
            review = reviews_of.get(v.id)
            # The review message carries any submitted file; its link lasts where file URLs expire.
            posted = v.review_channel_id and v.review_message_id
            return _row(v, *VERSION_FIELDS) | {
                "review_message": (
                    f"https://discord.com/channels/{guild_id}/{v.review_channel_id}/{v.review_message_id}"
                    if posted else None
                ),
                "review": _row(review, "decision", "feedback", "decided_at") if review else None,
            }

        return {
            "guild_id": str(guild_id),
            "user_id": str(user_id),
            "exported_at": _value(self._clock.now()),
            "memberships": [
                _row(m, "status", "display_name", "joined_at", "left_at") | {"cohort": c.name} for m, c in memberships
            ],
            "settings": _row(settings, *SETTINGS_FIELDS) if settings else None,
            "checkins": [owned(c, "local_date", "minutes", "note", "created_at") for c in checkins],
            "submissions": [
                owned(s, "week", "status", "created_at", "updated_at")
                | {"versions": [version(v) for v in versions if v.submission_id == s.id]}
                for s in submissions
            ],
            "extensions": [owned(e, "week", "days", "created_at") for e in extensions],
            "peer_reviews_given": [
                _row(a, "week", "state", "assigned_at", "due_at") | {"cohort": cohort_of[a.reviewer_id]}
                | {"review": _row(r, "verdicts", "comment", "submitted_at", "edited_at") if r else None}
                for a, r in peer
            ],
            "tier_awards": [owned(a, "tier_key", "status", "earned_at", "granted_at") for a in awards],
            "deliveries": [_row(d, "kind", "period", "state", "sent_at") for d in deliveries],
            "quota_uses": [_row(u, "action", "at") for u in quota_uses],
        }

    async def has_data(self, guild_id: int, user_id: int) -> bool:
        async with self._sessions() as session:
            membership = await session.scalar(
                select(Membership.id).where(Membership.guild_id == guild_id, Membership.user_id == user_id).limit(1)
            )
            settings = await session.scalar(
                select(LearnerSettings.id).where(
                    LearnerSettings.guild_id == guild_id, LearnerSettings.user_id == user_id
                )
            )
        return membership is not None or settings is not None

    async def erase(self, guild_id: int, user_id: int) -> ErasureReport:
        """Delete check-ins, submissions, settings and deliveries; keep anonymous memberships for the counts."""
        async with self._sessions.begin() as session:
            # Locked first: a /checkin, /submit or tier check of this learner comes wholly before or after.
            memberships = await _memberships(session, guild_id, user_id, for_update=True)
            settings = await session.scalar(
                select(LearnerSettings).where(LearnerSettings.guild_id == guild_id, LearnerSettings.user_id == user_id)
            )
            if not memberships and settings is None:
                raise NotFound(NOTHING_KEPT)
            ids = [m.id for m, _ in memberships]
            review_messages = await _review_messages(session, ids)
            tier_roles = [
                a.role_id
                for a in (await session.scalars(select(TierAward).where(TierAward.membership_id.in_(ids)))).all()
                if a.role_id
            ]
            # A role not yet given is never to be given now: the award goes with the rest of their data.
            cancelled = await rows_changed(
                session,
                delete(TierAward).where(TierAward.membership_id.in_(ids), TierAward.status != AwardStatus.GRANTED),
            )
            deliveries = await forget_learner(session, guild_id, user_id, ids)
            await forget_reviewer(session, self._clock, ids)
            checkins = await rows_changed(session, delete(CheckIn).where(CheckIn.membership_id.in_(ids)))
            await session.execute(delete(DailyStreak).where(DailyStreak.membership_id.in_(ids)))
            submissions = await rows_changed(session, delete(Submission).where(Submission.membership_id.in_(ids)))
            await session.execute(delete(Extension).where(Extension.membership_id.in_(ids)))
            await forget_user(session, guild_id, user_id)
            # Notices still owed to them would carry their id (and need data that is now gone).
            await session.execute(delete(OutboxMessage).where(OutboxMessage.lane == learner_lane(guild_id, user_id)))
            if settings is not None:
                await session.delete(settings)
            for membership, _ in memberships:
                # A negative id keeps (cohort, user) unique and can never be a real Discord user.
                await session.execute(
                    update(Membership)
                    .where(Membership.id == membership.id)
                    .values(user_id=-membership.id, display_name=ERASED_NAME, status=MembershipStatus.LEFT,
                            left_at=membership.left_at or self._clock.now(), approved=0)
                )
        return ErasureReport(
            checkins=checkins,
            submissions=submissions,
            deliveries=deliveries,
            memberships_anonymised=len(memberships),
            awards_cancelled=cancelled,
            review_messages=review_messages,
            tier_role_ids=tier_roles,
            cohort_role_ids=[c.role_id for _, c in memberships if c.role_id],
        )


async def _memberships(
    session: AsyncSession, guild_id: int, user_id: int, *, for_update: bool = False
) -> list[tuple[Membership, Cohort]]:
    query = (
        select(Membership, Cohort)
        .join(Cohort, Cohort.id == Membership.cohort_id)
        .where(Membership.guild_id == guild_id, Membership.user_id == user_id)
    )
    if for_update:
        # In id order, like every lock on several memberships, so two such transactions never deadlock.
        query = query.order_by(Membership.id).with_for_update(of=Membership)
    else:
        query = query.order_by(Membership.joined_at)
    rows = await session.execute(query)
    return [(m, c) for m, c in rows.all()]


async def _review_messages(session: AsyncSession, membership_ids: list[int]) -> list[tuple[int, int]]:
    """(channel, message) of the review message of every version of their submissions, oldest first."""
    rows = await session.execute(
        select(
            func.coalesce(SubmissionVersion.review_channel_id, Submission.review_channel_id),
            func.coalesce(
                SubmissionVersion.review_message_id,
                # Versions posted before messages were kept per version: the submission knows the latest one.
                case((SubmissionVersion.version == Submission.current_version, Submission.review_message_id)),
            ),
        )
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .where(Submission.membership_id.in_(membership_ids))
        .order_by(Submission.id, SubmissionVersion.version)
    )
    return [(channel, message) for channel, message in rows.all() if channel and message]


def _row(obj: object, *names: str) -> dict[str, Any]:
    return {name: _value(getattr(obj, name)) for name in names}


def _value(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value
