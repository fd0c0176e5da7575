"""Daily streaks kept per membership as check-ins and submissions arrive, read back exactly as the rules compute them.

A `daily_streaks` row holds the pure rules' `DailyRun` (bot/services/streaks.py) as computed at `computed_at`
in `zone`. Read later, it gives the same streak as recomputing from the whole history as long as nothing the
rules depend on changed since: no new activity (every check-in and submission rewrites the row), the same
zone, no pause of the cohort begun, ended or still running since, and no check-in dated after the day it was
computed for (`next_day`). Any other row is recomputed from the history on the spot; the correction pass
(`StreakBook.correct`: at start-up, daily, and after a pause began or ended) stores fresh rows so that stays rare.

Each row also stores two moments worked out when it is written: `alive_until`, when its run stops being the
current streak, and `holds_until`, the start of `next_day`. With them `holds` says "still holds" in SQL and a
board (boards.py) reads the current streak without the rules' Python. So that a board finds the rows that do not
hold along an index rather than by reading every member, every active member has a row (`first_row` at /join), and
a change of the learner's zone marks theirs (`zone_changed`): `holds` then needs no zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Table,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import (
    Cohort,
    CohortPause,
    CohortStatus,
    DailyStreak,
    LearnerSettings,
    Membership,
    MembershipStatus,
)
from bot.db.upsert import DIALECT_INSERTS, insert_for
from bot.services.activity import OWN_ZONE, Activity, Pauses, active_days, activity_of, cohort_pauses
from bot.services.streaks import (
    DailyRun,
    Streak,
    breaks_on,
    current_of,
    daily_run,
    day_start,
    local_day,
    paused_spans,
)
from bot.shards import EVERYTHING, Ownership

CORRECTION_BATCH = 500


@dataclass(frozen=True)
class Member:
    """Whose streak to give: a membership, its cohort and the zone its days are counted in now."""

    membership_id: int
    cohort_id: int
    zone: str


# Kept rows.


def still_holds(row: DailyStreak | Row[Any], zone: str, pauses: Pauses, now: datetime) -> bool:
    """Whether a kept row still gives what the rules would compute from the whole history (see the docstring)."""
    if row.zone != zone or (row.next_day is not None and local_day(now, zone) >= row.next_day):
        return False
    if row.holds_until is not None and row.holds_until <= now:
        return False
    return all(start < row.computed_at and end is not None and end < row.computed_at for start, end in pauses)


async def recompute(
    session: AsyncSession,
    members: Sequence[Member],
    pauses: dict[int, Pauses],
    now: datetime,
    activity: Activity | None = None,
) -> dict[int, DailyRun]:
    """Each member's run from their whole history: one statement (none with their `activity` read already),
    whatever the number of members; none for no members."""
    if not members:
        return {}
    if activity is None:
        activity = await activity_of(session, [m.membership_id for m in members])
    runs = {}
    for m in members:
        spans = paused_spans(pauses[m.cohort_id], m.zone)
        days = active_days(activity.days[m.membership_id], activity.moments[m.membership_id], m.zone)
        runs[m.membership_id] = daily_run(days, spans, local_day(now, m.zone))
    return runs


_KEPT_COLUMNS = ("cohort_id", "zone", "last_day", "run", "best", "next_day", "computed_at", "alive_until",
                 "holds_until")
_KEPT = cast(Table, DailyStreak.__table__)
# Built once: a dialect's INSERT … ON CONFLICT is compiled again at every execution (SQLAlchemy caches none).
_REPLACE = (
    update(_KEPT)
    .where(_KEPT.c.membership_id == bindparam("kept_for"))
    .values({c: bindparam(f"new_{c}") for c in _KEPT_COLUMNS})
)


async def store(
    session: AsyncSession,
    members: Sequence[Member],
    runs: dict[int, DailyRun],
    pauses: dict[int, Pauses],
    now: datetime,
    *,
    older_only: bool = False,
) -> None:
    """Write these runs as the members' kept rows (insert or replace; with `older_only`, only rows computed before
    `now`, so a correction never overwrites what a check-in kept meanwhile)."""
    if not members:
        return
    rows = []
    for m in members:
        run = runs[m.membership_id]
        breaks = breaks_on(run, paused_spans(pauses[m.cohort_id], m.zone), local_day(now, m.zone))
        rows.append({
            "membership_id": m.membership_id, "cohort_id": m.cohort_id, "zone": m.zone, "computed_at": now,
            "last_day": run.last_day, "run": run.run, "best": run.best, "next_day": run.next_day,
            "alive_until": day_start(breaks, m.zone) if breaks is not None else None,
            "holds_until": day_start(run.next_day, m.zone) if run.next_day is not None else None,
        })
    if not older_only:
        # New activity of a member who has a row (nearly always): a plain UPDATE, whose statement is cached.
        missing = []
        for row in rows:
            replaced = await session.execute(_REPLACE, {"kept_for": row["membership_id"]}
                                             | {f"new_{c}": row[c] for c in _KEPT_COLUMNS})
            if replaced.rowcount == 0:  # type: ignore[attr-defined]
                missing.append(row)
        rows = missing
        if not rows:
            return
    statement = insert_for(session)(DailyStreak)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["membership_id"],
            set_={c: getattr(statement.excluded, c) for c in _KEPT_COLUMNS},
            where=(DailyStreak.computed_at < now) if older_only else None,
        ),
        rows,
    )


async def refresh(
    session: AsyncSession,
    members: Sequence[Member],
    now: datetime,
    activity: Activity | None = None,
    pauses: dict[int, Pauses] | None = None,
) -> dict[int, Streak]:
    """After new activity (inside its unit of work): recompute these members' runs, keep them, return the streaks.
    `pauses` by cohort, when the caller read them in this unit of work already."""
    if pauses is None:
        pauses = await cohort_pauses(session, {m.cohort_id for m in members})
    runs = await recompute(session, members, pauses, now, activity)
    await store(session, members, runs, pauses, now)
    return {
        m.membership_id: current_of(runs[m.membership_id], paused_spans(pauses[m.cohort_id], m.zone),
                                    local_day(now, m.zone))
        for m in members
    }


NEVER_HELD = datetime.max.replace(tzinfo=UTC)
NEVER_PAUSED = datetime.min.replace(tzinfo=UTC)


def holds(now: BindParameter[datetime], changed: BindParameter[datetime]) -> ColumnElement[bool]:
    """`still_holds` in SQL, the zone aside (a change of it marks the rows: `zone_changed`); exactly the rows that
    neither `stale_by_day` nor `stale_by_pause` find.

    Its parameters make it one statement for every cohort (built once): `changed` is `last_pause_change`."""
    # The pause's term as a truth value: SQLite's planner would otherwise walk the (cohort, computed_at) index for
    # it, and then sort, though it holds for nearly every row.
    return and_(or_(DailyStreak.holds_until.is_(None), DailyStreak.holds_until > now),
                (DailyStreak.computed_at > changed).is_(True))


def stale_by_day(now: BindParameter[datetime]) -> ColumnElement[bool]:
    """Rows past their `holds_until` (a later check-in's day has come, or the zone changed): along an index."""
    return DailyStreak.holds_until <= now


def stale_by_pause(changed: BindParameter[datetime]) -> ColumnElement[bool]:
    """Rows computed before the cohort's last pause began or ended, or any while one runs: along an index."""
    return DailyStreak.computed_at <= changed


_MEMBERSHIPS_OF = select(Membership.id).where(
    Membership.guild_id == bindparam("guild_id"), Membership.user_id == bindparam("user_id")
)
# In id order like every lock on several memberships (so two never deadlock).
_LOCK_MEMBERSHIPS = _MEMBERSHIPS_OF.order_by(Membership.id).with_for_update()
# Marked with the moment as if computed then, so that a correction computed before it never writes over the mark.
_ZONE_CHANGED = (
    update(_KEPT)
    .where(_KEPT.c.membership_id.in_(_MEMBERSHIPS_OF.scalar_subquery()))
    .values(holds_until=bindparam("now"), computed_at=bindparam("now"))
)


async def zone_changed(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> None:
    """The learner's zone on this server changes at `now`, in this unit of work: their rows in every cohort no longer
    hold (a board recomputes them until their next activity or the correction).

    Before the change itself: the learner's memberships are locked first, and a /checkin or /submit reads the zone
    only once it holds them, so it comes wholly before the change (its row is marked here) or wholly after."""
    params = {"guild_id": guild_id, "user_id": user_id, "now": now}
    await session.execute(_LOCK_MEMBERSHIPS, params)
    await session.execute(_ZONE_CHANGED, params)


_ZONE_NOW = func.coalesce(OWN_ZONE.scalar_subquery(), bindparam("cohort_zone"))


# Built once for each dialect: /join runs it.
_FIRST_ROW = {
    dialect: insert_of(cast(Table, DailyStreak.__table__))
    .values(membership_id=bindparam("membership"), cohort_id=bindparam("cohort"), zone=_ZONE_NOW, run=0, best=0,
            computed_at=bindparam("at"))
    .on_conflict_do_nothing(index_elements=["membership_id"])
    for dialect, insert_of in DIALECT_INSERTS.items()
}


async def first_row(session: AsyncSession, member: Member, guild_id: int, user_id: int, now: datetime) -> None:
    """A member who just joined has no activity: a row of no run that holds until their first. A member who joins
    again keeps the row they had (what they did before still counts)."""
    await session.execute(_FIRST_ROW[session.bind.dialect.name], {
        "membership": member.membership_id, "cohort": member.cohort_id, "at": now,
        "guild": guild_id, "user": user_id, "cohort_zone": member.zone,
    })


def last_pause_change(pauses: Pauses) -> datetime:
    """The moment only rows computed after still hold: the last start or end of a pause, never while one runs."""
    if any(end is None for _, end in pauses):
        return NEVER_HELD
    return max((max(start, end) for start, end in pauses if end is not None), default=NEVER_PAUSED)


class StreakBook:
    """The correction pass: stores fresh rows for every active member whose kept row is missing or no longer holds."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, *, ownership: Ownership = EVERYTHING
    ) -> None:
        self._ownership = ownership
        self._sessions = sessions
        self._clock = clock
        self._corrected_at: datetime | None = None

    async def sweep(self) -> int:
        """The schedule's sweep: the correction once a day (by the bot's clock), the first at start-up, and again
        once a cohort's pause began or ended (its rows then no longer hold, and a board would recompute them all)."""
        now = self._clock.now()
        last = self._corrected_at
        if last is not None and last.date() == now.date() and not await self._pause_changed_since(last):
            return 0
        self._corrected_at = now
        return await self.correct()

    async def _pause_changed_since(self, moment: datetime) -> bool:
        async with self._sessions() as session:
            return bool(await session.scalar(select(
                exists().where(or_(CohortPause.paused_at >= moment, CohortPause.resumed_at >= moment),
                               CohortPause.cohort_id == Cohort.id, self._ownership.where(Cohort.guild_id))
            )))

    async def correct(self) -> int:
        """Recompute and keep every row that no longer holds; returns how many.

        Histories are read outside any write; each batch's write is one short statement.
        """
        now = self._clock.now()
        async with self._sessions() as session:
            found = (await session.execute(
                select(Membership.id.label("membership_id"), Cohort.id.label("cohort_id"),
                       func.coalesce(LearnerSettings.timezone, Cohort.timezone).label("counted_in"),
                       DailyStreak.membership_id.label("kept"), DailyStreak.zone, DailyStreak.next_day,
                       DailyStreak.computed_at, DailyStreak.holds_until)
                .join(Cohort, Cohort.id == Membership.cohort_id)
                .outerjoin(LearnerSettings, (LearnerSettings.guild_id == Membership.guild_id)
                           & (LearnerSettings.user_id == Membership.user_id))
                .outerjoin(DailyStreak, DailyStreak.membership_id == Membership.id)
                .where(Membership.status == MembershipStatus.ACTIVE, Cohort.status != CohortStatus.COMPLETED,
                       self._ownership.where(Cohort.guild_id))
            )).all()
            pauses = await cohort_pauses(session, {row.cohort_id for row in found})
            # Rows as plain tuples: at start-up this reads every active member's row.
            stale = [
                Member(row.membership_id, row.cohort_id, row.counted_in)
                for row in found
                if row.kept is None
                or not still_holds(row, row.counted_in, pauses[row.cohort_id], now)
            ]
        for first in range(0, len(stale), CORRECTION_BATCH):
            batch = stale[first:first + CORRECTION_BATCH]
            async with self._sessions() as session:
                runs = await recompute(session, batch, pauses, now)
            async with self._sessions.begin() as session:
                await store(session, batch, runs, pauses, now, older_only=True)
        return len(stale)
