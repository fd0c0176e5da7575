"""Daily streaks kept per membership as check-ins and submissions arrive, read back exactly as the rules compute them.

A `daily_streaks` row holds the pure rules' `DailyRun` (bot/services/streaks.py) as computed at `computed_at`
in `zone`. Read later, it gives the same streak as recomputing from the whole history as long as nothing the
rules depend on changed since: no new activity (every check-in and submission rewrites the row), the same
zone, no pause of the cohort begun, ended or still running since, and no check-in dated after the day it was
computed for (`next_day`). Any other row, or none, is recomputed from the history on the spot; the
correction pass (`StreakBook.correct`, at start-up and daily) stores fresh rows so that stays rare.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import (
    CheckIn,
    Cohort,
    CohortPause,
    CohortStatus,
    DailyStreak,
    LearnerSettings,
    Membership,
    MembershipStatus,
    Submission,
    SubmissionVersion,
)
from bot.db.upsert import insert_for
from bot.services.streaks import DailyRun, PausedSpan, Streak, current_of, daily_run, local_day, paused_spans

Pauses = list[tuple[datetime, datetime | None]]
CORRECTION_BATCH = 500


@dataclass(frozen=True)
class Member:
    """Whose streak to give: a membership, its cohort and the zone its days are counted in now."""

    membership_id: int
    cohort_id: int
    zone: str


# Queries over history; each is one statement whatever the history holds.


async def check_in_days_of(session: AsyncSession, membership_ids: Sequence[int]) -> dict[int, set[date]]:
    days: dict[int, set[date]] = {m: set() for m in membership_ids}
    for membership_id, day in await session.execute(
        select(CheckIn.membership_id, CheckIn.local_date).where(CheckIn.membership_id.in_(membership_ids)).distinct()
    ):
        days[membership_id].add(day)
    return days


async def submission_moments(session: AsyncSession, membership_ids: Sequence[int]) -> dict[int, list[datetime]]:
    """Every version every one of these memberships handed in: each is activity on its day."""
    moments: dict[int, list[datetime]] = {m: [] for m in membership_ids}
    for membership_id, at in await session.execute(
        select(Submission.membership_id, SubmissionVersion.submitted_at)
        .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
        .where(Submission.membership_id.in_(membership_ids))
    ):
        moments[membership_id].append(at)
    return moments


async def cohort_pauses(session: AsyncSession, cohort_ids: Iterable[int]) -> dict[int, Pauses]:
    pauses: dict[int, Pauses] = {c: [] for c in cohort_ids}
    for cohort_id, start, end in await session.execute(
        select(CohortPause.cohort_id, CohortPause.paused_at, CohortPause.resumed_at).where(
            CohortPause.cohort_id.in_(list(pauses))
        )
    ):
        pauses[cohort_id].append((start, end))
    return pauses


def active_days(check_in_days: Iterable[date], submitted: Iterable[datetime], zone: str) -> set[date]:
    """Check-ins keep the day they were logged on; submissions are placed with the learner's zone now."""
    return set(check_in_days) | {local_day(at, zone) for at in submitted}


async def zone_of(session: AsyncSession, guild_id: int, user_id: int, cohort_zone: str) -> str:
    """The zone a learner's days are counted in now: their own, else the cohort's."""
    own = await session.scalar(
        select(LearnerSettings.timezone).where(LearnerSettings.guild_id == guild_id, LearnerSettings.user_id == user_id)
    )
    return own or cohort_zone


# Kept rows.


KEPT_COLUMNS = (DailyStreak.membership_id, DailyStreak.zone, DailyStreak.last_day, DailyStreak.run, DailyStreak.best,
                DailyStreak.next_day, DailyStreak.computed_at)
"""What a board reads of each kept row (as tuples: no ORM objects for a thousand members)."""


def still_holds(row: DailyStreak | Row[Any], zone: str, pauses: Pauses, today: date) -> bool:
    """Whether a kept row still gives what the rules would compute from the whole history (see the docstring)."""
    if row.zone != zone or (row.next_day is not None and today >= row.next_day):
        return False
    return all(start < row.computed_at and end is not None and end < row.computed_at for start, end in pauses)


def kept_run(row: DailyStreak | Row[Any]) -> DailyRun:
    return DailyRun(row.last_day, row.run, row.best, row.next_day)


async def recompute(
    session: AsyncSession, members: Sequence[Member], pauses: dict[int, Pauses], now: datetime
) -> dict[int, DailyRun]:
    """Each member's run from their whole history: two statements, whatever the number of members."""
    ids = [m.membership_id for m in members]
    days = await check_in_days_of(session, ids)
    moments = await submission_moments(session, ids)
    runs = {}
    for m in members:
        spans = paused_spans(pauses[m.cohort_id], m.zone)
        runs[m.membership_id] = daily_run(active_days(days[m.membership_id], moments[m.membership_id], m.zone),
                                          spans, local_day(now, m.zone))
    return runs


async def store(
    session: AsyncSession,
    members: Sequence[Member],
    runs: dict[int, DailyRun],
    now: datetime,
    *,
    older_only: bool = False,
) -> None:
    """Write these runs as the members' kept rows (insert or replace; with `older_only`, only rows computed before
    `now`, so a correction never overwrites what a check-in kept meanwhile)."""
    if not members:
        return
    rows = [
        {"membership_id": m.membership_id, "cohort_id": m.cohort_id, "zone": m.zone, "computed_at": now,
         "last_day": runs[m.membership_id].last_day, "run": runs[m.membership_id].run,
         "best": runs[m.membership_id].best, "next_day": runs[m.membership_id].next_day}
        for m in members
    ]
    statement = insert_for(session)(DailyStreak)
    columns = ("cohort_id", "zone", "last_day", "run", "best", "next_day", "computed_at")
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["membership_id"],
            set_={c: getattr(statement.excluded, c) for c in columns},
            where=(DailyStreak.computed_at < now) if older_only else None,
        ),
        rows,
    )


async def refresh(session: AsyncSession, members: Sequence[Member], now: datetime) -> dict[int, Streak]:
    """After new activity (inside its unit of work): recompute these members' runs, keep them, return the streaks."""
    pauses = await cohort_pauses(session, {m.cohort_id for m in members})
    runs = await recompute(session, members, pauses, now)
    await store(session, members, runs, now)
    return {
        m.membership_id: current_of(runs[m.membership_id], paused_spans(pauses[m.cohort_id], m.zone),
                                    local_day(now, m.zone))
        for m in members
    }


async def standings(
    session: AsyncSession, cohort_id: int, members: Sequence[Member], pauses: Pauses, now: datetime
) -> dict[int, Streak]:
    """Every member's streak from the kept rows; those whose row no longer holds are recomputed (not stored).

    Always three statements, whatever the cohort's size or history; rows are read as plain tuples.
    """
    rows = {r.membership_id: r for r in await session.execute(
        select(*KEPT_COLUMNS).where(DailyStreak.cohort_id == cohort_id))}
    days: dict[str, tuple[date, list[PausedSpan]]] = {}
    result: dict[int, Streak] = {}
    stale: list[Member] = []
    for m in members:
        seen = days.get(m.zone)
        if seen is None:
            seen = days[m.zone] = (local_day(now, m.zone), paused_spans(pauses, m.zone))
        today, spans = seen
        row = rows.get(m.membership_id)
        if row is not None and still_holds(row, m.zone, pauses, today):
            result[m.membership_id] = current_of(kept_run(row), spans, today)
        else:
            stale.append(m)
    runs = await recompute(session, stale, {cohort_id: pauses}, now)
    for m in stale:
        today, spans = days[m.zone]
        result[m.membership_id] = current_of(runs[m.membership_id], spans, today)
    return result


class StreakBook:
    """The correction pass: stores fresh rows for every active member whose kept row is missing or no longer holds."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._corrected_on: date | None = None

    async def sweep(self) -> int:
        """The schedule's sweep: the correction once a day (by the bot's clock), the first at start-up."""
        today = self._clock.now().date()
        if self._corrected_on == today:
            return 0
        self._corrected_on = today
        return await self.correct()

    async def correct(self) -> int:
        """Recompute and keep every row that no longer holds; returns how many.

        Histories are read outside any write; each batch's write is one short statement.
        """
        now = self._clock.now()
        async with self._sessions() as session:
            found = (await session.execute(
                select(Membership.id, Cohort.id, LearnerSettings.timezone, Cohort.timezone, DailyStreak)
                .join(Cohort, Cohort.id == Membership.cohort_id)
                .outerjoin(LearnerSettings, (LearnerSettings.guild_id == Membership.guild_id)
                           & (LearnerSettings.user_id == Membership.user_id))
                .outerjoin(DailyStreak, DailyStreak.membership_id == Membership.id)
                .where(Membership.status == MembershipStatus.ACTIVE, Cohort.status != CohortStatus.COMPLETED)
            )).all()
            pauses = await cohort_pauses(session, {row[1] for row in found})
            stale = [
                Member(membership_id, cohort_id, own_zone or cohort_zone)
                for membership_id, cohort_id, own_zone, cohort_zone, row in found
                if row is None or not still_holds(row, own_zone or cohort_zone, pauses[cohort_id],
                                                  local_day(now, own_zone or cohort_zone))
            ]
        for first in range(0, len(stale), CORRECTION_BATCH):
            batch = stale[first:first + CORRECTION_BATCH]
            async with self._sessions() as session:
                runs = await recompute(session, batch, pauses, now)
            async with self._sessions.begin() as session:
                await store(session, batch, runs, now, older_only=True)
        return len(stale)
