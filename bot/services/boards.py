"""The leaderboards' reads: a cohort's top and one member's place, by indexed queries whatever the cohort's size.

No board brings a row per member into Python: the top comes from the database in rank order (every member
tied with the last place included, since names break ties and SQL cannot casefold them), and the caller's place
is a count of the members ahead. Kept streaks that no longer hold (streak_book.py) are the exception: those few
members, found along indexes too, are recomputed from their history and merged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from bot.db.models import (
    DailyStreak,
    LearnerSettings,
    Membership,
    MembershipStatus,
    PeerAssignment,
    PeerReview,
)
from bot.db.types import UTCDateTime
from bot.services.activity import Pauses
from bot.services.streak_book import Member, holds, last_pause_change, recompute, stale_by_day, stale_by_pause
from bot.services.streaks import current_of, local_day, paused_spans


@dataclass(frozen=True)
class Entry:
    """One member as a board ranks them: by `value`, then `detail`, then name."""

    user_id: int
    display_name: str
    value: int
    detail: int


@dataclass(frozen=True)
class Board:
    candidates: list[Entry]
    """Every member who may be in the top `size` (value above 0), unordered: at least `size` of them if there are."""
    mine: Entry | None
    """The caller, when an active member."""
    ahead: int
    """How many members rank strictly ahead of the caller (0 when not a member)."""


_SETTINGS = (LearnerSettings.guild_id == Membership.guild_id) & (LearnerSettings.user_id == Membership.user_id)

# The streak board's statements, built once (their parameters below): a call only binds values.
_COHORT = bindparam("cohort_id", type_=BigInteger)
_USER = bindparam("user_id", type_=BigInteger)
_NOW = bindparam("now", type_=UTCDateTime())
_ZONE = bindparam("cohort_zone", type_=String)
_CHANGED = bindparam("changed", type_=UTCDateTime())
_HOLDING = holds(_NOW, _CHANGED)
_VALUE = bindparam("value", type_=Integer)
_DETAIL = bindparam("detail", type_=Integer)

_MEMBER_COLUMNS = (Membership.id, Membership.user_id, Membership.display_name,
                   func.coalesce(LearnerSettings.timezone, _ZONE), DailyStreak.membership_id.is_not(None) & _HOLDING,
                   DailyStreak.run, DailyStreak.best, DailyStreak.alive_until)
_STALE = (
    select(*_MEMBER_COLUMNS).select_from(DailyStreak)
    .join(Membership, Membership.id == DailyStreak.membership_id)
    .outerjoin(LearnerSettings, _SETTINGS)
    .where(DailyStreak.cohort_id == _COHORT, Membership.status == MembershipStatus.ACTIVE)
)
# The members whose kept row does not hold (rare but for a paused cohort), each kind along its index (one OR would
# read every row on SQLite), and the caller (with a row or not); a member may come twice.
_NOT_KEPT = union_all(
    _STALE.where(stale_by_day(_NOW)),
    _STALE.where(stale_by_pause(_CHANGED)),
    select(*_MEMBER_COLUMNS)
    .outerjoin(DailyStreak, DailyStreak.membership_id == Membership.id)
    .outerjoin(LearnerSettings, _SETTINGS)
    .where(Membership.cohort_id == _COHORT, Membership.user_id == _USER, Membership.status == MembershipStatus.ACTIVE),
)
_KEPT = (
    select(Membership.user_id, Membership.display_name, DailyStreak.run, DailyStreak.best)
    .select_from(DailyStreak)
    .join(Membership, Membership.id == DailyStreak.membership_id)
    .where(DailyStreak.cohort_id == _COHORT, Membership.status == MembershipStatus.ACTIVE, _HOLDING)
)
_ALIVE = DailyStreak.alive_until > _NOW
_SIZE = bindparam("size", type_=Integer)


def _last_place(column: InstrumentedAttribute[int]) -> ColumnElement[int]:
    """`column` of the `size`-th current streak in board order (0 when fewer hold: every one of them is in)."""
    walk = _KEPT.where(_ALIVE).with_only_columns(column).order_by(DailyStreak.run.desc(), DailyStreak.best.desc())
    return func.coalesce(walk.offset(_SIZE - 1).limit(1).scalar_subquery(), 0)


_LAST_RUN, _LAST_BEST = _last_place(DailyStreak.run), _last_place(DailyStreak.best)
# The top: every current streak at or above the last place (its ties included, since names break ties and SQL cannot
# casefold them), found by walking the (cohort, run, best) index down from the top and stopping there. A 1,000-member
# board's top takes 0.3 ms of SQLite and 0.9 of PostgreSQL (about what a 10-member one does), against 1.4 and 1.6 for
# rank() over every current streak. PostgreSQL walks it once it has statistics for `daily_streaks` (autovacuum's
# ANALYZE); without any it guesses the table tiny and sorts the cohort.
_TOP = _KEPT.where(
    _ALIVE, DailyStreak.run >= _LAST_RUN, or_(DailyStreak.run > _LAST_RUN, DailyStreak.best >= _LAST_BEST)
)
_AHEAD_OF_A_RUN = select(func.count()).select_from(_KEPT.where(
    _ALIVE, or_(DailyStreak.run > _VALUE, and_(DailyStreak.run == _VALUE, DailyStreak.best > _DETAIL))
).subquery())
# Without a current streak: every current streak is ahead, and a better best among those at 0.
_AHEAD_OF_NONE = select(func.count()).select_from(_KEPT.where(or_(_ALIVE, DailyStreak.best > _DETAIL)).subquery())


async def streak_board(
    session: AsyncSession, cohort_id: int, cohort_zone: str, pauses: Pauses, user_id: int, now: datetime, size: int
) -> Board:
    """By current daily streak, then best: kept rows that hold, plus the members whose row does not, recomputed."""
    params = {"cohort_id": cohort_id, "cohort_zone": cohort_zone, "now": now, "changed": last_pause_change(pauses),
              "user_id": user_id}
    found = list({row[0]: row for row in await session.execute(_NOT_KEPT, params)}.values())
    stale = [row for row in found if not row[4]]
    runs = await recompute(session, [Member(row[0], cohort_id, row[3]) for row in stale], {cohort_id: pauses}, now)
    entries = []
    for membership_id, member, name, zone, *_ in stale:
        today = local_day(now, zone)
        streak = current_of(runs[membership_id], paused_spans(pauses, zone), today)
        entries.append(Entry(member, name, streak.current, streak.best))
    mine = next((e for e in entries if e.user_id == user_id), None)
    for _, member, name, _, kept, run, best, alive_until in found:
        if kept and member == user_id:
            mine = Entry(member, name, run if alive_until is not None and alive_until > now else 0, best)

    top = (await session.execute(_TOP, params | {"size": size})).all()
    candidates = [Entry(*row) for row in top] + [e for e in entries if e.value > 0]
    if mine is None:
        return Board(candidates, None, 0)
    ahead_of = _AHEAD_OF_A_RUN if mine.value > 0 else _AHEAD_OF_NONE
    ahead = await session.scalar(ahead_of, params | {"value": mine.value, "detail": mine.detail}) or 0
    ahead += sum(1 for e in entries if (e.value, e.detail) > (mine.value, mine.detail))
    return Board(candidates, mine, ahead)


def _ranked(things: Subquery) -> Select[Any]:
    """How many of `things` (one row per thing, naming its `member`) each active member has, ranked: the top `size`
    (every member tied with the last place shares a rank of at most `size`) and the caller."""
    # Counted along the index first (one group per member), then each group joined to its member: a lookup per
    # member rather than per thing.
    per_member = select(things.c.member, func.count().label("n")).group_by(things.c.member).subquery()
    counts = (
        select(Membership.user_id, Membership.display_name, per_member.c.n)
        .join(Membership, Membership.id == per_member.c.member)
        .where(Membership.status == MembershipStatus.ACTIVE)
        .subquery()
    )
    # rank() is 1 + those with more.
    ranked = select(
        counts, func.rank().over(order_by=counts.c.n.desc()).label("place"), func.count().over().label("with_any")
    ).subquery()
    return select(ranked).where(or_(ranked.c.place <= bindparam("size", type_=Integer), ranked.c.user_id == _USER))


# By peer reviews given, counted per reviewer.
_REVIEWS_GIVEN = _ranked(
    select(PeerAssignment.reviewer_id.label("member"))
    .join(PeerReview, PeerReview.assignment_id == PeerAssignment.id)
    .where(PeerAssignment.cohort_id == _COHORT)
    .subquery()
)
_NAME = select(Membership.display_name).where(
    Membership.cohort_id == _COHORT, Membership.user_id == _USER, Membership.status == MembershipStatus.ACTIVE
)

# By approved checkpoints, as each membership keeps them: along the (cohort, status, approved) index, the top in
# order (every member tied with the last place included) and the caller with a count of those ahead.
_IN_COHORT = (Membership.cohort_id == _COHORT) & (Membership.status == MembershipStatus.ACTIVE)
_APPROVED_LAST = (
    select(Membership.approved).where(_IN_COHORT, Membership.approved > 0)
    .order_by(Membership.approved.desc()).offset(bindparam("last_place", type_=Integer)).limit(1)
    .scalar_subquery()
)
_APPROVED_TOP = select(Membership.user_id, Membership.display_name, Membership.approved).where(
    _IN_COHORT, Membership.approved > 0, or_(_APPROVED_LAST.is_(None), Membership.approved >= _APPROVED_LAST)
)
_AHEAD = aliased(Membership)
_APPROVED_MINE = select(
    Membership.display_name,
    Membership.approved,
    select(func.count()).select_from(_AHEAD).where(
        _AHEAD.cohort_id == Membership.cohort_id, _AHEAD.status == MembershipStatus.ACTIVE,
        _AHEAD.approved > Membership.approved,
    ).scalar_subquery(),
).where(_IN_COHORT, Membership.user_id == _USER)


async def approved_board(session: AsyncSession, cohort_id: int, user_id: int, size: int) -> Board:
    """By approved checkpoints: the same few index reads for a cohort of 10 or of 1,000."""
    params = {"cohort_id": cohort_id, "user_id": user_id, "last_place": size - 1}
    candidates = [Entry(member, name, n, 0) for member, name, n in await session.execute(_APPROVED_TOP, params)]
    mine = (await session.execute(_APPROVED_MINE, params)).first()
    if mine is None:
        return Board(candidates, None, 0)
    name, approved, ahead = mine
    return Board(candidates, Entry(user_id, name, approved, 0), ahead)


async def reviews_board(session: AsyncSession, cohort_id: int, user_id: int, size: int) -> Board:
    """By peer reviews given, counted once per reviewer and ranked by the database."""
    return await _counted_board(session, _REVIEWS_GIVEN, cohort_id, user_id, size)


async def _counted_board(session: AsyncSession, ranked: Select[Any], cohort_id: int, user_id: int, size: int) -> Board:
    params = {"cohort_id": cohort_id, "user_id": user_id, "size": size}
    found = (await session.execute(ranked, params)).all()
    candidates = [Entry(member, name, n, 0) for member, name, n, place, _ in found if place <= size]
    name = await session.scalar(_NAME, params)
    if name is None:
        return Board(candidates, None, 0)
    mine = next((row for row in found if row.user_id == user_id), None)
    if mine is not None:
        return Board(candidates, Entry(user_id, name, mine.n, 0), mine.place - 1)
    # None counted: everyone with one is ahead.
    return Board(candidates, Entry(user_id, name, 0, 0), found[0].with_any if found else 0)
