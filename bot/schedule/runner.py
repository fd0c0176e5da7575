"""APScheduler wiring: one job per cohort at its next opening, plus a catch-up sweep; the planner decides."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.services.posting import PostingService, RunReport, ScheduledCohort

log = logging.getLogger(__name__)

CATCH_UP_EVERY = timedelta(minutes=1)
COHORT_JOB_PREFIX = "cohort-"


class ScheduleRunner:
    """Keeps APScheduler's in-memory jobs in step with the database; the ledger makes every run safe.

    Jobs only say *when* to look. What to send is always decided afresh from the database by the
    planner, so a rebuild, a duplicate wake-up or a restart can never send anything twice.
    """

    def __init__(self, posting: PostingService, clock: Clock) -> None:
        self._posting = posting
        self._clock = clock
        self._scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        self._run_lock = asyncio.Lock()
        self._pending: set[asyncio.Task[RunReport | None]] = set()
        self._sweeps: list[Callable[[], Awaitable[object]]] = []
        self.last_run_at: datetime | None = None
        """The clock time the last run (the minute catch-up sweep included) finished; for the metrics."""

    def add_sweep(self, sweep: Callable[[], Awaitable[object]]) -> None:
        """Also run `sweep` after every run (the minute catch-up included), e.g. retrying pending tier roles."""
        self._sweeps.append(sweep)

    def start(self) -> None:
        self._scheduler.start()
        self._scheduler.add_job(
            self._run_logged, "interval", seconds=CATCH_UP_EVERY.total_seconds(), id="catch-up", replace_existing=True
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)  # APScheduler 3 is untyped

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
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
        for job in self._scheduler.get_jobs():
            if job.id.startswith(COHORT_JOB_PREFIX):
                job.remove()
        now = self._clock.now()
        count = 0
        for item in scheduled:
            upcoming = [at for at in item.openings.values() if at > now]
            if not upcoming:
                continue
            self._scheduler.add_job(
                self._run_logged,
                "date",
                run_date=self._wall_time(min(upcoming), now),
                id=f"{COHORT_JOB_PREFIX}{item.cohort.id}",
                replace_existing=True,
            )
            count += 1
        return count

    def _wall_time(self, moment: datetime, now: datetime) -> datetime:
        # The injected clock may run ahead of the wall clock (demo, tests): keep the same distance.
        return datetime.now(UTC) + (moment - now)

    def job_count(self) -> int:
        return sum(1 for job in self._scheduler.get_jobs() if job.id.startswith(COHORT_JOB_PREFIX))

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
