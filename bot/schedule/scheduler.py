"""The process's one APScheduler: every kind of job, each at a moment of the injected clock or at an interval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock

Job = Callable[[], Awaitable[object]]


class Scheduler:
    """Jobs only say *when* to look; what to do is decided afresh from the database by whoever looks.

    In-memory jobs, `coalesce=True`, `max_instances=1`: a restart rebuilds them from the database.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._aps = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    def every(self, job_id: str, interval: timedelta, job: Job) -> None:
        """Run `job` every `interval` of wall time (a sweep backs up the moments below)."""
        self._aps.add_job(job, "interval", seconds=interval.total_seconds(), id=job_id, replace_existing=True)

    def at(self, job_id: str, moment: datetime, job: Job) -> None:
        """Run `job` once when the clock reaches `moment`, replacing the job of the same id."""
        self._aps.add_job(job, "date", run_date=self._wall_time(moment), id=job_id, replace_existing=True)

    def remove_all(self, prefix: str) -> None:
        for job in self._aps.get_jobs():
            if job.id.startswith(prefix):
                job.remove()

    def count(self, prefix: str) -> int:
        return sum(1 for job in self._aps.get_jobs() if job.id.startswith(prefix))

    def _wall_time(self, moment: datetime) -> datetime:
        # The injected clock may run ahead of the wall clock (demo, tests): keep the same distance.
        return datetime.now(UTC) + (moment - self._clock.now())
