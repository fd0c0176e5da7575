"""Checkpoint submissions and their review: versions, lateness, extensions, decisions and the queue."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlparse

from sqlalchemy import Label, Select, SQLColumnExpression, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.changes import rows_changed
from bot.db.columns import EXTENSION, MEMBER, SUBMISSION
from bot.db.models import (
    Cohort,
    Extension,
    Membership,
    Review,
    ReviewDecision,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
)
from bot.errors import AlreadyDecided, Conflict, InvalidInput, NotFound
from bot.roadmap import Module
from bot.services.activity import OWN_ZONE
from bot.services.cohorts import CohortService, CohortView
from bot.services.enrolment import EnrolmentService
from bot.services.events import ApprovalListener, CheckpointApproved
from bot.services.outbox import CHANNEL_LANE, Outbox, OutboxItem, learner_lane, owe_many
from bot.services.peer_facts import PeerVerdict, peer_assigned, verdicts_of
from bot.services.quotas import VERSIONS_PER_CHECKPOINT, refuse_if_spent_in
from bot.services.streak_book import Member, refresh

MAX_LINK = 2048
MAX_NOTES = 1000
MAX_FEEDBACK = 1000
MAX_EXTENSION_DAYS = 60

REVIEW_MESSAGE = "review_message"
"""Outbox: post a version to the review channel (payload: submission_id, version, previous message, and the
submitted file's URL, name, size and type)."""
DECISION_NOTICE = "decision_notice"
"""Outbox: tell the learner about a decision (payload: review_id)."""
APPROVAL = "approval"
"""Outbox: run the approval listeners, e.g. the tier check (payload: a CheckpointApproved)."""

_LOCK_LEARNER = (
    select(Membership.id)
    .where(Membership.id == select(Submission.membership_id).where(Submission.id == bindparam("submission"))
           .scalar_subquery())
    .with_for_update()
)
_COUNT_APPROVAL = (
    update(cast(Table, Membership.__table__))
    .where(MEMBER.id == bindparam("membership"))
    .values(approved=MEMBER.approved + 1)
)
_SUBMISSIONS = cast(Table, Submission.__table__)
_ADD_SUBMISSION = insert(_SUBMISSIONS).returning(SUBMISSION.id)
_RESUBMITTED = (
    update(_SUBMISSIONS)
    .where(SUBMISSION.id == bindparam("submission"))
    .values(
        current_version=bindparam("next"), status=SubmissionStatus.PENDING, updated_at=bindparam("at"),
        review_channel_id=None, review_message_id=None,
    )
)
_SUBMITTED_TWICE = "You submitted twice at the same moment; the first one counts. Try again."
_ADD_VERSION = insert(cast(Table, SubmissionVersion.__table__))
_REVIEWS = cast(Table, Review.__table__)
_ADD_REVIEW = insert(_REVIEWS).returning(_REVIEWS.c.id)
_DECIDED = (
    update(_SUBMISSIONS)
    .where(SUBMISSION.id == bindparam("submission"))
    .values(status=bindparam("decided"), updated_at=bindparam("at"))
)


def _extension_of(membership_id: SQLColumnExpression[int], week: SQLColumnExpression[int]) -> Select[tuple[int]]:
    """The days a learner's deadline for a week was extended by (no row, or NULL as a column: none)."""
    return select(EXTENSION.days).where(EXTENSION.membership_id == membership_id, EXTENSION.week == week)


def _extension_days(membership_id: SQLColumnExpression[int], week: SQLColumnExpression[int]) -> Label[int | None]:
    """`_extension_of` as a column of a card's statement: a statement of its own was one more round trip a card."""
    return _extension_of(membership_id, week).scalar_subquery().label("extension_days")


# The rest of a submission's and a decision's statements, built once too: building one and its cache key at each
# call was a tenth of an Approve click.
_VERSION_FACTS = (
    select(SubmissionVersion, Submission, Membership, Cohort,
           _extension_days(Submission.membership_id, Submission.week), peer_assigned(Submission.id))
    .join(Submission, Submission.id == SubmissionVersion.submission_id)
    .join(Membership, Membership.id == Submission.membership_id)
    .join(Cohort, Cohort.id == Submission.cohort_id)
)
"""A version with its submission, learner, cohort and extension, in one statement (what its card is made of)."""
_CARD_FACTS = _VERSION_FACTS.where(
    SubmissionVersion.submission_id == bindparam("submission"), SubmissionVersion.version == bindparam("version")
)
_DECISION_FACTS = (
    _VERSION_FACTS.add_columns(Review)
    .join(Review, Review.submission_version_id == SubmissionVersion.id)
    .where(Review.id == bindparam("review"))
)
_LOCKED_WEEK = (
    select(Submission)
    .where(Submission.membership_id == bindparam("membership"), Submission.week == bindparam("week"))
    .with_for_update()
)
_DECIDING = (
    select(Submission, Membership, Cohort, SubmissionVersion, Review,
           _extension_days(Submission.membership_id, Submission.week), peer_assigned(Submission.id))
    .join(Membership, Membership.id == Submission.membership_id)
    .join(Cohort, Cohort.id == Membership.cohort_id)
    .join(SubmissionVersion, (SubmissionVersion.submission_id == Submission.id)
          & (SubmissionVersion.version == Submission.current_version))
    .outerjoin(Review, Review.submission_version_id == SubmissionVersion.id)
    .where(Submission.id == bindparam("submission"))
    .with_for_update(of=Submission)
)
"""A submission, locked, with its learner and cohort, its current version, any decision on it, the learner's extension
and whether peers review it: one statement. Whoever changes a version or its decision locks the learner first, as a
decision does before this; so the rows joined here are read after any such change is committed, never before."""
_EXTENSION_DAYS = _extension_of(bindparam("membership"), bindparam("week"))
_SUBMITTING = select(
    _extension_days(bindparam("membership"), bindparam("week")), OWN_ZONE.scalar_subquery().label("own_zone")
)
"""What /submit reads of the learner once they are locked: the week's extension and their own zone (a zone change
holds that lock), in one round trip instead of two."""


@dataclass(frozen=True)
class AttachmentInfo:
    url: str
    name: str
    size: int
    content_type: str | None


@dataclass(frozen=True)
class SubmissionRequest:
    guild_id: int
    user_id: int
    cohort_name: str | None
    week: int | None
    link: str | None
    notes: str | None
    attachment: AttachmentInfo | None = None


@dataclass(frozen=True)
class SubmissionCard:
    """Everything a review message or a confirmation shows about one version of a submission."""

    submission_id: int
    version: int
    cohort_id: int
    cohort_name: str
    user_id: int
    display_name: str
    module: Module
    link: str | None
    notes: str | None
    attachment: AttachmentInfo | None
    late: bool
    submitted_at: datetime
    deadline: datetime | None
    review_channel_id: int
    cohort_channel_id: int
    review_message_id: int | None = None
    """Its review message, once posted."""
    superseded: bool = False
    """A newer version was submitted since."""
    owed: tuple[int, ...] = ()
    """Outbox messages written with this submission (its review message), to deliver after the commit."""
    peer: tuple[PeerVerdict, ...] = ()
    """Peer reviews of this version, shown to the moderators beside their buttons."""


@dataclass(frozen=True)
class Decision:
    card: SubmissionCard
    decision: ReviewDecision
    reviewer_id: int
    feedback: str | None
    decided_at: datetime
    guild_id: int
    owed: tuple[int, ...] = ()
    """Outbox messages written with this decision (the tier check, the learner's notice)."""


@dataclass(frozen=True)
class QueueItem:
    submission_id: int
    cohort_name: str
    user_id: int
    display_name: str
    week: int
    version: int
    submitted_at: datetime
    late: bool
    review_channel_id: int | None
    review_message_id: int | None


class SubmissionService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        cohorts: CohortService,
        enrolment: EnrolmentService,
        outbox: Outbox,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cohorts = cohorts
        self._enrolment = enrolment
        self._approval_listeners: list[ApprovalListener] = []
        outbox.register(APPROVAL, self._approved)

    def on_approved(self, listener: ApprovalListener) -> None:
        """Subscribe to approvals (the tier logic grants roles from here); delivered through the outbox,
        so a listener hears of every committed approval even if the process stops right after it."""
        self._approval_listeners.append(listener)

    async def _approved(self, item: OutboxItem) -> None:
        event = CheckpointApproved(**item.payload)
        for listener in self._approval_listeners:
            await listener(event)

    async def target(self, guild_id: int, user_id: int, cohort_name: str | None, week: int | None) -> CohortView:
        """Check, before a form opens, that this learner may submit for this week at all."""
        async with self._sessions() as session:
            _, cohort = await self._enrolment.membership(session, guild_id, cohort_name, user_id)
            view = await self._cohorts.view(session, cohort, count_members=False)
        self._module(view, week)
        return view

    async def submit(self, request: SubmissionRequest) -> SubmissionCard:
        link, notes = _clean_link(request.link), _clean_notes(request.notes)
        if link is None and request.attachment is None:
            raise InvalidInput("A submission needs a link or a file. Add `link:` or `file:`, or run /submit alone.")
        now = self._clock.now()
        async with self._sessions.begin() as session:
            membership, cohort = await self._enrolment.membership(
                session, request.guild_id, request.cohort_name, request.user_id, for_update=True
            )
            view = await self._cohorts.view(session, cohort, count_members=False)
            module = self._module(view, request.week)
            facts = (await session.execute(_SUBMITTING, {
                "membership": membership.id, "week": module.week, "guild": request.guild_id, "user": request.user_id,
            })).one()
            deadline = view.deadline(module, facts.extension_days or 0)
            submission = await session.scalar(_LOCKED_WEEK, {"membership": membership.id, "week": module.week})
            previous = None
            # Plain statements, as for the version and the review message below: each flush of the unit of work cost
            # more CPU than its statements.
            if submission is None:
                version_number = 1
                try:
                    submission_id = (await session.execute(_ADD_SUBMISSION, {
                        "cohort_id": cohort.id, "membership_id": membership.id, "week": module.week,
                        "status": SubmissionStatus.PENDING, "current_version": 1, "created_at": now, "updated_at": now,
                    })).scalar_one()
                except IntegrityError:
                    raise Conflict(_SUBMITTED_TWICE) from None
            elif submission.status is SubmissionStatus.APPROVED:
                raise Conflict(f"Your {module.label.lower()} checkpoint is already approved; nothing to resubmit.")
            else:
                # Each version posts to the review channel: a learner may not flood it.
                await refuse_if_spent_in(
                    session, VERSIONS_PER_CHECKPOINT, now, SubmissionVersion.submitted_at,
                    SubmissionVersion.submission_id == submission.id,
                )
                if submission.review_message_id is not None and submission.review_channel_id is not None:
                    previous = (submission.review_channel_id, submission.review_message_id)
                version_number, submission_id = submission.current_version + 1, submission.id
                await session.execute(_RESUBMITTED, {"submission": submission_id, "next": version_number, "at": now})
            late = deadline is not None and now > deadline
            attachment = request.attachment
            stored = {
                "version": version_number,
                "link": link,
                "notes": notes,
                "attachment_url": attachment.url if attachment else None,
                "attachment_name": attachment.name[:256] if attachment else None,
                "attachment_size": attachment.size if attachment else None,
                "attachment_type": (attachment.content_type or None) if attachment else None,
                "late": late,
                "submitted_at": now,
            }
            try:
                await session.execute(_ADD_VERSION, {"submission_id": submission_id, **stored})
            except IntegrityError:
                raise Conflict(_SUBMITTED_TWICE) from None
            zone = facts.own_zone or cohort.timezone
            await refresh(session, [Member(membership.id, cohort.id, zone)], now, pauses={cohort.id: list(view.pauses)})
            debt = {
                "submission_id": submission_id,
                "version": version_number,
                "previous": previous,
                # Where to fetch the file again for the review message (never its bytes).
                "attachment": asdict(attachment) if attachment else None,
            }
            lane = f"{CHANNEL_LANE}{cohort.review_channel_id or cohort.channel_id}"
            owed = await owe_many(session, self._clock, [(REVIEW_MESSAGE, debt, lane)], guild_id=cohort.guild_id)
            # The card's version is never added to the session: the INSERT above stored it.
            version = SubmissionVersion(submission_id=submission_id, **stored)
            card = _card(submission_id, version, cohort, membership, module, deadline)
            return replace(card, owed=tuple(owed))

    async def card(self, submission_id: int, version: int) -> SubmissionCard | None:
        """The card of one version as it stands now; None when it was erased."""
        async with self._sessions() as session:
            found = (await session.execute(_CARD_FACTS, {"submission": submission_id, "version": version})).first()
            if found is None:
                return None
            return await self._card_of(
                session, found.Submission, found.SubmissionVersion, found.extension_days, found.peer_assigned
            )

    async def _card_of(
        self, session: AsyncSession, submission: Submission, row: SubmissionVersion, extension_days: int | None,
        peer_assigned: bool,
    ) -> SubmissionCard:
        # The membership and cohort are in the session already when a card's statement read them: no statement then.
        membership = await session.get_one(Membership, submission.membership_id)
        cohort = await session.get_one(Cohort, submission.cohort_id)
        view = await self._cohorts.view(session, cohort, count_members=False)
        module = view.roadmap.module_for_week(submission.week)
        assert module is not None  # stored under a module's week of the cohort's own (fixed) roadmap version
        card = _card(submission.id, row, cohort, membership, module, view.deadline(module, extension_days or 0))
        current = submission.current_version == row.version
        return replace(
            card,
            review_message_id=submission.review_message_id if current else None,
            superseded=not current,
            peer=await verdicts_of(session, submission.id, row.version) if peer_assigned else (),
        )

    async def decision(self, review_id: int) -> Decision | None:
        """A decision as it was made, for the learner's notice; None when it was erased."""
        async with self._sessions() as session:
            found = (await session.execute(_DECISION_FACTS, {"review": review_id})).first()
            if found is None:
                return None
            review = found.Review
            card = await self._card_of(
                session, found.Submission, found.SubmissionVersion, found.extension_days, found.peer_assigned
            )
        return Decision(
            card, review.decision, review.reviewer_id, review.feedback, review.decided_at, found.Cohort.guild_id
        )

    @staticmethod
    def _module(view: CohortView, week: int | None) -> Module:
        roadmap = view.roadmap
        if week is None:
            module = view.current_module
            if module is None:
                raise InvalidInput(f"'{view.name}' has not started yet, so there is nothing to submit.")
            return module
        module = roadmap.module_for_week(week)
        if module is None:
            raise InvalidInput(f"'{roadmap.title}' has weeks 1-{roadmap.total_weeks}; there is no week {week}.")
        if not view.is_open(module):
            raise InvalidInput(f"{module.label} of '{view.name}' has not opened yet; you can submit once it opens.")
        return module

    async def record_review_message(
        self, submission_id: int, version: int, channel_id: int, message_id: int, *, attachment_url: str | None = None
    ) -> bool:
        """Remember where a version is reviewed (and where its file now lives); False if it was erased meanwhile."""
        where = {"review_channel_id": channel_id, "review_message_id": message_id}
        async with self._sessions.begin() as session:
            # The submission's row before its version's, the order an erasure locks them in (deleting the submission
            # deletes its versions): the other order deadlocked with an erasure on PostgreSQL.
            await session.execute(
                update(Submission)
                .where(Submission.id == submission_id, Submission.current_version == version)
                .values(**where)
            )
            stored = await rows_changed(
                session,
                update(SubmissionVersion)
                .where(SubmissionVersion.submission_id == submission_id, SubmissionVersion.version == version)
                .values(**where, **({"attachment_url": attachment_url} if attachment_url else {})),
            )
        return stored == 1

    async def decide(
        self,
        guild_id: int,
        submission_id: int,
        version: int,
        reviewer_id: int,
        decision: ReviewDecision,
        feedback: str | None = None,
    ) -> Decision:
        """Approve or send back one version, once; a second decision (a race) is refused."""
        feedback = (feedback or "").strip() or None
        if feedback is not None and len(feedback) > MAX_FEEDBACK:
            raise InvalidInput(f"Feedback can be at most {MAX_FEEDBACK} characters.")
        now = self._clock.now()
        async with self._sessions.begin() as session:
            # The learner's membership is locked first, as everywhere (then the submission): an approval adds to
            # its count, and a resubmission or an erasure holding it while waiting for the submission must not
            # meet a decision holding the submission while waiting for it.
            await session.execute(_LOCK_LEARNER, {"submission": submission_id})
            # The current version lives as long as its submission: no row, no submission.
            found = (await session.execute(_DECIDING, {"submission": submission_id})).first()
            if found is None:
                raise NotFound("That submission no longer exists.")
            submission, membership, cohort, row, existing, extension_days, assigned = found
            if cohort.guild_id != guild_id:
                raise NotFound("That submission no longer exists.")
            if submission.current_version != version:
                raise Conflict("This version was replaced by a newer one; review that one instead.")
            if existing is not None:
                raise AlreadyDecided(_already_decided(existing), existing.id)
            status = (
                SubmissionStatus.APPROVED if decision is ReviewDecision.APPROVED else SubmissionStatus.CHANGES_REQUESTED
            )
            # Plain statements, no unit of work: two flushes were a third of an Approve click's CPU.
            try:
                review_id = (await session.execute(_ADD_REVIEW, {
                    "submission_version_id": row.id, "reviewer_id": reviewer_id, "decision": decision,
                    "feedback": feedback, "decided_at": now,
                })).scalar_one()
            except IntegrityError:
                raise Conflict("Another moderator decided this one a moment ago.") from None
            await session.execute(_DECIDED, {"submission": submission.id, "decided": status, "at": now})
            if decision is ReviewDecision.APPROVED:
                # Kept for the board by approved checkpoints (after the decision is known to stand); in SQL, so
                # two approvals of one learner at once both count.
                await session.execute(_COUNT_APPROVAL, {"membership": membership.id})
            # The learner's lane: the tier check runs before the notice, both after earlier decisions.
            lane = learner_lane(guild_id, membership.user_id)
            debts: list[tuple[str, dict[str, Any], str]] = []
            if decision is ReviewDecision.APPROVED:
                event = CheckpointApproved(
                    guild_id, cohort.id, membership.id, membership.user_id, submission.week, submission.id, reviewer_id
                )
                debts.append((APPROVAL, asdict(event), lane))
            debts.append((DECISION_NOTICE, {"review_id": review_id}, lane))
            owed = await owe_many(session, self._clock, debts, guild_id=guild_id)
            card = await self._card_of(session, submission, row, extension_days, assigned)
            return Decision(card, decision, reviewer_id, feedback, now, guild_id, tuple(owed))

    async def queue(self, guild_id: int, cohort_name: str | None) -> list[QueueItem]:
        """Pending submissions of this server (or one cohort), oldest first."""
        query = (
            select(Submission, Cohort, Membership, SubmissionVersion)
            .join(Cohort, Cohort.id == Submission.cohort_id)
            .join(Membership, Membership.id == Submission.membership_id)
            .join(
                SubmissionVersion,
                (SubmissionVersion.submission_id == Submission.id)
                & (SubmissionVersion.version == Submission.current_version),
            )
            .where(Cohort.guild_id == guild_id, Submission.status == SubmissionStatus.PENDING)
            .order_by(SubmissionVersion.submitted_at, Submission.id)
            .limit(100)
        )
        async with self._sessions() as session:
            if cohort_name:
                cohort = await self._cohorts.find(session, guild_id, cohort_name)
                query = query.where(Cohort.id == cohort.id)
            rows = (await session.execute(query)).all()
        return [
            QueueItem(
                s.id, c.name, m.user_id, m.display_name, s.week, v.version, v.submitted_at, v.late,
                s.review_channel_id, s.review_message_id,
            )
            for s, c, m, v in rows
        ]

    async def extend(
        self, guild_id: int, cohort_name: str, user_id: int, week: int, days: int, granted_by: int
    ) -> datetime | None:
        """Move one learner's deadline for one week by `days` from the cohort's deadline; returns the new one."""
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise InvalidInput(f"An extension is 1 to {MAX_EXTENSION_DAYS} days.")
        async with self._sessions.begin() as session:
            membership, cohort = await self._enrolment.membership(
                session, guild_id, cohort_name, user_id, asker_id=granted_by, for_update=True
            )
            view = await self._cohorts.view(session, cohort, count_members=False)
            module = view.roadmap.module_for_week(week)
            if module is None:
                raise InvalidInput(
                    f"'{view.roadmap.title}' has weeks 1-{view.roadmap.total_weeks}; there is no week {week}."
                )
            extension = await session.scalar(
                select(Extension).where(Extension.membership_id == membership.id, Extension.week == module.week)
            )
            if extension is None:
                session.add(
                    Extension(
                        membership_id=membership.id,
                        week=module.week,
                        days=days,
                        granted_by=granted_by,
                        created_at=self._clock.now(),
                    )
                )
            else:
                extension.days = days
                extension.granted_by = granted_by
            await session.flush()
            return await _deadline(session, view, membership.id, module)


async def _deadline(session: AsyncSession, view: CohortView, membership_id: int, module: Module) -> datetime | None:
    days = await session.scalar(_EXTENSION_DAYS, {"membership": membership_id, "week": module.week})
    return view.deadline(module, days or 0)


def _card(
    submission_id: int,
    version: SubmissionVersion,
    cohort: Cohort,
    membership: Membership,
    module: Module,
    deadline: datetime | None,
) -> SubmissionCard:
    attachment = (
        AttachmentInfo(version.attachment_url, version.attachment_name or "file", version.attachment_size or 0,
                       version.attachment_type)
        if version.attachment_url
        else None
    )
    return SubmissionCard(
        submission_id=submission_id,
        version=version.version,
        cohort_id=cohort.id,
        cohort_name=cohort.name,
        user_id=membership.user_id,
        display_name=membership.display_name,
        module=module,
        link=version.link,
        notes=version.notes,
        attachment=attachment,
        late=version.late,
        submitted_at=version.submitted_at,
        deadline=deadline,
        review_channel_id=cohort.review_channel_id or cohort.channel_id,
        cohort_channel_id=cohort.channel_id,
    )


def _already_decided(review: Review) -> str:
    done = "approved" if review.decision is ReviewDecision.APPROVED else "requested changes on"
    return f"<@{review.reviewer_id}> already {done} this one."


def _clean_link(link: str | None) -> str | None:
    link = (link or "").strip()
    if not link:
        return None
    if len(link) > MAX_LINK:
        raise InvalidInput(f"The link is {len(link):,} characters; it can be at most {MAX_LINK:,}.")
    parsed = urlparse(link)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in link:
        raise InvalidInput("The link must be a web address starting with http:// or https://.")
    return link


def _clean_notes(notes: str | None) -> str | None:
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"Notes can be at most {MAX_NOTES:,} characters (yours are {len(notes):,}).")
    return notes or None
