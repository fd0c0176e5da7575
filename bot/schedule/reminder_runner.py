"""APScheduler wiring for reminders: a sweep every minute and at every quarter hour of the injected clock.

Every reminder moment lies on a quarter hour (learners pick whole hours, and every timezone's offset is a
multiple of 15 minutes), so a wake-up at each quarter hour sends daily reminders on time; the minute
sweep backs it up and catches weekly reminders and digests, whose moments follow the cohorts' post
times. What is due is decided afresh by the service from the database each time, and the ledger makes a
doubled wake-up or a restart harmless.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.services.reminders import ReminderReport, ReminderService

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(minutes=1)
QUARTER_HOUR = timedelta(minutes=15)


class ReminderRunner:
    def __init__(self, reminders: ReminderService, clock: Clock) -> None:
        self._reminders = reminders
        self._clock = clock
        self._scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        self._lock = asyncio.Lock()
        self._since: datetime | None = None
        """The clock time of the last finished sweep of this process; None until the first one."""

    def start(self) -> None:
        self._scheduler.start()
        self._scheduler.add_job(
            self.run_logged, "interval", seconds=SWEEP_EVERY.total_seconds(), id="reminders", replace_existing=True
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)  # APScheduler 3 is untyped

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def run_logged(self) -> ReminderReport | None:
        try:
            return await self.run_due()
        except Exception:
            log.exception("a reminder sweep failed; the next one will look again")
            return None

    async def run_due(self) -> ReminderReport:
        """Send whatever reminders are due by the clock's now (tests call this after moving the clock)."""
        async with self._lock:
            now = self._clock.now()
            since = self._since if self._since is not None and self._since <= now else None
            report = await self._reminders.run_due(now=now, since=since)
            self._since = now
            self._wake_at(next_quarter_hour(now), now)
            return report

    def _wake_at(self, moment: datetime, now: datetime) -> None:
        if not self._scheduler.running:
            return
        # The injected clock may run ahead of the wall clock (demo, tests): keep the same distance.
        wall = datetime.now(UTC) + (moment - now)
        self._scheduler.add_job(self.run_logged, "date", run_date=wall, id="reminder-moment", replace_existing=True)


def next_quarter_hour(now: datetime) -> datetime:
    """The first quarter hour (:00, :15, :30, :45 UTC) after `now`."""
    floor = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return floor + QUARTER_HOUR
