"""Reminder rules at the service level: the daily reminder once per learner and day, closed DMs remembered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.services.cohorts import CohortView
from bot.wiring import Services
from tests.fake_port import FakePort
from tests.service.cast import ADA, GRACE, GUILD


def six_pm(day: int, minute: int = 0) -> datetime:
    """18:00 UTC (plus `minute`), the reminder hour in the cohort's zone (UTC), on `day` March 2026."""
    return datetime(2026, 3, day, 18, minute, tzinfo=UTC)


def reminded(port: FakePort) -> tuple[list[int], list[int]]:
    """The learners sent a notice (a DM first) and those pinged in the channel since the last look."""
    notices = sorted(notice.user_id for (notice,) in port.called("notify_learner"))
    pinged = sorted(user for (_, _, users) in port.called("post_pings") for user in users)
    port.calls.clear()
    return notices, pinged


async def test_the_daily_reminder_goes_once_a_day_to_each_learner(
    services: Services, cohort: CohortView, clock: ManualClock, port: FakePort
) -> None:
    clock.set(six_pm(2) - timedelta(minutes=1))
    await services.reminders.run_due(now=clock.now())
    assert reminded(port) == ([], [])
    clock.set(six_pm(2))
    report = await services.reminders.run_due(now=six_pm(2))
    assert report.dms == 2
    assert reminded(port) == ([ADA, GRACE], [])
    await services.reminders.run_due(now=six_pm(2, 30))
    assert reminded(port) == ([], []), "one reminder a day"


async def test_a_refused_dm_is_remembered_and_the_next_reminder_goes_to_the_channel(
    services: Services, cohort: CohortView, clock: ManualClock, port: FakePort
) -> None:
    port.dms_refused.add(GRACE)
    clock.set(six_pm(2))
    report = await services.reminders.run_due(now=six_pm(2))
    assert report.dms_refused == 1
    assert reminded(port) == ([ADA, GRACE], [])
    assert (await services.learners.prefs(GUILD, GRACE)).dms_closed
    clock.set(six_pm(3))
    await services.reminders.run_due(now=six_pm(3))
    assert reminded(port) == ([ADA], [GRACE]), "no more DMs tried: pinged in the cohort channel instead"
