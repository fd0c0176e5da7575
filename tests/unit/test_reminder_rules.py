"""Reminder rules without a clock or Discord: moments, windows, DST, who is due, digests, ping batching and pacing."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from bot.domain.notices import DailyReminder, DigestFacts, PendingReview, SubmittedLately, WeekInfo, WeeklyReminder
from bot.pacing import Pacer
from bot.render.reminders import MAX_PINGS_PER_MESSAGE, digest_messages, ping_messages
from bot.roadmap import Roadmap, RoadmapRegistry
from bot.schedule.planner import Timeline, extended_deadline, week_openings
from bot.schedule.reminder_rules import (
    DAILY_REMINDER,
    WEEKLY_REMINDER,
    LearnerRow,
    ReminderCohort,
    allowed,
    could_fall_due,
    daily_due,
    daily_moment,
    due_daily,
    due_digest,
    due_weekly,
    is_new,
    next_daily,
    weekly_due,
    weekly_period,
)
from bot.schedule.reminder_runner import next_quarter_hour
from bot.schedule.sessions import Occurrence

MENTION = re.compile(r"<@(\d+)>")


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# Daily moments.


@pytest.mark.parametrize(
    ("zone", "day", "expected"),
    [
        ("UTC", date(2026, 3, 2), utc(3, 2, 18)),
        ("Pacific/Tongatapu", date(2026, 3, 3), utc(3, 3, 5)),  # UTC+13
        ("Pacific/Honolulu", date(2026, 3, 2), utc(3, 3, 4)),  # UTC-10: the next UTC day
        ("Asia/Kolkata", date(2026, 3, 2), utc(3, 2, 12, 30)),  # UTC+5:30
        ("Europe/Berlin", date(2026, 3, 28), utc(3, 28, 17)),  # CET, the day before the change
        ("Europe/Berlin", date(2026, 3, 29), utc(3, 29, 16)),  # CEST, the day of the change
        ("America/New_York", date(2026, 11, 1), utc(11, 1, 23)),  # EST, the day it falls back
    ],
)
def test_daily_moment_is_six_pm_local_whatever_the_offset_or_dst(zone: str, day: date, expected: datetime) -> None:
    assert daily_moment(day, 18, zone) == expected


def test_an_hour_skipped_by_spring_forward_falls_an_hour_later() -> None:
    assert daily_moment(date(2026, 3, 29), 2, "Europe/Berlin") == utc(3, 29, 1)  # 03:00 CEST


def test_due_daily_from_the_moment_until_the_end_of_the_local_day() -> None:
    assert due_daily(utc(3, 2, 17, 59), 18, "UTC") is None
    due = due_daily(utc(3, 2, 18), 18, "UTC")
    assert due is not None and (due.day, due.at) == (date(2026, 3, 2), utc(3, 2, 18))
    assert due_daily(utc(3, 2, 23, 59), 18, "UTC").day == date(2026, 3, 2)
    # Past midnight it is a new local day whose moment has not come: yesterday's is dropped, not sent late.
    assert due_daily(utc(3, 3, 0, 1), 18, "UTC") is None


def test_due_daily_uses_the_learners_own_local_day() -> None:
    # 04:30 UTC on 3 March: 18:30 on the 2nd in Honolulu (due), 17:30 on the 3rd in Tonga (not yet).
    now = utc(3, 3, 4, 30)
    assert due_daily(now, 18, "Pacific/Honolulu").day == date(2026, 3, 2)
    assert due_daily(now, 18, "Pacific/Tongatapu") is None


def test_after_three_days_down_only_todays_reminder_is_due() -> None:
    due = due_daily(utc(3, 8, 19), 18, "Europe/London")
    assert due is not None and due.day == date(2026, 3, 8)


def test_next_daily_is_the_first_moment_after_now() -> None:
    assert next_daily(utc(3, 2, 12), 18, "UTC") == utc(3, 2, 18)
    assert next_daily(utc(3, 2, 18, 1), 18, "UTC") == utc(3, 3, 18)
    assert next_daily(utc(3, 28, 18), 18, "Europe/Berlin") == utc(3, 29, 16)


def test_moments_before_joining_or_a_settings_change_are_not_sent() -> None:
    assert not allowed(utc(3, 2, 18), utc(3, 2, 18, 30))
    assert allowed(utc(3, 2, 18), utc(3, 2, 18))
    assert is_new(utc(3, 2, 18), None) and is_new(utc(3, 2, 18), utc(3, 2, 17, 59))
    assert not is_new(utc(3, 2, 18), utc(3, 2, 18))


# Weekly reminders.


def test_weekly_reminder_is_due_from_48h_before_the_deadline_until_it() -> None:
    opened, deadline = utc(3, 2, 9), utc(3, 9, 9)
    assert due_weekly(utc(3, 7, 8, 59), opened, deadline) is None
    assert due_weekly(utc(3, 7, 9), opened, deadline) == utc(3, 7, 9)
    assert due_weekly(utc(3, 9, 8, 59), opened, deadline) == utc(3, 7, 9)
    assert due_weekly(utc(3, 9, 9), opened, deadline) is None  # the deadline passed: dropped


def test_no_weekly_reminder_for_a_week_opened_less_than_48h_before_its_deadline() -> None:
    assert due_weekly(utc(3, 8, 12), utc(3, 8, 10), utc(3, 9, 9)) is None


def test_an_extension_moves_the_deadline_and_makes_a_new_period() -> None:
    deadline = utc(3, 9, 9)
    extended = extended_deadline(deadline, 2)
    assert extended == utc(3, 11, 9)
    assert weekly_period(1, deadline) == "week-1@20260309T0900"
    assert weekly_period(1, extended) != weekly_period(1, deadline)
    assert len(weekly_period(520, extended)) <= 32  # the ledger's period column


# Digests.


def test_digest_follows_the_latest_opening_from_week_2_and_is_dropped_after_a_week() -> None:
    openings = {1: utc(3, 2, 9), 2: utc(3, 9, 9), 3: utc(3, 16, 9), 4: utc(3, 23, 9)}
    assert due_digest(openings, 3, utc(3, 9, 8)) is None  # week 1 has nothing to sum up yet
    assert due_digest(openings, 3, utc(3, 9, 9)) == (2, utc(3, 9, 9))
    assert due_digest(openings, 3, utc(3, 17, 9)) == (3, utc(3, 16, 9))
    assert due_digest(openings, 3, utc(3, 23, 9, 1)) is None  # the end gets a wrap-up, not a digest
    assert due_digest({1: utc(3, 2, 9), 2: utc(3, 9, 9)}, 3, utc(3, 16, 9, 1)) is None  # over a week late


# Quiet sweeps.


def test_a_sweep_looks_at_learners_only_when_a_moment_may_have_passed() -> None:
    openings = [utc(3, 2, 9, 5), utc(3, 9, 9, 5)]  # a 09:05 post time
    assert could_fall_due(None, utc(3, 2, 12, 1), openings)  # the first sweep looks at everything
    assert not could_fall_due(utc(3, 2, 12, 1), utc(3, 2, 12, 2), openings)
    assert could_fall_due(utc(3, 2, 12, 14), utc(3, 2, 12, 15), openings)  # a quarter hour: daily moments
    assert could_fall_due(utc(3, 4, 9, 4), utc(3, 4, 9, 5), openings)  # an opening's time of day: weekly, digest
    assert could_fall_due(utc(3, 2, 23, 59), utc(3, 3, 0, 0), openings)  # midnight is a quarter hour too
    assert not could_fall_due(utc(3, 2, 23, 46), utc(3, 2, 23, 59), openings)
    assert could_fall_due(utc(3, 2, 12, 1), utc(3, 3, 12, 1), [])  # a day or more: anything


# Batched pings.


def test_pings_fit_one_message_when_they_can() -> None:
    [message] = ping_messages([1, 2, 3], "Check in today!")
    assert message.content == "<@1> <@2> <@3>\nCheck in today!"
    assert message.user_ids == (1, 2, 3)


def test_pings_split_to_2000_characters_and_each_message_names_exactly_its_users() -> None:
    users = [10**18 + i for i in range(250)]
    messages = ping_messages(users, "⏰ Daily reminder: " + "x" * 300)
    assert len(messages) > 2
    for message in messages:
        assert len(message.content) <= 2000
        assert len(message.user_ids) <= MAX_PINGS_PER_MESSAGE
        assert [int(m) for m in MENTION.findall(message.content)] == list(message.user_ids)
    assert [u for m in messages for u in m.user_ids] == users


def test_pings_never_exceed_discords_100_allowed_mentions() -> None:
    messages = ping_messages(list(range(1, 251)), "hi")  # short ids: 250 fit in 2,000 characters
    assert [len(m.user_ids) for m in messages] == [100, 100, 50]


def test_a_duplicate_user_is_pinged_once() -> None:
    assert [m.user_ids for m in ping_messages([1, 2, 1], "hi")] == [(1, 2)]


# The digest text.


def test_digest_splits_to_fit_and_lists_pending_oldest_first() -> None:
    pending = [PendingReview(1000 + i, f"Week {i}", utc(3, 1 + i, 9), None) for i in range(1, 4)]
    facts = DigestFacts(
        cohort_name="Spring", week=2, total_weeks=21, opened=utc(3, 9, 9),
        submissions=[SubmittedLately(7, "Week 1", True)], pending=pending,
        inactive=[10**18 + i for i in range(200)], awards=[], active_members=240,
    )
    messages = digest_messages(facts)
    assert all(len(m) <= 2000 for m in messages)
    text = "\n".join(messages)
    assert text.index("<@1001>") < text.index("<@1002>") < text.index("<@1003>")
    assert "<@7> · Week 1 (late)" in text
    assert "… and 150 more" in text


# Pacing.


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_pacer_allows_a_burst_then_holds_the_rate() -> None:
    fake = FakeTime()
    pacer = Pacer(40, 40, monotonic=fake.monotonic, sleep=fake.sleep)
    moments = []
    for _ in range(400):
        await pacer.wait()
        moments.append(fake.now)
    assert moments[39] == 0.0  # the first 40 go at once
    assert moments[-1] == pytest.approx(9.0)  # the other 360 at 40 per second
    for i, moment in enumerate(moments):  # never more than 40 + 40/s in any window since the start
        assert i + 1 <= 40 + 40 * moment + 1e-6


async def test_default_pacing_never_exceeds_45_requests_in_any_second() -> None:
    fake = FakeTime()
    pacer = Pacer(monotonic=fake.monotonic, sleep=fake.sleep)
    moments = []
    for _ in range(1000):
        await pacer.wait()
        moments.append(fake.now)
    busiest = max(sum(1 for t in moments[i:] if t < start + 1.0 - 1e-9) for i, start in enumerate(moments))
    assert busiest <= 45  # Discord's global limit is 50 per second
    assert moments[-1] == pytest.approx((1000 - 5) / 40)


async def test_pacer_off_never_waits() -> None:
    fake = FakeTime()
    pacer = Pacer(None, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(1000):
        await pacer.wait()
    assert fake.now == 0.0


def test_the_runner_wakes_at_every_quarter_hour() -> None:
    assert next_quarter_hour(utc(3, 2, 17, 59)) == utc(3, 2, 18)
    assert next_quarter_hour(utc(3, 2, 18)) == utc(3, 2, 18, 15)
    assert next_quarter_hour(utc(3, 2, 23, 50)) == utc(3, 3, 0)


# Who is due, over what the sweep's queries return (a real bundled roadmap, 1-week modules).


@pytest.fixture(scope="module")
def twelve_weeks() -> Roadmap:
    roadmap = RoadmapRegistry.load().get("ml-for-senior-engineers")
    assert roadmap is not None and roadmap.total_weeks == 12
    return roadmap


def a_cohort(roadmap: Roadmap, cohort_id: int = 1, start: date = date(2026, 3, 2), **changes: Any) -> ReminderCohort:
    """Weeks open on Mondays at 09:00 UTC from `start`."""
    openings = week_openings(Timeline(start, time(9), "UTC", roadmap.total_weeks))
    values: dict[str, Any] = dict(
        id=cohort_id, name=f"Cohort {cohort_id}", timezone="UTC", channel_id=500 + cohort_id, roadmap=roadmap,
        openings=openings,
    )
    return ReminderCohort(**(values | changes))


def a_learner(membership_id: int, cohort_id: int = 1, user_id: int = 7, **changes: Any) -> LearnerRow:
    values: dict[str, Any] = dict(
        membership_id=membership_id, cohort_id=cohort_id, guild_id=100, user_id=user_id, joined_at=utc(3, 1, 12),
        timezone=None, reminder_hour=18, reminded=True, by_dm=True, settings_changed_at=None,
    )
    return LearnerRow(**(values | changes))


def test_one_daily_reminder_per_person_naming_the_cohort_joined_first_with_todays_live_session(twelve_weeks):
    office_hours = Occurrence(1, utc(3, 4, 17), utc(3, 4, 18))
    cohorts = {
        1: a_cohort(twelve_weeks, 1),
        2: a_cohort(twelve_weeks, 2, meetings=(("Office hours", [office_hours]),)),
    }
    learners = [a_learner(10, 1, joined_at=utc(3, 1, 12)), a_learner(20, 2, joined_at=utc(3, 1, 11))]
    due = daily_due(cohorts, learners, utc(3, 4, 18), None)
    assert list(due) == [(100, 7)]
    day, reminder = due[(100, 7)]
    assert (day, reminder.kind, reminder.period) == (date(2026, 3, 4), DAILY_REMINDER, "2026-03-04")
    assert (reminder.membership_id, reminder.cohort_id, reminder.channel_id) == (20, 2, 502)
    assert (reminder.moment, reminder.by_dm) == (utc(3, 4, 18), True)
    week = twelve_weeks.module_for_week(1)
    assert week is not None
    assert reminder.said == DailyReminder("Cohort 2", WeekInfo.of(week), (("Office hours", utc(3, 4, 17)),))


def test_the_learners_own_zone_and_hour_decide_the_moment_and_the_day(twelve_weeks):
    cohorts = {1: a_cohort(twelve_weeks)}
    tokyo = a_learner(10, timezone="Asia/Tokyo", reminder_hour=2, by_dm=False)
    day, reminder = daily_due(cohorts, [tokyo], utc(3, 4, 18), None)[(100, 7)]
    assert (day, reminder.moment, reminder.by_dm) == (date(2026, 3, 5), utc(3, 4, 17), False)


def test_no_daily_reminder_when_off_not_yet_joined_changed_since_already_seen_or_after_the_end(twelve_weeks):
    now = utc(3, 4, 18)
    cohorts = {1: a_cohort(twelve_weeks), 2: a_cohort(twelve_weeks, 2, start=date(2025, 12, 1))}
    assert cohorts[2].end is not None and cohorts[2].end < now
    quiet = [
        a_learner(10, user_id=1, reminded=False),
        a_learner(11, user_id=2, joined_at=utc(3, 4, 18, 30)),
        a_learner(12, user_id=3, settings_changed_at=utc(3, 4, 18, 1)),
        a_learner(13, 2, user_id=4),
    ]
    assert daily_due(cohorts, quiet, now, None) == {}
    assert daily_due(cohorts, [a_learner(14)], now, since=utc(3, 4, 18)) == {}


def test_weekly_reminder_48_hours_before_the_deadline_keyed_by_membership(twelve_weeks):
    cohorts = {1: a_cohort(twelve_weeks)}
    [(week, reminder)] = weekly_due(cohorts, [a_learner(10)], {}, utc(3, 7, 12), None)
    deadline = utc(3, 9, 9)
    module = twelve_weeks.module_for_week(1)
    assert module is not None
    assert (week, reminder.kind, reminder.membership_id) == (1, WEEKLY_REMINDER, 10)
    assert (reminder.period, reminder.moment) == (weekly_period(1, deadline), utc(3, 7, 9))
    assert reminder.said == WeeklyReminder("Cohort 1", WeekInfo.of(module), deadline)
    assert weekly_due(cohorts, [a_learner(10, reminded=False)], {}, utc(3, 7, 12), None) == []


def test_an_extension_moves_the_weekly_reminder_and_revives_a_week_whose_deadline_passed(twelve_weeks):
    cohorts = {1: a_cohort(twelve_weeks)}
    extended = {(10, 1): 2}
    assert weekly_due(cohorts, [a_learner(10)], extended, utc(3, 7, 12), None) == []
    [(week, reminder)] = weekly_due(cohorts, [a_learner(10)], extended, utc(3, 9, 10), None)
    assert (week, reminder.period, reminder.moment) == (1, weekly_period(1, utc(3, 11, 9)), utc(3, 9, 9))
