"""The pure planner: local post times across DST, far timezones, pauses, advances and the end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.schedule.planner import (
    EventKind,
    ScheduleEvent,
    Timeline,
    current_week,
    next_opening,
    week_openings,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def timeline(start: date, zone: str, total: int = 4, post: time = time(9, 0), events=()) -> Timeline:
    return Timeline(start, post, zone, total, tuple(events))


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def test_week_n_opens_seven_days_apart_at_the_post_time_in_utc():
    openings = week_openings(timeline(date(2026, 1, 5), "UTC"))
    assert openings == {n: utc(2026, 1, 5, 9) + timedelta(days=7 * (n - 1)) for n in range(1, 6)}


def test_new_york_spring_forward_keeps_the_local_hour_and_moves_the_utc_instant():
    # DST starts 2026-03-08 in America/New_York: 09:00 EST = 14:00 UTC, 09:00 EDT = 13:00 UTC.
    openings = week_openings(timeline(date(2026, 3, 1), "America/New_York"))
    assert openings[1] == utc(2026, 3, 1, 14)
    assert openings[2] == utc(2026, 3, 8, 13)
    assert all(local(at, "America/New_York").time() == time(9, 0) for at in openings.values())


def test_berlin_fall_back_keeps_the_local_hour():
    # DST ends 2026-10-25 in Europe/Berlin: 09:00 CEST = 07:00 UTC, 09:00 CET = 08:00 UTC.
    openings = week_openings(timeline(date(2026, 10, 18), "Europe/Berlin"))
    assert openings[1] == utc(2026, 10, 18, 7)
    assert openings[2] == utc(2026, 10, 25, 8)
    assert openings[2] - openings[1] == timedelta(days=7, hours=1)


def test_post_time_inside_the_spring_gap_opens_at_the_shifted_moment_once():
    # 02:30 does not exist in New York on 2026-03-08: the week opens once, at 03:30 EDT that morning.
    openings = week_openings(timeline(date(2026, 3, 1), "America/New_York", post=time(2, 30)))
    assert local(openings[2], "America/New_York").replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
    assert local(openings[3], "America/New_York").time() == time(2, 30)


def test_auckland_cohort_opens_on_the_previous_utc_day():
    # 09:00 in Auckland (UTC+13 in January) is 20:00 UTC the evening before.
    openings = week_openings(timeline(date(2026, 1, 5), "Pacific/Auckland"))
    assert openings[1] == utc(2026, 1, 4, 20)
    assert local(openings[1], "Pacific/Auckland").date() == date(2026, 1, 5)


def test_auckland_dst_end_in_april_keeps_nine_oclock_local():
    openings = week_openings(timeline(date(2026, 3, 30), "Pacific/Auckland"))
    assert openings[1] == utc(2026, 3, 29, 20)  # NZDT, UTC+13
    assert openings[2] == utc(2026, 4, 5, 21)  # NZST, UTC+12
    assert {local(at, "Pacific/Auckland").time() for at in openings.values()} == {time(9, 0)}


def test_pause_freezes_and_resume_shifts_remaining_weeks_by_whole_paused_days():
    events = [
        ScheduleEvent(EventKind.PAUSE, utc(2026, 1, 13, 12)),
        ScheduleEvent(EventKind.RESUME, utc(2026, 1, 16, 8)),
    ]
    openings = week_openings(timeline(date(2026, 1, 5), "UTC", events=events))
    assert openings[1] == utc(2026, 1, 5, 9)
    assert openings[2] == utc(2026, 1, 12, 9)
    # Paused on the 13th, resumed on the 16th: three days later, still at 09:00.
    assert openings[3] == utc(2026, 1, 22, 9)
    assert openings[4] == utc(2026, 1, 29, 9)


def test_week_that_fell_due_during_a_pause_opens_at_the_resume():
    events = [
        ScheduleEvent(EventKind.PAUSE, utc(2026, 1, 12, 8)),
        ScheduleEvent(EventKind.RESUME, utc(2026, 1, 12, 10)),
    ]
    openings = week_openings(timeline(date(2026, 1, 5), "UTC", events=events))
    assert openings[2] == utc(2026, 1, 12, 10)
    assert openings[3] == utc(2026, 1, 19, 9)


def test_unresumed_pause_leaves_later_weeks_without_a_moment():
    events = [ScheduleEvent(EventKind.PAUSE, utc(2026, 1, 13))]
    openings = week_openings(timeline(date(2026, 1, 5), "UTC", events=events))
    assert sorted(openings) == [1, 2]


def test_advance_opens_the_target_now_and_later_weeks_follow_from_today():
    events = [ScheduleEvent(EventKind.ADVANCE, utc(2026, 1, 8, 15), to_week=2)]
    openings = week_openings(timeline(date(2026, 1, 5), "UTC", events=events))
    assert openings[2] == utc(2026, 1, 8, 15)
    assert openings[3] == utc(2026, 1, 15, 9)


def test_advance_past_several_weeks_opens_each_skipped_week_in_order():
    events = [ScheduleEvent(EventKind.ADVANCE, utc(2026, 1, 6, 10), to_week=4)]
    openings = week_openings(timeline(date(2026, 1, 5), "UTC", total=5, events=events))
    assert [openings[w] for w in (2, 3, 4)] == [utc(2026, 1, 6, 10)] * 3
    assert openings[5] == utc(2026, 1, 13, 9)


def test_end_stops_every_later_opening():
    events = [ScheduleEvent(EventKind.END, utc(2026, 1, 14))]
    assert sorted(week_openings(timeline(date(2026, 1, 5), "UTC", events=events))) == [1, 2]


def test_end_of_roadmap_is_the_week_after_the_last():
    openings = week_openings(timeline(date(2026, 1, 5), "UTC", total=2))
    assert sorted(openings) == [1, 2, 3]


def test_weeks_open_seven_days_apart_at_the_post_time():
    openings = week_openings(timeline(date(2026, 1, 5), "UTC"))
    assert [(week, openings[week]) for week in (2, 3)] == [(2, utc(2026, 1, 12, 9)), (3, utc(2026, 1, 19, 9))]


def test_only_weeks_of_the_roadmap_and_its_end_open():
    tl = timeline(date(2026, 1, 5), "UTC", total=3)
    assert sorted(week_openings(tl)) == [1, 2, 3, 4]


def test_current_and_next_week():
    openings = week_openings(timeline(date(2026, 1, 5), "UTC"))
    assert current_week(openings, utc(2026, 1, 4)) == 0
    assert current_week(openings, utc(2026, 1, 12, 9)) == 2
    upcoming = next_opening(openings, utc(2026, 1, 12, 9))
    assert upcoming is not None and upcoming.week == 3
