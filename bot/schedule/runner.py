"""Week posts on the scheduler: one job per cohort at its next opening, plus a catch-up sweep; the planner decides."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.schedule.scheduler import Scheduler
from bot.services.posting import PostingService, RunReport, ScheduledCohort

log = logging.getLogger(__name__)

CATCH_UP_EVERY = timedelta(minutes=1)
COHORT_JOB_PREFIX = "cohort-"


class ScheduleRunner:
    """Keeps the scheduler's cohort jobs in step with the database; the ledger makes every run safe.

    Jobs only say *when* to look. What to send is always decided afresh from the database by the
    planner, so a rebuild, a duplicate wake-up or a restart can never send anything twice.
    """

    def __init__(self, posting: PostingService, clock: Clock, scheduler: Scheduler) -> None:
        self._posting = posting
        self._clock = clock
        self._scheduler = scheduler
        self._run_lock = asyncio.Lock()
        self._pending: set[asyncio.Task[RunReport | None]] = set()
        self._sweeps: list[Callable[[], Awaitable[object]]] = []
        self.last_run_at: datetime | None = None
        """The clock time the last run (the minute catch-up sweep included) finished; for the metrics."""
        scheduler.every("catch-up", CATCH_UP_EVERY, self._run_logged)

    def add_sweep(self, sweep: Callable[[], Awaitable[object]]) -> None:
        """Also run `sweep` after every run (the minute catch-up included), e.g. retrying pending tier roles."""
        self._sweeps.append(sweep)

    def shutdown(self) -> None:
        """Cancel the runs started by changes (the scheduler itself is stopped by its owner)."""
        for task in self._pending:
            task.cancel()

    async def on_cohort_change(self) -> None:
        """A cohort changed: look again soon, without holding up the interaction that changed it."""
        task = asyncio.create_task(self._run_logged(), name="schedule-run")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _run_logged(self) -> RunReport | None:
        try:
            return await self.run_due()
        except Exception:
            log.exception("a schedule run failed; the catch-up sweep will try again")
            return None

    async def settle(self) -> None:
        """Wait for runs started by changes (tests and the demo use this to read a settled state)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def rebuild(self) -> int:
        """Replace every cohort job with one at its next opening, read from the database."""
        scheduled = await self._posting.scheduled_cohorts()
        return self._schedule(scheduled)

    def _schedule(self, scheduled: list[ScheduledCohort]) -> int:
        self._scheduler.remove_all(COHORT_JOB_PREFIX)
        now = self._clock.now()
        count = 0
        for item in scheduled:
            upcoming = [at for at in item.openings.values() if at > now]
            if not upcoming:
                continue
            self._scheduler.at(f"{COHORT_JOB_PREFIX}{item.cohort.id}", min(upcoming), self._run_logged)
            count += 1
        return count

    def job_count(self) -> int:
        return self._scheduler.count(COHORT_JOB_PREFIX)

    async def run_due(self) -> RunReport:
        """Send whatever is due now, then schedule each cohort's next wake-up."""
        async with self._run_lock:
            report = await self._posting.run_due()
            if report.posted or report.failed or report.completed:
                log.info("posted %s, failed %s, completed %s", report.posted, report.failed, report.completed)
            # The cohorts the run just read: sending changes no opening (a completed cohort has none left),
            # and a change made meanwhile queues another run behind this lock, which reads afresh.
            self._schedule(report.scheduled)
            for sweep in self._sweeps:
                try:
                    await sweep()
                except Exception:
                    log.exception("a sweep after the schedule run failed; the next run tries again")
            self.last_run_at = self._clock.now()
            return report
