"""Pure arithmetic of weekly live sessions: when each cohort week's session meets, from the week openings.

A session meets once in each week of the roadmap, on its weekday at its local time, inside that week's
span (from the week's opening to the next week's), so it follows the cohort: a pause moves later weeks'
sessions by the days it lasts, an advance pulls them earlier, and a week an advance skipped has none.
While a cohort is paused, its later weeks are placed as if it resumed now (`projected`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.schedule.planner import EventKind, ScheduleEvent, Timeline, week_openings

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Slot:
    """A session's weekly place in its cohort's zone."""

    weekday: int
    start: time
    minutes: int
    timezone: str


@dataclass(frozen=True)
class Occurrence:
    week: int
    start: datetime
    end: datetime


def occurrences(slot: Slot, openings: dict[int, datetime], total_weeks: int) -> list[Occurrence]:
    """The session's meeting in each week whose span is known, in week order."""
    zone = ZoneInfo(slot.timezone)
    found = []
    for week in range(1, total_weeks + 1):
        begin, until = openings.get(week), openings.get(week + 1)
        if begin is None or until is None:
            continue
        day = begin.astimezone(zone).date()
        start = _meeting(day + timedelta(days=(slot.weekday - day.weekday()) % 7), slot.start, zone)
        if start < begin:
            start = _meeting(day + timedelta(days=7), slot.start, zone)
        if start < until:
            found.append(Occurrence(week, start, start + timedelta(minutes=slot.minutes)))
    return found


def next_occurrence(found: list[Occurrence], now: datetime) -> Occurrence | None:
    """The first meeting that has not begun yet."""
    return next((o for o in found if o.start > now), None)


def on_day(found: list[Occurrence], day: date, zone_name: str) -> list[Occurrence]:
    zone = ZoneInfo(zone_name)
    return [o for o in found if o.start.astimezone(zone).date() == day]


def projected(timeline: Timeline, paused: bool, now: datetime) -> dict[int, datetime]:
    """Week openings; for a paused cohort, as if it resumed at `now` (later weeks are otherwise unknown)."""
    if paused:
        timeline = replace(timeline, events=(*timeline.events, ScheduleEvent(EventKind.RESUME, now)))
    return week_openings(timeline)


def _meeting(day: date, at: time, zone: ZoneInfo) -> datetime:
    # Local wall time: a day-light saving change moves the UTC instant, never the hour people meet at.
    return datetime.combine(day, at, zone).astimezone(UTC)
