"""The one scheduler: a stop waits for the jobs it cancels, so none is left unwinding after the engine is gone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.clock import ManualClock
from bot.schedule.scheduler import Scheduler

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_a_stop_returns_only_after_a_running_job_has_finished_unwinding() -> None:
    scheduler = Scheduler(ManualClock(NOW))
    started, unwound = asyncio.Event(), asyncio.Event()

    async def sweep() -> None:
        started.set()
        try:
            await asyncio.Event().wait()  # mid-work, as a sweep waiting on the database or Discord
        finally:
            await asyncio.sleep(0.05)  # its cleanup takes a few turns of the loop, as a rollback does
            unwound.set()

    scheduler.every("sweep", timedelta(milliseconds=10), sweep)
    scheduler.start()
    await asyncio.wait_for(started.wait(), 5)
    await scheduler.shutdown()
    assert unwound.is_set()
    assert not scheduler.running


async def test_a_stop_with_no_job_running_returns_at_once_and_twice() -> None:
    scheduler = Scheduler(ManualClock(NOW))
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    scheduler.at("once", NOW, job)
    scheduler.start()
    await asyncio.wait_for(ran.wait(), 5)
    await scheduler.shutdown()
    await scheduler.shutdown()
    assert not scheduler.running
