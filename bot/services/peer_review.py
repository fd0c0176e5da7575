"""Peer review: a cohort's settings, assigning peers when a week closes, reviews and their edits, discarding one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.clock import Clock
from bot.db.changes import rows_changed
from bot.db.models import (
    Cohort,
    CohortStatus,
    Membership,
    MembershipStatus,
    PeerAssignment,
    PeerReview,
    PeerSettings,
    PeerState,
    Review,
    Submission,
    SubmissionVersion,
)
from bot.db.upsert import locked_row
from bot.errors import Conflict, Forbidden, InvalidInput, NotFound
from bot.roadmap import Module
from bot.services.catalog import RoadmapCatalog
from bot.services.cohorts import CohortService
from bot.services.ledger import cohort_subject, periods_recorded, record_sent_once
from bot.services.outbox import CHANNEL_LANE, Outbox, learner_lane, owe, owe_many
from bot.services.peer_assign import Given, Plan, Work, plan
from bot.services.peer_facts import Verdict
from bot.services.quotas import PEER_REVIEWS, take
from bot.shards import EVERYTHING, Ownership

MAX_REVIEWERS = 3
MIN_DUE_DAYS, MAX_DUE_DAYS = 1, 14
DEFAULT_DUE_DAYS = 3
MAX_COMMENT = 1000
RUBRIC_SIZE = 25
"""Requirements a form can list (a select offers at most 25 options)."""
INSERT_PAGE = 5000
"""Rows per INSERT statement: a 1,000-member cohort's week (3,000 assignments) is one statement."""

PEER_ASSIGNED = "peer_assigned"
"""Outbox: one DM to a reviewer listing the submissions just given to them (payload: assignment_ids)."""
PEER_REVIEWED = "peer_reviewed"
"""Outbox: tell the author about a review or its edit (payload: review_id, edited)."""
PEER_VERDICTS = "peer_verdicts"
"""Outbox: show the peer verdicts on the moderators' review message (payload: submission_id)."""
PEER_DISCARDED = "peer_discarded"
"""Outbox: tell the author a moderator removed a review (payload: the facts of the notice; the review is gone)."""
PEER_SHORT = "peer_short"
"""Outbox, and its ledger kind: tell the moderators once that a week had too few submitters (payload: the facts)."""
NOT_ENDED = (CohortStatus.ACTIVE, CohortStatus.PAUSED, CohortStatus.COMPLETED)


@dataclass(frozen=True)
class PeerConfig:
    cohort_name: str
    reviewers: int
    anonymous: bool
    due_days: int


@dataclass(frozen=True)
class OwnReview:
    verdicts: tuple[Verdict, ...]
    comment: str | None


@dataclass(frozen=True)
class Assignment:
    """One submission to review, as its reviewer sees it."""

    id: int
    guild_id: int
    cohort_name: str
    cohort_channel_id: int
    module: Module
    author_user_id: int
    author_name: str
    reviewer_user_id: int
    link: str | None
    attachment_url: str | None
    attachment_name: str | None
    state: PeerState
    due_at: datetime
    review: OwnReview | None
    """The reviewer's own review, when they gave one (the form opens with it, to edit)."""
    reviewer_left: bool
    """The reviewer is no longer a member: the next sweep passes the review on."""

    @property
    def rubric(self) -> tuple[str, ...]:
        return rubric_of(self.module)


@dataclass(frozen=True)
class Reviewed:
    edited: bool
    owed: tuple[int, ...]


@dataclass(frozen=True)
class AuthorNotice:
    """A peer review as its author hears of it: the reviewer named, or None in an anonymous cohort."""

    guild_id: int
    author_user_id: int
    cohort_channel_id: int
    cohort_name: str
    module: Module
    reviewer_name: str | None
    verdicts: tuple[Verdict, ...]
    comment: str | None
    edited: bool


@dataclass(frozen=True)
class SweepReport:
    assigned: int
    closed: int
    owed: tuple[int, ...]


def rubric_of(module: Module) -> tuple[str, ...]:
    """What a peer judges: the checkpoint's requirements, else the checkpoint as a whole."""
    return tuple(module.checkpoint.requirements[:RUBRIC_SIZE]) or (module.checkpoint.title,)


class PeerReviewService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        cohorts: CohortService,
        catalog: RoadmapCatalog,
        outbox: Outbox,
        *,
        ownership: Ownership = EVERYTHING,
    ) -> None:
        self._ownership = ownership
        self._sessions = sessions
        self._clock = clock
        self._cohorts = cohorts
        self._catalog = catalog
        self._outbox = outbox

    # /cohort peer-review

    async def configure(
        self, guild_id: int, cohort_name: str, reviewers: int, anonymous: bool | None, due_days: int | None, by: int
    ) -> PeerConfig:
        if not 0 <= reviewers <= MAX_REVIEWERS:
            raise InvalidInput(f"Peer reviewers per submission are 0 to {MAX_REVIEWERS} (0 turns peer review off).")
        if due_days is not None and not MIN_DUE_DAYS <= due_days <= MAX_DUE_DAYS:
            raise InvalidInput(f"Peers have {MIN_DUE_DAYS} to {MAX_DUE_DAYS} days to review; {due_days} is outside.")
        now = self._clock.now()
        async with self._sessions.begin() as session:
            cohort = await self._cohorts.find(session, guild_id, cohort_name, for_update=True)
            if reviewers and cohort.status not in NOT_ENDED:
                raise Conflict(f"'{cohort.name}' has ended, so peer review can't be turned on for it.")
            defaults = {
                "reviewers": 0, "anonymous": False, "due_days": DEFAULT_DUE_DAYS, "enabled_at": now,
                "updated_by": by, "updated_at": now,
            }
            settings = await locked_row(session, PeerSettings, {"cohort_id": cohort.id}, defaults)
            if reviewers and not settings.reviewers:
                settings.enabled_at = now  # weeks that closed while it was off are not assigned afterwards
            settings.reviewers = reviewers
            if anonymous is not None:
                settings.anonymous = anonymous
            if due_days is not None:
                settings.due_days = due_days
            settings.updated_by, settings.updated_at = by, now
            return PeerConfig(cohort.name, settings.reviewers, settings.anonymous, settings.due_days)

    # Assignment (the schedule's sweep)

    async def sweep(self) -> SweepReport:
        """Assign peers for every closed week of every cohort with peer review, pass on what lapsed or was left."""
        now = self._clock.now()
        async with self._sessions() as session:
            cohort_ids = (
                await session.scalars(
                    select(Cohort.id)
                    .join(PeerSettings, PeerSettings.cohort_id == Cohort.id)
                    .where(
                        PeerSettings.reviewers > 0, Cohort.status.in_(NOT_ENDED), self._ownership.where(Cohort.guild_id)
                    )
                    .order_by(Cohort.id)
                )
            ).all()
        assigned = closed = 0
        owed: list[int] = []
        for cohort_id in cohort_ids:
            async with self._sessions() as session:
                if (await self._plan(session, cohort_id, now, lock=False)).empty:
                    continue  # the usual minute: nothing to write, so no write lock taken
            async with self._sessions.begin() as session:
                # Decided again under the cohort's lock: a second sweep (another process) waits and finds it done.
                todo = await self._plan(session, cohort_id, now, lock=True)
                owed += await self._apply(session, cohort_id, todo, now)
                assigned, closed = assigned + len(todo.new), closed + len(todo.closed)
        if owed:
            await self._outbox.kick()
        return SweepReport(assigned, closed, tuple(owed))

    async def _plan(self, session: AsyncSession, cohort_id: int, now: datetime, *, lock: bool) -> Plan:
        query = select(Cohort, PeerSettings).join(PeerSettings, PeerSettings.cohort_id == Cohort.id)
        query = query.where(Cohort.id == cohort_id)
        row = (await session.execute(query.with_for_update(of=Cohort) if lock else query)).one_or_none()
        if row is None or not row[1].reviewers or row[0].status not in NOT_ENDED:
            return Plan()
        cohort, settings = row
        view = await self._cohorts.view(session, cohort)
        closed_weeks = [
            m.week for m in view.roadmap.modules
            if (due := view.deadline(m)) is not None and settings.enabled_at <= due <= now
        ]
        if not closed_weeks:
            return Plan()
        work = [
            Work(*r)
            for r in await session.execute(
                select(Submission.id, Submission.membership_id, Submission.week)
                .join(Membership, Membership.id == Submission.membership_id)
                .where(
                    Submission.cohort_id == cohort_id,
                    Submission.week.in_(closed_weeks),
                    Membership.status == MembershipStatus.ACTIVE,
                )
            )
        ]
        reviewer = aliased(Membership)
        given = [
            Given(a, s, author, reviewer_id, week, state, due, status == MembershipStatus.ACTIVE)
            for a, s, author, reviewer_id, week, state, due, status in await session.execute(
                select(
                    PeerAssignment.id, PeerAssignment.submission_id, Submission.membership_id,
                    PeerAssignment.reviewer_id, PeerAssignment.week, PeerAssignment.state, PeerAssignment.due_at,
                    reviewer.status,
                )
                .join(Submission, Submission.id == PeerAssignment.submission_id)
                .join(reviewer, reviewer.id == PeerAssignment.reviewer_id)
                .where(PeerAssignment.cohort_id == cohort_id)
            )
        ]
        told = await periods_recorded(session, PEER_SHORT, cohort_subject(cohort_id))
        weeks_told = [int(period.removeprefix("week-")) for period in told]
        return plan(cohort_id, settings.reviewers, work, given, now, weeks_told)

    async def _apply(self, session: AsyncSession, cohort_id: int, todo: Plan, now: datetime) -> list[int]:
        if todo.empty:
            return []
        cohort = await session.get_one(Cohort, cohort_id)
        settings = await session.get_one(PeerSettings, cohort_id)
        by_state: dict[PeerState, list[int]] = defaultdict(list)
        for assignment_id, state in todo.closed.items():
            by_state[state].append(assignment_id)
        for state, ids in by_state.items():
            await session.execute(
                update(PeerAssignment)
                .where(PeerAssignment.id.in_(ids), PeerAssignment.state == PeerState.OPEN)
                .values(state=state, closed_at=now)
            )
        owed: list[int] = []
        if todo.new:
            due = now + timedelta(days=settings.due_days)
            rows = [
                {
                    "cohort_id": cohort_id, "week": n.week, "submission_id": n.submission_id,
                    "reviewer_id": n.reviewer, "state": PeerState.OPEN, "assigned_at": now, "due_at": due,
                }
                for n in todo.new
            ]
            made = await session.execute(
                insert(PeerAssignment)
                .returning(PeerAssignment.id, PeerAssignment.reviewer_id)
                .execution_options(insertmanyvalues_page_size=INSERT_PAGE),
                rows,
            )
            per_reviewer: dict[int, list[int]] = defaultdict(list)
            for assignment_id, reviewer_id in made:
                per_reviewer[reviewer_id].append(assignment_id)
            users = dict(
                (
                    await session.execute(
                        select(Membership.id, Membership.user_id).where(Membership.id.in_(list(per_reviewer)))
                    )
                ).tuples().all()
            )
            # One DM per reviewer and pass, written with the assignments: a restart neither loses nor doubles it.
            debts = [
                (PEER_ASSIGNED, {"assignment_ids": sorted(ids)}, learner_lane(cohort.guild_id, users[reviewer_id]))
                for reviewer_id, ids in per_reviewer.items()
            ]
            owed += await owe_many(session, self._clock, debts, guild_id=cohort.guild_id)
        for week, short in todo.short.items():
            told_now = await record_sent_once(
                session, PEER_SHORT, cohort_subject(cohort_id), f"week-{week}", cohort_id=cohort_id, now=now
            )
            if told_now:
                payload = {
                    "cohort_id": cohort_id, "week": week, "reviewers": settings.reviewers, "short": len(short),
                }
                lane = f"{CHANNEL_LANE}{cohort.review_channel_id or cohort.channel_id}"
                message = owe(session, self._clock, PEER_SHORT, payload, lane, guild_id=cohort.guild_id)
                await session.flush()
                owed.append(message.id)
        return owed

    async def short_week(self, cohort_id: int, week: int) -> tuple[str, Module, int, int] | None:
        """For the moderators' notice: the cohort's name, the module, how many handed in, and where to tell."""
        async with self._sessions() as session:
            cohort = await session.get(Cohort, cohort_id)
            if cohort is None:
                return None
            roadmap, _ = await self._catalog.roadmap_of(session, cohort.roadmap_version_id)
            module = roadmap.module_for_week(week)
            submitters = await session.scalar(
                select(func.count())
                .select_from(Submission)
                .join(Membership, Membership.id == Submission.membership_id)
                .where(
                    Submission.cohort_id == cohort_id, Submission.week == week,
                    Membership.status == MembershipStatus.ACTIVE,
                )
            )
            channel = cohort.review_channel_id or cohort.channel_id
        return (cohort.name, module, submitters or 0, channel) if module else None

    # Reviewing

    async def assignment(self, assignment_id: int, user_id: int) -> Assignment:
        """The assignment behind a Review button, if this person may review it now."""
        now = self._clock.now()
        async with self._sessions() as session:
            facts = await self._facts(session, PeerAssignment.id == assignment_id)
            if not facts:
                raise NotFound(GONE)
            return _may_review(facts[0], user_id, now)

    async def review(
        self,
        assignment_id: int,
        user_id: int,
        met: Sequence[int],
        partly: Sequence[int],
        comment: str | None,
        *,
        editing: bool,
    ) -> Reviewed:
        """Give (or, before the deadline, edit) a review: each requirement met, partly or not yet, and a comment."""
        comment = (comment or "").strip() or None
        if comment is not None and len(comment) > MAX_COMMENT:
            raise InvalidInput(f"A comment can be at most {MAX_COMMENT:,} characters (yours is {len(comment):,}).")
        both = sorted(set(met) & set(partly))
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = await session.scalar(
                select(PeerAssignment).where(PeerAssignment.id == assignment_id).with_for_update()
            )
            facts = await self._facts(session, PeerAssignment.id == assignment_id)
            if row is None or not facts:
                raise NotFound(GONE)
            assignment = _may_review(facts[0], user_id, now)
            rubric = assignment.rubric
            if both:
                raise InvalidInput(
                    f"A requirement is either met or partly met, not both: “{rubric[both[0]]}”. "
                    "Choose one and send again."
                )
            existing = await session.scalar(select(PeerReview).where(PeerReview.assignment_id == assignment_id))
            if existing is not None and not editing:
                raise Conflict(
                    "You have already reviewed this submission. Press Review again to edit your review "
                    f"(until <t:{int(assignment.due_at.timestamp())}:f>)."
                )
            # Each review or edit tells the author and edits the moderators' message: a reviewer may not flood them.
            await take(session, PEER_REVIEWS, now, assignment.guild_id, user_id)
            verdicts = [
                Verdict.MET if i in met else Verdict.PARTLY if i in partly else Verdict.NOT_YET
                for i in range(len(rubric))
            ]
            version = await session.scalar(select(Submission.current_version).where(Submission.id == row.submission_id))
            assert version is not None  # the assignment's submission, locked with it
            if existing is None:
                existing = PeerReview(
                    assignment_id=assignment_id, version=version, verdicts=[v.value for v in verdicts],
                    comment=comment, submitted_at=now,
                )
                session.add(existing)
                row.state, row.closed_at = PeerState.DONE, now
            else:
                existing.version, existing.verdicts, existing.comment = version, [v.value for v in verdicts], comment
                existing.edited_at = now
            await session.flush()
            edited = existing.edited_at is not None
            owed = [
                owe(
                    session, self._clock, PEER_REVIEWED, {"review_id": existing.id, "edited": edited},
                    learner_lane(assignment.guild_id, assignment.author_user_id), guild_id=assignment.guild_id,
                ),
                await self._owe_verdicts(session, row.submission_id),
            ]
            await session.flush()
            return Reviewed(edited, tuple(o.id for o in owed))

    async def queue(self, guild_id: int, user_id: int) -> list[Assignment]:
        """The reviews this person still owes in this server, soonest deadline first."""
        now = self._clock.now()
        async with self._sessions() as session:
            items = await self._facts(
                session,
                and_(
                    PeerAssignment.state == PeerState.OPEN,
                    PeerAssignment.due_at >= now,
                    PeerAssignment.reviewer_id.in_(
                        select(Membership.id).where(Membership.guild_id == guild_id, Membership.user_id == user_id)
                    ),
                ),
            )
        return sorted(items, key=lambda a: (a.due_at, a.id))

    async def assigned(self, assignment_ids: Sequence[int]) -> list[Assignment]:
        """Of these assignments, the ones still open (for the reviewer's DM)."""
        async with self._sessions() as session:
            items = await self._facts(
                session, and_(PeerAssignment.id.in_(list(assignment_ids)), PeerAssignment.state == PeerState.OPEN)
            )
        return sorted(items, key=lambda a: a.id)

    async def notice(self, review_id: int, edited: bool) -> AuthorNotice | None:
        """A review as its author hears of it; None when it was discarded or erased meanwhile."""
        async with self._sessions() as session:
            return await self._notice(session, review_id, edited)

    async def _notice(self, session: AsyncSession, review_id: int, edited: bool) -> AuthorNotice | None:
        row = (
            await session.execute(
                select(PeerReview, PeerAssignment.id, PeerSettings.anonymous)
                .join(PeerAssignment, PeerAssignment.id == PeerReview.assignment_id)
                .outerjoin(PeerSettings, PeerSettings.cohort_id == PeerAssignment.cohort_id)
                .where(PeerReview.id == review_id)
            )
        ).one_or_none()
        if row is None:
            return None
        review, assignment_id, anonymous = row
        [facts] = await self._facts(session, PeerAssignment.id == assignment_id)
        reviewer = await session.scalar(
            select(Membership.display_name)
            .join(PeerAssignment, PeerAssignment.reviewer_id == Membership.id)
            .where(PeerAssignment.id == assignment_id)
        )
        return AuthorNotice(
            facts.guild_id, facts.author_user_id, facts.cohort_channel_id, facts.cohort_name, facts.module,
            None if anonymous else reviewer, tuple(Verdict(v) for v in review.verdicts), review.comment, edited,
        )

    # Moderators

    async def discard(self, guild_id: int, review_id: int, by: int) -> tuple[int, ...]:
        """Remove a peer review (the moderator's call); the author is told, the review message updated."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    select(PeerReview, PeerAssignment)
                    .join(PeerAssignment, PeerAssignment.id == PeerReview.assignment_id)
                    .join(Cohort, Cohort.id == PeerAssignment.cohort_id)
                    .where(PeerReview.id == review_id, Cohort.guild_id == guild_id)
                    .with_for_update(of=PeerAssignment)
                )
            ).one_or_none()
            if row is None:
                raise NotFound(
                    f"There is no peer review #{review_id} on this server (it may have been removed already). "
                    "Its number is shown on the submission's review message."
                )
            review, assignment = row
            notice = await self._notice(session, review_id, edited=False)
            await session.delete(review)
            assignment.state, assignment.closed_at = PeerState.DISCARDED, now
            owed = []
            if notice is not None:
                payload = {
                    "guild_id": notice.guild_id, "user_id": notice.author_user_id,
                    "channel_id": notice.cohort_channel_id, "cohort_name": notice.cohort_name,
                    "label": notice.module.label, "reviewer_name": notice.reviewer_name, "by": by,
                }
                owed.append(
                    owe(
                        session, self._clock, PEER_DISCARDED, payload, learner_lane(guild_id, notice.author_user_id),
                        guild_id=guild_id,
                    )
                )
            owed.append(await self._owe_verdicts(session, assignment.submission_id))
            await session.flush()
            return tuple(o.id for o in owed)

    async def review_message_of(self, submission_id: int) -> tuple[int, int | None] | None:
        """The version its review message shows and that version's decision, if any; None when it was erased."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Submission.current_version, Review.id)
                    .join(
                        SubmissionVersion,
                        (SubmissionVersion.submission_id == Submission.id)
                        & (SubmissionVersion.version == Submission.current_version),
                    )
                    .outerjoin(Review, Review.submission_version_id == SubmissionVersion.id)
                    .where(Submission.id == submission_id)
                )
            ).one_or_none()
        return (row[0], row[1]) if row else None

    async def _owe_verdicts(self, session: AsyncSession, submission_id: int) -> Any:
        cohort = await session.scalar(
            select(Cohort).join(Submission, Submission.cohort_id == Cohort.id).where(Submission.id == submission_id)
        )
        assert cohort is not None
        lane = f"{CHANNEL_LANE}{cohort.review_channel_id or cohort.channel_id}"
        payload = {"submission_id": submission_id}
        return owe(session, self._clock, PEER_VERDICTS, payload, lane, guild_id=cohort.guild_id)

    async def _facts(self, session: AsyncSession, where: ColumnElement[bool]) -> list[Assignment]:
        author, reviewer = aliased(Membership), aliased(Membership)
        rows = await session.execute(
            select(PeerAssignment, Cohort, author, reviewer.user_id, reviewer.status, SubmissionVersion, PeerReview)
            .join(Submission, Submission.id == PeerAssignment.submission_id)
            .join(Cohort, Cohort.id == PeerAssignment.cohort_id)
            .join(author, author.id == Submission.membership_id)
            .join(reviewer, reviewer.id == PeerAssignment.reviewer_id)
            .join(
                SubmissionVersion,
                (SubmissionVersion.submission_id == Submission.id)
                & (SubmissionVersion.version == Submission.current_version),
            )
            .outerjoin(PeerReview, PeerReview.assignment_id == PeerAssignment.id)
            .where(where)
        )
        result = []
        for a, cohort, who, reviewer_user_id, reviewer_status, version, review in rows:
            roadmap, _ = await self._catalog.roadmap_of(session, cohort.roadmap_version_id)
            module = roadmap.module_for_week(a.week)
            if module is None:
                continue
            own = OwnReview(tuple(Verdict(v) for v in review.verdicts), review.comment) if review else None
            result.append(
                Assignment(
                    a.id, cohort.guild_id, cohort.name, cohort.channel_id, module, who.user_id, who.display_name,
                    reviewer_user_id, version.link, version.attachment_url, version.attachment_name, a.state,
                    a.due_at, own, reviewer_status != MembershipStatus.ACTIVE,
                )
            )
        return result


async def forget_reviewer(session: AsyncSession, clock: Clock, membership_ids: Sequence[int]) -> int:
    """Erasure: delete the reviews these memberships gave and withdraw their assignments (which stay, anonymous with
    the membership, so pairs and counts hold); the review messages they were on are owed an edit. Returns how many
    reviews went."""
    if not membership_ids:
        return 0
    theirs = select(PeerAssignment.id).where(PeerAssignment.reviewer_id.in_(membership_ids))
    touched = (
        await session.execute(
            select(Submission.id, Cohort.review_channel_id, Cohort.channel_id, Cohort.guild_id)
            .join(Cohort, Cohort.id == Submission.cohort_id)
            .join(PeerAssignment, PeerAssignment.submission_id == Submission.id)
            .join(PeerReview, PeerReview.assignment_id == PeerAssignment.id)
            .where(PeerAssignment.reviewer_id.in_(membership_ids), Submission.membership_id.not_in(membership_ids))
        )
    ).all()
    removed = await rows_changed(session, delete(PeerReview).where(PeerReview.assignment_id.in_(theirs)))
    await session.execute(
        update(PeerAssignment)
        .where(
            PeerAssignment.reviewer_id.in_(membership_ids),
            PeerAssignment.state.in_((PeerState.OPEN, PeerState.DONE)),
        )
        .values(state=PeerState.WITHDRAWN, closed_at=clock.now())
    )
    for submission_id, review_channel_id, channel_id, guild_id in touched:
        lane = f"{CHANNEL_LANE}{review_channel_id or channel_id}"
        owe(session, clock, PEER_VERDICTS, {"submission_id": submission_id}, lane, guild_id=guild_id)
    return removed


GONE = "That peer review no longer exists: the submission was withdrawn or erased."


def _may_review(assignment: Assignment, user_id: int, now: datetime) -> Assignment:
    """Refuse, each with its own sentence, anyone but the assigned peer and anything past its deadline."""
    if assignment.author_user_id == user_id:
        raise Forbidden("That is your own checkpoint: your peers review it, not you.")
    if assignment.reviewer_user_id != user_id:
        raise Forbidden("This review was assigned to someone else. The reviews waiting for you are in /peer queue.")
    if assignment.state is PeerState.DISCARDED:
        raise Conflict("A moderator removed your review of this submission, so it can't be reviewed again.")
    if assignment.state is PeerState.WITHDRAWN or (assignment.state is PeerState.OPEN and assignment.reviewer_left):
        # Refused from the moment they leave, not from the sweep that passes the review on a minute later.
        raise Conflict("You left this cohort, so this review is passed on to another peer.")
    if assignment.state is PeerState.MISSED or assignment.due_at < now:
        raise Conflict(
            f"The deadline for this review passed <t:{int(assignment.due_at.timestamp())}:R>; "
            "it can no longer be given or edited."
        )
    return assignment
