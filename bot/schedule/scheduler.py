"""The process's one APScheduler: every kind of job, each at a moment of the injected clock or at an interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock

Job = Callable[[], Awaitable[object]]
JOBS_STOP_WITHIN = 10.0
"""How long a stop waits for the jobs it cancelled to finish their cleanup (a rollback, a lane's last write)."""

log = logging.getLogger(__name__)


class Scheduler:
    """Jobs only say *when* to look; what to do is decided afresh from the database by whoever looks.

    In-memory jobs, `coalesce=True`, `max_instances=1`: a restart rebuilds them from the database.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._aps = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        self._running: set[asyncio.Task[object]] = set()

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def start(self) -> None:
        self._aps.start()

    async def shutdown(self) -> None:
        """Stop scheduling, and wait for the jobs APScheduler cancels: the engine is disposed after this,
        and a job still unwinding would close its connection under it (APScheduler's asyncio executor
        cancels running jobs but cannot wait for them)."""
        if self._aps.running:
            self._aps.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler runs its shutdown on the loop's next turn
        if not self._running:
            return
        _, unfinished = await asyncio.wait(set(self._running), timeout=JOBS_STOP_WITHIN)
        if unfinished:
            log.warning("%d scheduled jobs were still running %.0f s after the stop", len(unfinished), JOBS_STOP_WITHIN)

    def every(self, job_id: str, interval: timedelta, job: Job) -> None:
        """Run `job` every `interval` of wall time (a sweep backs up the moments below)."""
        seconds = interval.total_seconds()
        self._aps.add_job(self._tracked(job), "interval", seconds=seconds, id=job_id, replace_existing=True)

    def at(self, job_id: str, moment: datetime, job: Job) -> None:
        """Run `job` once when the clock reaches `moment`, replacing the job of the same id."""
        when = self._wall_time(moment)
        self._aps.add_job(self._tracked(job), "date", run_date=when, id=job_id, replace_existing=True)

    def remove_all(self, prefix: str) -> None:
        for job in self._aps.get_jobs():
            if job.id.startswith(prefix):
                job.remove()

    def count(self, prefix: str) -> int:
        return sum(1 for job in self._aps.get_jobs() if job.id.startswith(prefix))

    def _tracked(self, job: Job) -> Job:
        async def run() -> object:
            task = asyncio.current_task()
            assert task is not None  # APScheduler's asyncio executor runs each job as a task
            self._running.add(task)
            try:
                return await job()
            finally:
                self._running.discard(task)

        return run

    def _wall_time(self, moment: datetime) -> datetime:
        # The injected clock may run ahead of the wall clock (demo, tests): keep the same distance.
        return datetime.now(UTC) + (moment - self._clock.now())
