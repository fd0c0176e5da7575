"""Pure session arithmetic: each week's meeting in the cohort's zone, across DST, far zones, pauses and advances."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.schedule.planner import EventKind, ScheduleEvent, Timeline, week_openings
from bot.schedule.sessions import Slot, next_occurrence, occurrences, on_day, projected


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def timeline(start: date, zone: str, total: int = 4, events=()) -> Timeline:
    return Timeline(start, time(9, 0), zone, total, tuple(events))


def test_one_meeting_per_week_on_its_weekday_inside_the_week():
    line = timeline(date(2026, 3, 2), "UTC")  # a Monday
    found = occurrences(Slot(3, time(18, 0), 60, "UTC"), week_openings(line), 4)
    weekly = [timedelta(days=7 * (week - 1)) for week in range(1, 5)]
    assert [(o.week, o.start, o.end) for o in found] == [
        (week, utc(2026, 3, 5, 18) + shift, utc(2026, 3, 5, 19) + shift) for week, shift in enumerate(weekly, 1)
    ]


def test_a_meeting_before_the_weeks_opening_that_day_falls_a_week_later_but_still_inside():
    line = timeline(date(2026, 3, 2), "UTC")
    # Monday 08:00 is before week 1 opens at 09:00: week 1 meets the next Monday at 08:00, just before week 2.
    found = occurrences(Slot(0, time(8, 0), 30, "UTC"), week_openings(line), 4)
    assert [(o.week, o.start) for o in found][:2] == [(1, utc(2026, 3, 9, 8)), (2, utc(2026, 3, 16, 8))]
    found = occurrences(Slot(0, time(10, 0), 30, "UTC"), week_openings(line), 4)
    assert [o.start for o in found][:2] == [utc(2026, 3, 2, 10), utc(2026, 3, 9, 10)]


@pytest.mark.parametrize(
    ("zone", "first", "after"),
    [
        # Europe/Berlin: CET until 29 March 2026, CEST after.
        ("Europe/Berlin", utc(2026, 3, 26, 17, 30), utc(2026, 4, 2, 16, 30)),
        # America/New_York: EST until 8 March 2026.
        ("America/New_York", utc(2026, 3, 5, 23, 30), utc(2026, 3, 12, 22, 30)),
        # Australia/Sydney: daylight time ends 5 April 2026 (southern hemisphere, the other way round).
        ("Australia/Sydney", utc(2026, 4, 2, 7, 30), utc(2026, 4, 9, 8, 30)),
    ],
)
def test_dst_keeps_the_local_hour_and_moves_the_instant(zone: str, first: datetime, after: datetime):
    start = first.astimezone(ZoneInfo(zone)).date() - timedelta(days=3)  # the Monday of that week
    found = occurrences(Slot(3, time(18, 30), 60, zone), week_openings(timeline(start, zone)), 4)
    assert [o.start for o in found[:2]] == [first, after]
    assert all(o.start.astimezone(ZoneInfo(zone)).time() == time(18, 30) for o in found)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kolkata", "Asia/Kathmandu"])
def test_far_zones_meet_on_their_own_weekday(zone: str):
    found = occurrences(Slot(4, time(7, 15), 45, zone), week_openings(timeline(date(2026, 6, 1), zone)), 4)
    assert len(found) == 4
    for meeting in found:
        local = meeting.start.astimezone(ZoneInfo(zone))
        assert (local.weekday(), local.time()) == (4, time(7, 15))


def test_an_advance_leaves_skipped_weeks_without_a_meeting():
    events = [ScheduleEvent(EventKind.ADVANCE, utc(2026, 3, 3, 10), to_week=3)]
    line = timeline(date(2026, 3, 2), "UTC", total=4, events=events)
    found = occurrences(Slot(3, time(18, 0), 60, "UTC"), week_openings(line), 4)
    assert [(o.week, o.start) for o in found] == [(3, utc(2026, 3, 5, 18)), (4, utc(2026, 3, 12, 18))]


def test_a_paused_cohort_is_placed_as_if_it_resumed_now():
    pause = ScheduleEvent(EventKind.PAUSE, utc(2026, 3, 6, 10))
    line = timeline(date(2026, 3, 2), "UTC", events=[pause])
    assert occurrences(Slot(3, time(18, 0), 60, "UTC"), week_openings(line), 4) == [], "its weeks' ends are unknown"
    now = utc(2026, 3, 13, 10)
    found = occurrences(Slot(3, time(18, 0), 60, "UTC"), projected(line, True, now), 4)
    assert next_occurrence(found, now).start == utc(2026, 3, 19, 18)
    assert projected(line, False, now) == week_openings(line)


def test_on_day_uses_the_readers_zone():
    found = occurrences(Slot(3, time(23, 30), 30, "UTC"), week_openings(timeline(date(2026, 3, 2), "UTC")), 1)
    assert on_day(found, date(2026, 3, 5), "UTC") == found
    assert on_day(found, date(2026, 3, 6), "Europe/Berlin") == found, "00:30 on Friday in Berlin"
