"""Pure schedule arithmetic: when each week of a cohort opens, given its start, zone, pauses and advances.

Week N is due at `start + 7·(N-1) + shift` days at the post time, in the cohort's zone (so DST moves
the UTC instant, never the local hour). The shift changes only by whole days, so posts stay at the
post time: a resume adds the number of local days the cohort was paused; an advance to week W makes
W's day today. Weeks that fell due while paused open at the resume; weeks skipped by an advance open at
the advance. Week `total_weeks + 1` is the end of the roadmap: the last checkpoint's deadline.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


class EventKind(enum.StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    ADVANCE = "advance"
    END = "end"


@dataclass(frozen=True)
class ScheduleEvent:
    kind: EventKind
    at: datetime
    to_week: int | None = None


@dataclass(frozen=True)
class Timeline:
    """Everything that decides a cohort's schedule, as plain values."""

    start_date: date
    post_time: time
    timezone: str
    total_weeks: int
    events: tuple[ScheduleEvent, ...] = ()


@dataclass(frozen=True)
class Opening:
    week: int
    at: datetime


def week_openings(timeline: Timeline) -> dict[int, datetime]:
    """Week → the moment it opens, for weeks 1..total_weeks+1 that have a known moment.

    Weeks after a pause that was never resumed, or after the cohort ended, have none.
    """
    return dict(_openings(timeline))


# Pure, and asked by every command that reads a cohort: kept for the last timelines seen (a few KB each).
@lru_cache(maxsize=1024)
def _openings(timeline: Timeline) -> tuple[tuple[int, datetime], ...]:
    zone = ZoneInfo(timeline.timezone)
    last = timeline.total_weeks + 1
    shift = 0
    paused_since: datetime | None = None
    opened: dict[int, datetime] = {}
    next_week = 1

    def scheduled(week: int) -> datetime:
        day = timeline.start_date + timedelta(days=7 * (week - 1) + shift)
        return datetime.combine(day, timeline.post_time, zone).astimezone(UTC)

    def open_through(week: int, moment: datetime) -> None:
        nonlocal next_week
        while next_week <= min(week, last):
            opened[next_week] = moment
            next_week += 1

    for event in sorted(timeline.events, key=lambda e: e.at):
        if paused_since is None:
            while next_week <= last and scheduled(next_week) < event.at:
                opened[next_week] = scheduled(next_week)
                next_week += 1
        if event.kind is EventKind.END:
            return tuple(opened.items())
        if event.kind is EventKind.PAUSE and paused_since is None:
            paused_since = event.at
        elif event.kind is EventKind.RESUME and paused_since is not None:
            shift += (_local_day(event.at, zone) - _local_day(paused_since, zone)).days
            paused_since = None
            while next_week <= last and scheduled(next_week) <= event.at:
                opened[next_week] = event.at
                next_week += 1
        elif event.kind is EventKind.ADVANCE and event.to_week is not None:
            open_through(event.to_week, event.at)
            shift = (_local_day(event.at, zone) - timeline.start_date).days - 7 * (event.to_week - 1)
    if paused_since is None:
        while next_week <= last:
            opened[next_week] = scheduled(next_week)
            next_week += 1
    return tuple(opened.items())


def current_week(openings: dict[int, datetime], now: datetime) -> int:
    """The latest week open at `now` (0 before the start; total_weeks+1 once it is over)."""
    return max((week for week, at in openings.items() if at <= now), default=0)


def next_opening(openings: dict[int, datetime], now: datetime) -> Opening | None:
    future = [Opening(week, at) for week, at in openings.items() if at > now]
    return min(future, key=lambda o: o.at, default=None)


def extended_deadline(deadline: datetime, days: int) -> datetime:
    """A deadline moved by a moderator's extension of `days` × 24 h (the one rule for every service)."""
    return deadline + timedelta(days=days)


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()
