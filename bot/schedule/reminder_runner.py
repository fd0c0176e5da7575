"""Reminders on the scheduler: a sweep every minute and at every quarter hour of the injected clock.

Every reminder moment lies on a quarter hour (learners pick whole hours, and every timezone's offset is a
multiple of 15 minutes), so a wake-up at each quarter hour sends daily reminders on time; the minute
sweep backs it up and catches weekly reminders and digests, whose moments follow the cohorts' post
times. What is due is decided afresh by the service from the database each time, and the ledger makes a
doubled wake-up or a restart harmless.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.schedule.scheduler import Scheduler
from bot.services.reminders import ReminderReport, ReminderService

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(minutes=1)
QUARTER_HOUR = timedelta(minutes=15)


class ReminderRunner:
    def __init__(self, reminders: ReminderService, clock: Clock, scheduler: Scheduler) -> None:
        self._reminders = reminders
        self._clock = clock
        self._scheduler = scheduler
        self._lock = asyncio.Lock()
        self._since: datetime | None = None
        """The clock time of the last finished sweep of this process; None until the first one."""
        scheduler.every("reminders", SWEEP_EVERY, self.run_logged)

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
            if self._scheduler.running:
                self._scheduler.at("reminder-moment", next_quarter_hour(now), self.run_logged)
            return report


def next_quarter_hour(now: datetime) -> datetime:
    """The first quarter hour (:00, :15, :30, :45 UTC) after `now`."""
    floor = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return floor + QUARTER_HOUR
