"""Daily and weekly streaks as pure functions: far zones, zone changes, DST, pauses, deadlines, best vs current."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from bot.services.streaks import (
    CheckpointRecord,
    PausedSpan,
    Streak,
    breaks_on,
    checkpoint_outcome,
    current_of,
    daily_run,
    daily_streak,
    day_start,
    local_day,
    paused_spans,
    weekly_streak,
)

TONGA = "Pacific/Tongatapu"  # UTC+13 all year
HONOLULU = "Pacific/Honolulu"  # UTC-10 all year
AUCKLAND = "Pacific/Auckland"  # UTC+13 in March (daylight saving)
BERLIN = "Europe/Berlin"


def days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)



def mar(day: int) -> date:
    return date(2026, 3, day)


# The daily rule itself.


def test_no_activity_is_no_streak() -> None:
    assert daily_streak([], [], mar(5)) == Streak(0, 0)


def test_consecutive_days_up_to_today_make_the_streak() -> None:
    assert daily_streak(days(mar(2), 4), [], mar(5)) == Streak(4, 4)


def test_today_not_yet_done_does_not_break_it() -> None:
    assert daily_streak(days(mar(2), 3), [], mar(5)) == Streak(3, 3)


def test_a_whole_day_without_activity_breaks_it() -> None:
    # Active on the 2nd to 4th; nothing on the 5th; today is the 6th.
    assert daily_streak(days(mar(2), 3), [], mar(6)) == Streak(0, 3)


def test_several_check_ins_on_one_day_count_once() -> None:
    assert daily_streak([mar(2), mar(2), mar(3), mar(3), mar(3)], [], mar(3)) == Streak(2, 2)


def test_best_remembers_a_longer_run_than_the_current_one() -> None:
    active = days(mar(1), 5) + days(mar(8), 2)
    assert daily_streak(active, [], mar(9)) == Streak(2, 5)


def test_activity_dated_after_today_waits_for_its_day() -> None:
    # A check-in filed in a zone ahead of the learner's current one.
    assert daily_streak([mar(3), mar(4)], [], mar(3)) == Streak(1, 1)


# Far timezones: local midnight, not UTC midnight, separates days.


def test_one_minute_apart_across_midnight_in_utc_plus_13_are_two_days() -> None:
    before, after = utc(2026, 3, 2, 10, 59), utc(2026, 3, 2, 11, 1)  # 23:59 and 00:01 in Tonga
    assert [local_day(before, TONGA), local_day(after, TONGA)] == [mar(2), mar(3)]
    assert daily_streak([local_day(before, TONGA), local_day(after, TONGA)], [], mar(3)) == Streak(2, 2)


def test_the_same_moments_are_one_day_in_utc_minus_10() -> None:
    before, after = utc(2026, 3, 2, 10, 59), utc(2026, 3, 2, 11, 1)  # 00:59 and 01:01 in Honolulu
    assert local_day(before, HONOLULU) == local_day(after, HONOLULU) == mar(2)
    assert daily_streak([local_day(before, HONOLULU), local_day(after, HONOLULU)], [], mar(2)) == Streak(1, 1)


def test_honolulu_learner_checking_in_late_evening_keeps_a_streak_although_utc_dates_skip() -> None:
    # 23:30 in Honolulu is 09:30 UTC the next day: the UTC dates would be the 3rd, 4th, 5th.
    moments = [utc(2026, 3, d, 9, 30) for d in (3, 4, 5)]
    local = [local_day(m, HONOLULU) for m in moments]
    assert local == [mar(2), mar(3), mar(4)]
    today = local_day(utc(2026, 3, 5, 20, 0), HONOLULU)  # 10:00 on the 5th in Honolulu
    assert daily_streak(local, [], today) == Streak(3, 3)


# A learner who changes timezone: check-ins keep the date they were made on.


def test_moving_west_replays_a_date_which_counts_once_and_keeps_the_streak() -> None:
    # Auckland 20:00 on the 2nd to 4th (filed under those dates), then Honolulu from the 4th (local) on.
    in_auckland = [local_day(utc(2026, 3, d, 7, 0), AUCKLAND) for d in (2, 3, 4)]
    assert in_auckland == [mar(2), mar(3), mar(4)]
    in_honolulu = [local_day(utc(2026, 3, d + 1, 6, 0), HONOLULU) for d in (4, 5)]  # 20:00 local
    assert in_honolulu == [mar(4), mar(5)]
    assert daily_streak(in_auckland + in_honolulu, [], mar(5)) == Streak(4, 4)


def test_moving_east_across_the_date_line_can_skip_a_date_that_then_counts_as_missed() -> None:
    # Honolulu 23:00 on the 2nd and 3rd; the learner switches to Auckland at 11:30 UTC on the 4th,
    # which is already 00:30 on the 5th there: the 4th never happened for them, but the bot keeps no
    # history of timezone changes, so it counts as a day without study (the README says so).
    honolulu = [local_day(utc(2026, 3, d + 1, 9, 0), HONOLULU) for d in (2, 3)]
    auckland = local_day(utc(2026, 3, 5, 7, 0), AUCKLAND)  # 20:00 on the 5th in Auckland
    assert honolulu == [mar(2), mar(3)] and auckland == mar(5)
    assert daily_streak([*honolulu, auckland], [], mar(5)) == Streak(1, 2)


# Daylight saving: days are local dates, not 24-hour periods.


def test_a_late_evening_habit_survives_the_spring_forward_night() -> None:
    # 23:30 Berlin on the 28th (CET, UTC+1), 29th and 30th (CEST, UTC+2).
    moments = [utc(2026, 3, 28, 22, 30), utc(2026, 3, 29, 21, 30), utc(2026, 3, 30, 21, 30)]
    local = [local_day(m, BERLIN) for m in moments]
    assert local == [mar(28), mar(29), mar(30)]
    assert daily_streak(local, [], mar(30)) == Streak(3, 3)


def test_every_24_hours_by_utc_misses_the_23_hour_local_day() -> None:
    # 23:30 CET on the 28th, then exactly 24 hours later it is already 00:30 CEST on the 30th.
    first, second = utc(2026, 3, 28, 22, 30), utc(2026, 3, 29, 22, 30)
    local = [local_day(first, BERLIN), local_day(second, BERLIN)]
    assert local == [mar(28), mar(30)]
    assert daily_streak(local, [], mar(30)) == Streak(1, 1)


def test_the_25_hour_autumn_day_is_still_one_day() -> None:
    # 00:30 CEST and 23:59 CET on 25 October 2026 are 24.5 hours apart, on one local date.
    early, late = utc(2026, 10, 24, 22, 30), utc(2026, 10, 25, 22, 59)
    assert local_day(early, BERLIN) == local_day(late, BERLIN) == date(2026, 10, 25)
    assert daily_streak([local_day(early, BERLIN), local_day(late, BERLIN)], [], date(2026, 10, 25)) == Streak(1, 1)


# Pauses freeze the daily streak.


def test_pause_days_neither_count_nor_break() -> None:
    # Active 2nd-3rd; paused from the 4th (during the day) until the 8th (during the day); active the 8th.
    pause = [PausedSpan(mar(4), mar(8))]
    assert daily_streak([mar(2), mar(3), mar(8)], pause, mar(8)) == Streak(3, 3)


def test_activity_on_a_fully_paused_day_does_not_count() -> None:
    pause = [PausedSpan(mar(4), mar(8))]
    assert daily_streak([mar(2), mar(3), mar(6), mar(8)], pause, mar(8)) == Streak(3, 3)


def test_activity_on_the_days_a_pause_began_and_ended_counts() -> None:
    pause = [PausedSpan(mar(4), mar(8))]
    assert daily_streak([mar(2), mar(3), mar(4), mar(8)], pause, mar(8)) == Streak(4, 4)


def test_an_ongoing_pause_freezes_the_current_streak() -> None:
    pause = [PausedSpan(mar(4))]
    assert daily_streak([mar(2), mar(3)], pause, mar(20)) == Streak(2, 2)


def test_a_day_missed_before_the_pause_still_breaks() -> None:
    pause = [PausedSpan(mar(6), mar(8))]
    assert daily_streak([mar(2), mar(3), mar(8)], pause, mar(8)) == Streak(1, 2)


def test_adjacent_pauses_cover_the_gap_between_them() -> None:
    pauses = [PausedSpan(mar(4), mar(5)), PausedSpan(mar(6), mar(7))]
    assert daily_streak([mar(3), mar(8)], pauses, mar(8)) == Streak(2, 2)


def test_pause_moments_become_local_dates_in_the_learners_zone() -> None:
    # Paused 11:30 UTC on the 4th (00:30 on the 5th in Tonga, 01:30 on the 4th in Honolulu).
    pauses = [(utc(2026, 3, 4, 11, 30), utc(2026, 3, 6, 9, 0)), (utc(2026, 3, 10, 12, 0), None)]
    assert paused_spans(pauses, TONGA) == [PausedSpan(mar(5), mar(6)), PausedSpan(mar(11), None)]
    assert paused_spans(pauses, HONOLULU) == [PausedSpan(mar(4), mar(5)), PausedSpan(mar(10), None)]


# When a kept run breaks: what a leaderboard compares with the moment now instead of recomputing.


def test_a_run_breaks_on_the_first_day_current_of_gives_zero_through_random_histories_and_ended_pauses() -> None:
    rng = random.Random(7)
    for _ in range(400):
        active = {mar(1) + timedelta(days=rng.randrange(40)) for _ in range(rng.randrange(12))}
        pauses = []
        for _ in range(rng.randrange(3)):
            first = mar(1) + timedelta(days=rng.randrange(40))
            pauses.append(PausedSpan(first, first + timedelta(days=rng.randrange(6))))
        computed = mar(1) + timedelta(days=40 + rng.randrange(4))
        run = daily_run(active, pauses, computed)
        breaks = breaks_on(run, pauses, computed)
        for later in range(30):
            today = computed + timedelta(days=later)
            alive = current_of(run, pauses, today).current > 0
            assert alive == (breaks is not None and today < breaks), (sorted(active), pauses, computed, today)


def test_a_day_starts_at_its_local_midnight_also_when_the_clocks_jump_at_midnight() -> None:
    assert day_start(mar(5), TONGA) == utc(2026, 3, 4, 11, 0)
    # Santiago springs forward at midnight (2025-09-07 00:00 became 01:00): the day starts at the jump.
    start = day_start(date(2025, 9, 7), "America/Santiago")
    assert local_day(start, "America/Santiago") == date(2025, 9, 7)
    assert local_day(start - timedelta(microseconds=1), "America/Santiago") == date(2025, 9, 6)


# Weekly streak: on time, not sent back.

DUE = utc(2026, 3, 9, 8, 0)  # Monday 09:00 in Berlin


def test_a_submission_exactly_at_the_deadline_is_on_time() -> None:
    record = CheckpointRecord(DUE, DUE)
    assert checkpoint_outcome(record, DUE + timedelta(days=3)) is True


def test_one_second_after_the_deadline_is_late_and_breaks_once_the_deadline_passed() -> None:
    record = CheckpointRecord(DUE, DUE + timedelta(seconds=1))
    assert checkpoint_outcome(record, DUE + timedelta(seconds=1)) is False


def test_a_submission_at_the_deadline_lands_on_the_local_day_that_starts_then() -> None:
    midnight_due = utc(2026, 3, 8, 23, 0)  # 00:00 on the 9th in Berlin
    assert local_day(midnight_due, BERLIN) == mar(9)
    assert local_day(midnight_due - timedelta(seconds=1), BERLIN) == mar(8)


def test_an_open_checkpoint_neither_counts_nor_breaks_until_its_deadline() -> None:
    nothing_yet = CheckpointRecord(DUE, None)
    assert checkpoint_outcome(nothing_yet, DUE) is None
    assert checkpoint_outcome(nothing_yet, DUE + timedelta(seconds=1)) is False


def test_sent_back_breaks_once_the_deadline_passed_and_an_on_time_resubmission_mends_it() -> None:
    sent_back = CheckpointRecord(DUE, DUE - timedelta(days=2), sent_back=True)
    assert checkpoint_outcome(sent_back, DUE - timedelta(days=1)) is None
    assert checkpoint_outcome(sent_back, DUE + timedelta(hours=1)) is False
    resubmitted = CheckpointRecord(DUE, DUE - timedelta(hours=1))
    assert checkpoint_outcome(resubmitted, DUE + timedelta(hours=1)) is True


def test_no_deadline_yet_paused_schedule_keeps_an_on_time_submission_good() -> None:
    assert checkpoint_outcome(CheckpointRecord(None, DUE), DUE + timedelta(days=30)) is True
    assert checkpoint_outcome(CheckpointRecord(None, None), DUE + timedelta(days=30)) is None


def test_weekly_current_and_best() -> None:
    week = timedelta(days=7)
    now = DUE + 5 * week + timedelta(days=1)
    records = [
        CheckpointRecord(DUE, DUE - timedelta(days=1)),
        CheckpointRecord(DUE + week, DUE + week - timedelta(days=1)),
        CheckpointRecord(DUE + 2 * week, DUE + 2 * week),  # exactly at the deadline
        CheckpointRecord(DUE + 3 * week, DUE + 3 * week + timedelta(minutes=1)),  # late
        CheckpointRecord(DUE + 4 * week, DUE + 4 * week - timedelta(days=2)),
        CheckpointRecord(DUE + 5 * week, None),  # missing
        CheckpointRecord(DUE + 6 * week, None),  # still open
    ]
    assert weekly_streak(records, now) == Streak(0, 3)
    assert weekly_streak(records[:5], now) == Streak(1, 3)
    assert weekly_streak(records[:3] + records[6:], now) == Streak(3, 3)
