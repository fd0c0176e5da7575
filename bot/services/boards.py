"""The leaderboards' reads: a cohort's top and one member's place, by indexed queries whatever the cohort's size.

No board brings a row per member into Python: the top comes from the database in rank order (every member
tied with the last place included, since names break ties and SQL cannot casefold them), and the caller's place
is a count of the members ahead. Kept streaks that no longer hold (streak_book.py) are the exception: those few
members are recomputed from their history and merged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    DailyStreak,
    LearnerSettings,
    Membership,
    MembershipStatus,
    PeerAssignment,
    PeerReview,
    Submission,
    SubmissionStatus,
)
from bot.services.activity import Pauses
from bot.services.streak_book import Member, holds, recompute
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


async def streak_board(
    session: AsyncSession, cohort_id: int, cohort_zone: str, pauses: Pauses, user_id: int, now: datetime, size: int
) -> Board:
    """By current daily streak, then best: kept rows that hold, plus the members whose row does not, recomputed."""
    holding = holds(cohort_zone, pauses, now)
    # Members without a kept row that holds (rare but for a paused cohort), and the caller.
    found = (await session.execute(
        select(Membership.id, Membership.user_id, Membership.display_name,
               func.coalesce(LearnerSettings.timezone, cohort_zone), DailyStreak.membership_id.is_not(None) & holding,
               DailyStreak.run, DailyStreak.best, DailyStreak.alive_until)
        .outerjoin(DailyStreak, DailyStreak.membership_id == Membership.id)
        .outerjoin(LearnerSettings, _SETTINGS)
        .where(Membership.cohort_id == cohort_id, Membership.status == MembershipStatus.ACTIVE,
               or_(DailyStreak.membership_id.is_(None), not_(holding), Membership.user_id == user_id))
    )).all()
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

    rows = (
        select(Membership.user_id, Membership.display_name, DailyStreak.run, DailyStreak.best)
        .select_from(DailyStreak)
        .join(Membership, Membership.id == DailyStreak.membership_id)
        .outerjoin(LearnerSettings, _SETTINGS)
        .where(DailyStreak.cohort_id == cohort_id, Membership.status == MembershipStatus.ACTIVE, holding)
    )
    alive = DailyStreak.alive_until > now
    tied = rows.where(alive).order_by(DailyStreak.run.desc(), DailyStreak.best.desc()).offset(size - 1).limit(1)
    last_run = tied.with_only_columns(DailyStreak.run).scalar_subquery()
    last_best = tied.with_only_columns(DailyStreak.best).scalar_subquery()
    top = (await session.execute(rows.where(alive, or_(
        last_run.is_(None), DailyStreak.run > last_run, and_(DailyStreak.run == last_run, DailyStreak.best >= last_best)
    )))).all()
    candidates = [Entry(*row) for row in top] + [e for e in entries if e.value > 0]
    if mine is None:
        return Board(candidates, None, 0)
    if mine.value > 0:
        longer = or_(DailyStreak.run > mine.value, and_(DailyStreak.run == mine.value, DailyStreak.best > mine.detail))
        better: ColumnElement[bool] = and_(alive, longer)
    else:  # every current streak is ahead, and a better best among those at 0
        better = or_(alive, DailyStreak.best > mine.detail)
    ahead = await _count(session, rows.where(better))
    ahead += sum(1 for e in entries if (e.value, e.detail) > (mine.value, mine.detail))
    return Board(candidates, mine, ahead)


async def approved_board(session: AsyncSession, cohort_id: int, user_id: int, size: int) -> Board:
    """By approved checkpoints, counted once from the (cohort, status, membership) index and ranked by the database."""
    approved = (
        select(Submission.membership_id.label("member"))
        .where(Submission.cohort_id == cohort_id, Submission.status == SubmissionStatus.APPROVED)
    )
    return await _counted_board(session, approved.subquery(), cohort_id, user_id, size)


async def reviews_board(session: AsyncSession, cohort_id: int, user_id: int, size: int) -> Board:
    """By peer reviews given, counted once per reviewer and ranked by the database."""
    given = (
        select(PeerAssignment.reviewer_id.label("member"))
        .join(PeerReview, PeerReview.assignment_id == PeerAssignment.id)
        .where(PeerAssignment.cohort_id == cohort_id)
    )
    return await _counted_board(session, given.subquery(), cohort_id, user_id, size)


async def _counted_board(session: AsyncSession, things: Subquery, cohort_id: int, user_id: int, size: int) -> Board:
    """A board of how many of `things` (one row per thing, naming its `member`) each active member has."""
    counts = (
        select(Membership.user_id, Membership.display_name, func.count().label("n"))
        .select_from(things)
        .join(Membership, Membership.id == things.c.member)
        .where(Membership.status == MembershipStatus.ACTIVE)
        .group_by(Membership.id)
        .subquery()
    )
    # rank() is 1 + those with more; every member tied with the last place shares a rank of at most `size`.
    ranked = select(
        counts, func.rank().over(order_by=counts.c.n.desc()).label("place"), func.count().over().label("with_any")
    ).subquery()
    found = (await session.execute(
        select(ranked).where(or_(ranked.c.place <= size, ranked.c.user_id == user_id))
    )).all()
    candidates = [Entry(member, name, n, 0) for member, name, n, place, _ in found if place <= size]
    name = await session.scalar(
        select(Membership.display_name).where(Membership.cohort_id == cohort_id, Membership.user_id == user_id,
                                              Membership.status == MembershipStatus.ACTIVE)
    )
    if name is None:
        return Board(candidates, None, 0)
    mine = next((row for row in found if row.user_id == user_id), None)
    if mine is not None:
        return Board(candidates, Entry(user_id, name, mine.n, 0), mine.place - 1)
    # None counted: everyone with one is ahead.
    return Board(candidates, Entry(user_id, name, 0, 0), found[0].with_any if found else 0)


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return await session.scalar(select(func.count()).select_from(query.subquery())) or 0
