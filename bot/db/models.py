"""The ORM models: everything the bot remembers, with the constraints that keep it consistent."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BUNDLED_GUILD = 0
"""`guild_id` of roadmap versions that snapshot a bundled roadmap (snowflakes are never 0)."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as text with a CHECK so both SQLite and PostgreSQL accept it without native enum DDL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
    )


class CohortStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"
    COMPLETED = "completed"


class MembershipStatus(enum.StrEnum):
    ACTIVE = "active"
    LEFT = "left"


class ReminderDelivery(enum.StrEnum):
    DM = "dm"
    CHANNEL = "channel"
    OFF = "off"


class SubmissionStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"


class ReviewDecision(enum.StrEnum):
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"


class AwardStatus(enum.StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    RETIRED = "retired"
    """Never to be given: the learner left the cohort (a rejoin makes it pending again)."""


class DeliveryState(enum.StrEnum):
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"


class BotState(Base):
    """Small key/value facts about the process, e.g. the hash of the last synced command set."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GuildSettings(Base):
    """Per-server configuration."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    moderator_role_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RoadmapVersion(Base):
    """An immutable copy of a roadmap's YAML: a server's upload, or a bundled file a cohort started on."""

    __tablename__ = "roadmap_versions"
    __table_args__ = (UniqueConstraint("guild_id", "roadmap_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    roadmap_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    yaml_text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Cohort(Base):
    """A group walking one roadmap version together, on one schedule."""

    __tablename__ = "cohorts"
    __table_args__ = (
        UniqueConstraint("guild_id", "name_key"),
        Index("ix_cohorts_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))
    roadmap_id: Mapped[str] = mapped_column(String(64))
    roadmap_version_id: Mapped[int] = mapped_column(ForeignKey("roadmap_versions.id", ondelete="RESTRICT"))
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    post_time: Mapped[time] = mapped_column(Time)
    channel_id: Mapped[int] = mapped_column(BigInteger)
    review_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    role_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[CohortStatus] = mapped_column(_enum(CohortStatus, "cohort_status"))
    enrollment_open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[int | None] = mapped_column(BigInteger)
    """The moderator who ended it (empty for cohorts ended before this was recorded)."""


class CohortPause(Base):
    """One pause of a cohort's schedule; `resumed_at` is empty while it lasts."""

    __tablename__ = "cohort_pauses"
    __table_args__ = (Index("ix_cohort_pauses_cohort", "cohort_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_by: Mapped[int] = mapped_column(BigInteger)
    resumed_by: Mapped[int | None] = mapped_column(BigInteger)


class CohortAdvance(Base):
    """A moderator opening weeks early: at `at`, week `to_week` opened and the rest follow from it."""

    __tablename__ = "cohort_advances"
    __table_args__ = (Index("ix_cohort_advances_cohort", "cohort_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    to_week: Mapped[int] = mapped_column(Integer)
    advanced_by: Mapped[int] = mapped_column(BigInteger)


class TierRole(Base):
    """A moderator's choice of an existing server role for one tier of one cohort."""

    __tablename__ = "tier_roles"
    __table_args__ = (UniqueConstraint("cohort_id", "tier_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    tier_key: Mapped[str] = mapped_column(String(64))
    role_id: Mapped[int] = mapped_column(BigInteger)


class LearnerSettings(Base):
    """A person's own preferences in one server, shared by all their cohorts there."""

    __tablename__ = "learner_settings"
    __table_args__ = (
        UniqueConstraint("guild_id", "user_id"),
        CheckConstraint("reminder_hour BETWEEN 0 AND 23", name="reminder_hour_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    timezone: Mapped[str | None] = mapped_column(String(64))
    reminder_delivery: Mapped[ReminderDelivery] = mapped_column(
        _enum(ReminderDelivery, "reminder_delivery"), default=ReminderDelivery.DM
    )
    reminder_hour: Mapped[int] = mapped_column(Integer, default=18)
    dms_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Membership(Base):
    """A person's enrolment in a cohort; leaving keeps the row (and the history) with status `left`."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("cohort_id", "user_id"),
        Index("ix_memberships_guild_user", "guild_id", "user_id"),
        # The board by approved checkpoints: its top in index order, a member's place by counting those ahead.
        Index("ix_memberships_cohort_status_approved", "cohort_id", "status", "approved"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    guild_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    display_name: Mapped[str] = mapped_column(String(100))
    status: Mapped[MembershipStatus] = mapped_column(_enum(MembershipStatus, "membership_status"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Approved checkpoints, kept as moderators approve them (an approval is final: no later version replaces it)."""


class Submission(Base):
    """One learner's checkpoint for one week; its versions keep every attempt."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("membership_id", "week"),
        # A cohort's submissions (stats, the roster, peer review's sweeps), by status from the index alone.
        Index("ix_submissions_cohort_status_membership", "cohort_id", "status", "membership_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column(Integer)
    status: Mapped[SubmissionStatus] = mapped_column(_enum(SubmissionStatus, "submission_status"))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    review_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    review_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SubmissionVersion(Base):
    """One attempt at a checkpoint: what was handed in, and when."""

    __tablename__ = "submission_versions"
    __table_args__ = (UniqueConstraint("submission_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    link: Mapped[str | None] = mapped_column(String(2048))
    notes: Mapped[str | None] = mapped_column(String(1000))
    attachment_url: Mapped[str | None] = mapped_column(String(2048))
    attachment_name: Mapped[str | None] = mapped_column(String(256))
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    attachment_type: Mapped[str | None] = mapped_column(String(128))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    review_message_id: Mapped[int | None] = mapped_column(BigInteger)
    """This version's own review message (every one is edited when the learner erases their data)."""


class Review(Base):
    """A moderator's decision on one version; one decision per version, enforced by the database."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("submission_version_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_version_id: Mapped[int] = mapped_column(
        ForeignKey("submission_versions.id", ondelete="CASCADE")
    )
    reviewer_id: Mapped[int] = mapped_column(BigInteger)
    decision: Mapped[ReviewDecision] = mapped_column(_enum(ReviewDecision, "review_decision"))
    feedback: Mapped[str | None] = mapped_column(String(1000))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CheckIn(Base):
    """Study logged by a learner for one of their local days; several per day are kept."""

    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_membership_day", "membership_id", "local_date"),
        CheckConstraint("minutes BETWEEN 1 AND 1440", name="minutes_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DailyStreak(Base):
    """A learner's daily streak in one cohort as last computed, kept as activity arrives (services/streak_book.py)."""

    __tablename__ = "daily_streaks"
    # A board reads its top in this order and counts the members ahead of someone along it; it finds the rows that
    # no longer hold (boards.py) along the other two.
    __table_args__ = (
        Index("ix_daily_streaks_cohort_run_best", "cohort_id", "run", "best"),
        Index("ix_daily_streaks_cohort_holds_until", "cohort_id", "holds_until"),
        Index("ix_daily_streaks_cohort_computed_at", "cohort_id", "computed_at"),
    )

    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"), primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    zone: Mapped[str] = mapped_column(String(64))
    last_day: Mapped[date | None] = mapped_column(Date)
    run: Mapped[int] = mapped_column(Integer)
    best: Mapped[int] = mapped_column(Integer)
    next_day: Mapped[date | None] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    alive_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When `run` stops being the current streak if no activity comes (the start of that local day); None: no run."""
    holds_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """The start of `next_day` in `zone`: from then on the row no longer holds; None: no such day. A change of the
    learner's zone sets it to that moment."""


class Extension(Base):
    """A moderator moving one learner's deadline for one week by some days."""

    __tablename__ = "extensions"
    __table_args__ = (UniqueConstraint("membership_id", "week"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    granted_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TierAward(Base):
    """A tier earned by a learner; `pending` until Discord accepted the role grant."""

    __tablename__ = "tier_awards"
    __table_args__ = (
        UniqueConstraint("membership_id", "tier_key"),
        Index("ix_tier_awards_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    tier_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[AwardStatus] = mapped_column(_enum(AwardStatus, "award_status"))
    role_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the sweep may try a pending award again (stored, so the back-off survives a restart)."""


class Delivery(Base):
    """The at-most-once ledger: a row is claimed before anything is sent for (kind, subject, period)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("kind", "subject", "period"),
        Index("ix_deliveries_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState, "delivery_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Messages of a multi-part post already out (a retry resumes after them); `message_id` is the first."""
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    """The post's discussion thread, once Discord made it."""


class QuotaUse(Base):
    """One use of a quota that leaves no other trace (an upload, an export, a join); pruned once outside its window."""

    __tablename__ = "quota_uses"
    __table_args__ = (Index("ix_quota_uses_key", "action", "guild_id", "user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    guild_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    """None for a quota of the whole server."""
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class LiveSession(Base):
    """A weekly live meeting of a cohort (office hours, a paper reading), kept as a Discord scheduled event."""

    __tablename__ = "live_sessions"
    __table_args__ = (
        Index("ix_live_sessions_cohort", "cohort_id"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("minutes BETWEEN 5 AND 600", name="minutes_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(100))
    weekday: Mapped[int] = mapped_column(Integer)
    """0 = Monday, in the cohort's timezone."""
    start_time: Mapped[time] = mapped_column(Time)
    minutes: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    """A voice or stage channel; None for a session at `location`."""
    location: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Set by `session remove`; the row stays until its Discord event is cancelled."""


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DROPPED = "dropped"


class OutboxMessage(Base):
    """Something the bot owes people, written with the change that caused it and delivered until done."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    lane: Mapped[str] = mapped_column(String(64))
    """Messages of one lane (a channel, a learner) go out in the order they were written."""
    guild_id: Mapped[int | None] = mapped_column(BigInteger)
    """The server it is owed in, so the process of that server's shard delivers it; NULL: the shard-0 owner's."""
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState, "outbox_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PeerSettings(Base):
    """A cohort's peer review: how many peers review each submission (0 = off), anonymously or not, and by when."""

    __tablename__ = "peer_settings"
    __table_args__ = (
        CheckConstraint("reviewers BETWEEN 0 AND 3", name="reviewers_range"),
        CheckConstraint("due_days BETWEEN 1 AND 14", name="due_days_range"),
    )

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    reviewers: Mapped[int] = mapped_column(Integer)
    anonymous: Mapped[bool] = mapped_column(Boolean)
    due_days: Mapped[int] = mapped_column(Integer)
    enabled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    """When it was last turned on: only weeks whose deadline passes from then on are assigned."""
    updated_by: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PeerState(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    MISSED = "missed"
    """The reviewer let the deadline pass; the submission was passed on to another peer."""
    WITHDRAWN = "withdrawn"
    """The reviewer left the cohort or erased their data."""
    DISCARDED = "discarded"
    """A moderator removed the review."""


class PeerAssignment(Base):
    """One peer asked to review one submission; the unique pair is the ledger that makes assignment happen once."""

    __tablename__ = "peer_assignments"
    __table_args__ = (
        UniqueConstraint("submission_id", "reviewer_id"),
        Index("ix_peer_assignments_cohort_week", "cohort_id", "week"),
        Index("ix_peer_assignments_reviewer_id", "reviewer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    week: Mapped[int] = mapped_column(Integer)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("memberships.id", ondelete="CASCADE"))
    """The reviewer's membership (anonymised with it when they erase their data)."""
    state: Mapped[PeerState] = mapped_column(_enum(PeerState, "peer_state"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PeerReview(Base):
    """What a peer said: one verdict per checkpoint requirement and a comment; editable until the deadline."""

    __tablename__ = "peer_reviews"
    __table_args__ = (UniqueConstraint("assignment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("peer_assignments.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    """The submission's version that was reviewed."""
    verdicts: Mapped[list] = mapped_column(JSON)
    """One of "met", "partly", "not_yet" per requirement, in the rubric's order."""
    comment: Mapped[str | None] = mapped_column(String(1000))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
