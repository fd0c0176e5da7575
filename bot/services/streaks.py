"""Streaks as pure functions: local days and checkpoint outcomes in, current and best out. No database, no clock.

Daily streak: consecutive local days with a check-in or a submission. It is lost only after a whole
local day without either, so "today, not yet" never breaks it. While the cohort is paused it is frozen:
days the cohort spent entirely paused neither count nor break it, and the days a pause began and ended
(partly paused) count when there was activity and never break it.

Weekly streak: consecutive checkpoints handed in on time (at the deadline counts as on time) and not
sent back. A checkpoint whose deadline has not passed yet neither counts nor breaks it, unless it was
already handed in on time (then it counts).

Days are the learner's own local dates. A check-in is filed under the local date it was made on, in the
timezone the learner had then, and stays there; a submission stores only its UTC moment, so it is placed
with the timezone the learner has now. After a timezone change "today" follows the new zone at once:
moving west replays some hours of a date (activity on it still counts once), moving east shortens a
date, and a jump east across the date line (Honolulu → Auckland) can skip a date altogether, which then
counts as a day without study because the bot keeps no history of timezone changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Streak:
    current: int
    best: int


@dataclass(frozen=True)
class PausedSpan:
    """One pause of the cohort as the learner's local dates: the day it began and the day it ended (None: still on)."""

    first: date
    last: date | None = None


@dataclass(frozen=True)
class CheckpointRecord:
    """What a weekly streak needs to know about one checkpoint (one module, in roadmap order)."""

    due: datetime | None
    """The learner's deadline, extension included; None while the schedule gives it none (paused, not open)."""
    submitted_at: datetime | None
    """When the version that stands was handed in; None if nothing was."""
    sent_back: bool = False
    """Changes were requested on the version that stands."""
    peer_missed: bool = False
    """A peer review the learner was given for this week lapsed (cohorts with peer review)."""


def local_day(moment: datetime, zone: str | ZoneInfo) -> date:
    """The local date of an aware moment in `zone`."""
    return moment.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)).date()


def paused_spans(pauses: Iterable[tuple[datetime, datetime | None]], zone: str | ZoneInfo) -> list[PausedSpan]:
    """(paused_at, resumed_at) moments as local-date spans in `zone`."""
    return [
        PausedSpan(local_day(start, zone), local_day(end, zone) if end is not None else None)
        for start, end in pauses
    ]


@dataclass(frozen=True)
class DailyRun:
    """What a daily streak needs to be read again later: the run ending on the last counted day, and the best."""

    last_day: date | None
    """The latest counted active day up to the day computed for; None when there is none."""
    run: int
    best: int
    next_day: date | None = None
    """The earliest active day after the day computed for (a check-in filed in a zone further east); the run
    holds only before it."""


def daily_run(active_days: Iterable[date], pauses: Sequence[PausedSpan], today: date) -> DailyRun:
    """The run of active local days ending on the last counted day up to `today`, and the best run."""
    covered = _merged(pauses, today)
    counted = {d for d in active_days if not _fully_paused(d, pauses)}
    days = sorted(d for d in counted if d <= today)
    run = best = 0
    previous: date | None = None
    for day in days:
        run = run + 1 if previous is not None and not _breaks(previous, day, covered) else 1
        best = max(best, run)
        previous = day
    return DailyRun(previous, run, best, min((d for d in counted if d > today), default=None))


def current_of(kept: DailyRun, pauses: Sequence[PausedSpan], today: date) -> Streak:
    """The streak on `today` of a run computed on an earlier day (or today), with no activity since."""
    # Today itself never breaks the streak: only the whole days between the last activity and today can.
    alive = kept.last_day is not None and not _breaks(kept.last_day, today, _merged(pauses, today))
    return Streak(kept.run if alive else 0, kept.best)


def breaks_on(kept: DailyRun, pauses: Sequence[PausedSpan], today: date) -> date | None:
    """The first local date on which `current_of` gives 0 for this run if no activity comes (None: it has none).

    Exact as long as every pause has ended by `today`: an ongoing one would stretch the cover it gives.
    """
    if kept.last_day is None:
        return None
    after = kept.last_day + ONE_DAY
    # The whole days after the last active one are forgiven while one pause span covers them all.
    cover = next((last for first, last in _merged(pauses, today) if first <= after <= last), kept.last_day)
    return max(kept.last_day, cover) + 2 * ONE_DAY


def day_start(day: date, zone: str | ZoneInfo) -> datetime:
    """The moment `day` begins in `zone` (aware), so "is it that local date yet" becomes a comparison of moments."""
    return datetime.combine(day, time(), zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone))


def daily_streak(active_days: Iterable[date], pauses: Sequence[PausedSpan], today: date) -> Streak:
    """Current and best run of active local days; see the module docstring for the rules."""
    return current_of(daily_run(active_days, pauses, today), pauses, today)


def checkpoint_outcome(record: CheckpointRecord, now: datetime) -> bool | None:
    """True: on time, not sent back and no peer review let lapse. False: its deadline passed without that, or a
    peer review lapsed. None: not decided yet."""
    if record.peer_missed:
        return False
    on_time = record.submitted_at is not None and (record.due is None or record.submitted_at <= record.due)
    if on_time and not record.sent_back:
        return True
    if record.due is not None and now > record.due:
        return False
    return None


def weekly_streak(records: Sequence[CheckpointRecord], now: datetime) -> Streak:
    """Current and best run of good checkpoints, in roadmap order; undecided ones are skipped."""
    run = best = 0
    for record in records:
        outcome = checkpoint_outcome(record, now)
        if outcome is True:
            run += 1
            best = max(best, run)
        elif outcome is False:
            run = 0
    return Streak(run, best)


def _merged(pauses: Sequence[PausedSpan], today: date) -> list[tuple[date, date]]:
    """Pause spans as sorted, merged (first, last) date ranges; an ongoing pause runs to `today`."""
    spans = sorted((p.first, p.last or max(today, p.first)) for p in pauses)
    merged: list[tuple[date, date]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + ONE_DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _fully_paused(day: date, pauses: Sequence[PausedSpan]) -> bool:
    """The cohort was paused for the whole of `day` (strictly inside a pause): activity then is not counted."""
    return any(p.first < day and (p.last is None or day < p.last) for p in pauses)


def _breaks(earlier: date, later: date, covered: list[tuple[date, date]]) -> bool:
    """Whether a whole ordinary day (not touched by a pause) lies strictly between the two dates."""
    low, high = earlier + ONE_DAY, later - ONE_DAY
    if low > high:
        return False
    return not any(first <= low and high <= last for first, last in covered)
