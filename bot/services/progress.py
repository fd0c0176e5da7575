"""Check-ins, a learner's progress in a cohort, and the cohort leaderboard.

Every read here costs a fixed number of queries whatever the history holds: a learner's check-ins,
submissions and awards are each fetched in one query, never one per week or per member.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Date,
    Row,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.columns import CHECK_IN, COHORT, EXTENSION, MEMBER, SETTINGS, SUBMISSION, TIER_AWARD, VERSION
from bot.db.models import (
    AwardStatus,
    CheckIn,
    Cohort,
    CohortStatus,
    LearnerSettings,
    Membership,
    MembershipStatus,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
)
from bot.errors import InvalidInput, NotFound
from bot.roadmap import Module, Roadmap, Tier
from bot.services.activity import active_days, activity_of, member_daily_streak
from bot.services.boards import approved_board, reviews_board, streak_board
from bot.services.cohorts import CohortService, CohortView
from bot.services.enrolment import EnrolmentService
from bot.services.peer_facts import TALLY_KINDS, PeerTally, tallies_from, tally_branches
from bot.services.quotas import CHECK_INS, refuse_if_spent
from bot.services.streak_book import Member, last_pause_change, refresh
from bot.services.streaks import (
    CheckpointRecord,
    PausedSpan,
    Streak,
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
    REVIEWS = "reviews"
    """Peer reviews given."""


PAUSE_SETTLES = timedelta(minutes=10)
"""How long after a pause began or ended a streak board may still recompute every member: the correction comes at the
schedule's next minute (StreakBook.sweep), the rest is a margin for a slow one."""


def board_recomputes(view: CohortView, by: RankBy) -> bool:
    """Whether this board may recompute every member now: a streak board while its cohort is paused and for a while
    after a pause began or ended (every kept row stops holding then)."""
    return by is RankBy.STREAK and last_pause_change(list(view.pauses)) > view.now - PAUSE_SETTLES


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
    peer: PeerTally = field(default_factory=PeerTally)
    """Peer reviews given and received (cohorts with peer review)."""

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


# /progress's and /checkin's own statements, built once (building one and its cache key costs more than running
# it here), of the tables' columns (bot/db/columns.py).
_MEMBERSHIP: BindParameter[int] = bindparam("membership")
# Everything /progress reads of one membership and its learner, in one statement (eight round trips to PostgreSQL
# otherwise): each row names its kind. Columns: kind, week, number, other number, status, text, error, moment, day;
# statuses are read as text (two enums share the column) and the first branch types the moment and the day. The
# peer tallies' rows carry their value as the number and the member as the other.
_HANDED_IN, _LOGGED, _EXTENDED, _AWARDED, _OWN_ZONE = "handed in", "logged", "extended", "awarded", "own zone"
_MINE = union_all(
    select(literal(_HANDED_IN), SUBMISSION.week, VERSION.version, SUBMISSION.current_version,
           type_coerce(SUBMISSION.status, String), null(), null(), VERSION.submitted_at, type_coerce(null(), Date))
    .join_from(Submission.__table__, SubmissionVersion.__table__, VERSION.submission_id == SUBMISSION.id)
    .where(SUBMISSION.membership_id == _MEMBERSHIP),
    select(literal(_LOGGED), null(), func.coalesce(func.sum(CHECK_IN.minutes), 0), null(), null(), null(), null(),
           null(), CHECK_IN.local_date)
    .where(CHECK_IN.membership_id == _MEMBERSHIP)
    .group_by(CHECK_IN.local_date),
    select(literal(_EXTENDED), EXTENSION.week, EXTENSION.days, null(), null(), null(), null(), null(), null())
    .where(EXTENSION.membership_id == _MEMBERSHIP),
    select(literal(_AWARDED), null(), null(), null(), type_coerce(TIER_AWARD.status, String), TIER_AWARD.tier_key,
           TIER_AWARD.last_error, null(), null())
    .where(TIER_AWARD.membership_id == _MEMBERSHIP),
    select(literal(_OWN_ZONE), null(), null(), null(), null(), SETTINGS.timezone, null(), null(), null())
    .where(SETTINGS.guild_id == bindparam("guild"), SETTINGS.user_id == bindparam("user")),
    *(
        select(tally.c[0], null(), tally.c[2], tally.c[1], null(), null(), null(), null(), null())
        for tally in (branch.subquery() for branch in tally_branches(lambda member: member == _MEMBERSHIP))
    ),
)


@dataclass
class _Mine:
    """One membership's rows of `_MINE`, sorted by kind."""

    versions: list[tuple[int, SubmissionStatus, int, int, datetime]] = field(default_factory=list)
    """(week, status, version, current version, handed in at) of every version handed in."""
    logged: list[tuple[date, int]] = field(default_factory=list)
    """(local day, minutes) of each day with a check-in."""
    extensions: dict[int, int] = field(default_factory=dict)
    awards: dict[str, tuple[AwardStatus, str | None]] = field(default_factory=dict)
    """Tier key → (status, last error)."""
    own_zone: str | None = None
    """The zone the learner set on this server, if any."""
    peer: list[tuple[str, int, int]] = field(default_factory=list)
    """(kind, member, value) of the peer tallies (peer_facts.tally_branches)."""

    @classmethod
    def of(cls, rows: Iterable[Row[Any]]) -> _Mine:
        mine = cls()
        for kind, week, number, other, status, text, error, at, day in rows:
            if kind == _HANDED_IN:
                mine.versions.append((week, SubmissionStatus(status), number, other, at))
            elif kind == _LOGGED:
                mine.logged.append((day, number))
            elif kind == _EXTENDED:
                mine.extensions[week] = number
            elif kind == _AWARDED:
                mine.awards[text] = (AwardStatus(status), error)
            elif kind in TALLY_KINDS:
                mine.peer.append((kind, other, number))
            else:
                mine.own_zone = text
        return mine


_CHECKING_IN = (
    select(MEMBER.id.label("membership_id"), COHORT.id.label("cohort_id"), COHORT.name, COHORT.status,
           COHORT.timezone, COHORT.created_at)
    .join_from(Membership.__table__, Cohort.__table__, COHORT.id == MEMBER.cohort_id)
    .where(MEMBER.guild_id == bindparam("guild_id"), MEMBER.user_id == bindparam("user_id"),
           MEMBER.status == MembershipStatus.ACTIVE)
    .order_by(MEMBER.id)
    .with_for_update(of=Membership.__table__)
)
_ZONE_AND_RECENT_CHECK_INS = (
    select(SETTINGS.timezone, CHECK_IN.created_at)
    .select_from(select(literal(1).label("one")).subquery("one_row"))
    .outerjoin(cast(Table, LearnerSettings.__table__),
               and_(SETTINGS.guild_id == bindparam("guild_id"), SETTINGS.user_id == bindparam("user_id")))
    .outerjoin(cast(Table, CheckIn.__table__),
               and_(CHECK_IN.membership_id == bindparam("membership_id"), CHECK_IN.created_at > bindparam("since")))
    .order_by(CHECK_IN.created_at)
)
"""The learner's own zone beside each of their first membership's check-ins inside the quota's window (one row with
no check-in when there is none): one round trip for both."""
_LOG_CHECK_IN = insert(cast(Table, CheckIn.__table__))


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
            # Locked, in id order like every lock on several memberships (so two never deadlock):
            # an erasure or a /leave of the same learner comes wholly before or after.
            rows = sorted((await session.execute(_CHECKING_IN, {"guild_id": guild_id, "user_id": user_id})).all(),
                          key=lambda row: row.created_at)
            if not rows:
                raise NotFound("You are not in any cohort on this server. /join one first, then check in.")
            # Read once the memberships are locked, not with them: PostgreSQL would give the zone as it was when the
            # lock was asked for, and a zone change holds the lock (streak_book.zone_changed).
            # One /checkin writes a row for each membership: the first one's rows count the calls.
            spent = (await session.execute(_ZONE_AND_RECENT_CHECK_INS, {
                "guild_id": guild_id, "user_id": user_id, "membership_id": rows[0].membership_id,
                "since": now - CHECK_INS.window,
            })).all()
            own = spent[0].timezone
            members = [Member(row.membership_id, row.cohort_id, own or row.timezone) for row in rows]
            refuse_if_spent(CHECK_INS, [use.created_at for use in spent if use.created_at is not None])
            activity = await activity_of(session, [m.membership_id for m in members])
            first_today = {}
            logged = []
            for m in members:
                day = local_day(now, m.zone)
                first_today[m.membership_id] = day not in activity.days[m.membership_id]
                activity.days[m.membership_id].add(day)
                logged.append({"membership_id": m.membership_id, "local_date": day, "minutes": minutes, "note": note,
                               "created_at": now})
            await session.execute(_LOG_CHECK_IN, logged)
            streaks = await refresh(session, members, now, activity)
        return [
            CheckInResult(
                row.name,
                local_day(now, m.zone),
                m.zone,
                minutes,
                first_today[m.membership_id],
                streaks[m.membership_id],
                row.status is CohortStatus.PAUSED,
            )
            for m, row in zip(members, rows, strict=True)
        ]

    # /progress

    async def progress(self, guild_id: int, user_id: int, cohort_name: str | None, *, asker_id: int) -> Progress:
        """Where a member stands in a cohort: each checkpoint, both streaks, tiers and the next deadline."""
        now = self._clock.now()
        async with self._sessions() as session:
            membership, cohort = await self._enrolment.membership(
                session, guild_id, cohort_name, user_id, asker_id=asker_id
            )
            view = await self._cohorts.view(session, cohort, count_members=False)
            mine = _Mine.of(
                await session.execute(_MINE, {"membership": membership.id, "guild": guild_id, "user": user_id})
            )
        peer = tallies_from(mine.peer, [membership.id])[membership.id]
        zone = mine.own_zone or cohort.timezone
        today = local_day(now, zone)
        # Every version handed in is activity; the current one of each week is what stands.
        versions, logged = mine.versions, mine.logged
        days = {d for d, _ in logged}
        submitted = [at for *_, at in versions]
        study = {day: 0 for day in active_days((), submitted, zone)}
        study.update((d, int(m)) for d, m in logged)
        first = view.openings.get(1)
        by_week = {week: (status, at) for week, status, version, current, at in versions if version == current}
        checkpoints = checkpoint_states(view, by_week, mine.extensions, now)
        approved = {c.module.week for c in checkpoints if c.state is WeekState.APPROVED}
        return Progress(
            view=view,
            user_id=user_id,
            display_name=membership.display_name,
            zone=zone,
            today=today,
            checkpoints=tuple(checkpoints),
            daily=member_daily_streak(days, submitted, view.pauses, zone, now),
            weekly=member_weekly_streak(checkpoints, by_week, now, peer.missed_weeks),
            checked_in_today=today in days,
            check_in_days=len(days),
            minutes_logged=sum(int(m) for _, m in logged),
            tiers=tuple(_tier_progress(view.roadmap, approved, mine.awards)),
            next_deadline=_next_deadline(checkpoints, now),
            start=local_day(first, zone) if first is not None else cohort.start_date,
            study=study,
            paused_days=paused_dates(paused_spans(view.pauses, zone), today),
            peer=peer,
        )

    # /leaderboard

    async def leaderboard(self, view: CohortView, user_id: int, by: RankBy) -> Leaderboard:
        """Top learners of a cohort by current daily streak or by approved checkpoints, and the caller's rank."""
        async with self._sessions() as session:
            if by is RankBy.APPROVED:
                board = await approved_board(session, view.id, user_id, LEADERBOARD_SIZE)
            elif by is RankBy.REVIEWS:
                board = await reviews_board(session, view.id, user_id, LEADERBOARD_SIZE)
            else:
                board = await streak_board(session, view.id, view.cohort.timezone, list(view.pauses), user_id,
                                           self._clock.now(), LEADERBOARD_SIZE)
        ranked = sorted(board.candidates, key=lambda e: (-e.value, -e.detail, e.display_name.casefold()))
        # Equal scores share the rank of the first of them.
        top: list[Standing] = []
        rank, previous = 0, None
        for position, entry in enumerate(ranked[:LEADERBOARD_SIZE], start=1):
            if (entry.value, entry.detail) != previous:
                rank, previous = position, (entry.value, entry.detail)
            if entry.value > 0:
                top.append(Standing(rank, entry.user_id, entry.display_name, entry.value, entry.detail))
        mine = None
        if board.mine is not None:
            listed = next((s for s in top if s.user_id == user_id), None)
            mine = listed or Standing(board.ahead + 1, user_id, board.mine.display_name, board.mine.value,
                                      board.mine.detail)
        return Leaderboard(view, by, tuple(top), mine, view.active_members)


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


def member_weekly_streak(
    checkpoints: list[CheckpointProgress],
    by_week: dict[int, tuple[SubmissionStatus, datetime]],
    now: datetime,
    peer_missed: frozenset[int] = frozenset(),
) -> Streak:
    """One learner's weekly streak from their checkpoint states, what stands for each week, and the weeks in which
    they let a peer review lapse."""
    records = [
        CheckpointRecord(c.due, *handed_in(by_week.get(c.module.week)), peer_missed=c.module.week in peer_missed)
        for c in checkpoints
    ]
    return weekly_streak(records, now)


def handed_in(entry: tuple[SubmissionStatus, datetime] | None) -> tuple[datetime | None, bool]:
    if entry is None:
        return None, False
    status, at = entry
    return at, status is SubmissionStatus.CHANGES_REQUESTED


def _tier_progress(
    roadmap: Roadmap, approved: set[int], awards: dict[str, tuple[AwardStatus, str | None]]
) -> list[TierProgress]:
    result = []
    for tier in roadmap.tiers:
        required = roadmap.tier_modules(tier)
        status, error = awards.get(tier.key, (None, None))
        result.append(
            TierProgress(
                tier,
                required,
                tuple(m for m in required if m.week not in approved),
                status,
                error if status is AwardStatus.PENDING else None,
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
