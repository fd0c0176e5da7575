"""Checks uploaded roadmaps in worker processes with a time limit, so a hostile file never stalls the bot.

A thread would not do: YAML parsing and validation hold the GIL, so a slow file in a thread still
starves the event loop, and a thread cannot be stopped when its time is up. A worker process can be.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable

from pebble import ProcessExpired, ProcessPool

from bot.errors import RoadmapInvalid
from bot.roadmap import Roadmap
from bot.roadmap_check import check_roadmap_bytes

CHECK_SECONDS = 10.0
WORKERS = 2

Check = Callable[[bytes, str], Roadmap]


def checked_or_problems(check: Check, data: bytes, source: str) -> Roadmap | list[str]:
    """Runs in the worker. Problems come back as a list: an exception would have to survive pickling."""
    try:
        return check(data, source)
    except RoadmapInvalid as exc:
        return exc.problems


class RoadmapChecker:
    """Runs `check` in a pool of worker processes, started at the first upload and stopped by `close`."""

    def __init__(self, *, check: Check = check_roadmap_bytes, timeout: float = CHECK_SECONDS) -> None:
        self._check = check
        self._timeout = timeout
        self._pool: ProcessPool | None = None

    async def check(self, data: bytes, source: str) -> Roadmap:
        """The validated roadmap, or `RoadmapInvalid`: its problems, or that it took too long to check."""
        if self._pool is None:
            # A fork server forks clean workers; forking the bot itself would copy its threads' locks.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["bot.roadmap_worker"])
            self._pool = ProcessPool(max_workers=WORKERS, context=context)
        future = self._pool.schedule(checked_or_problems, args=(self._check, data, source), timeout=self._timeout)
        try:
            result = await asyncio.wrap_future(future)
        except TimeoutError:
            raise RoadmapInvalid(
                source, [f"took more than {self._timeout:g} seconds to check, so it was refused; make it smaller"]
            ) from None
        except ProcessExpired:
            raise RoadmapInvalid(
                source, ["stopped the checker before it finished, so it was refused; make it smaller and simpler"]
            ) from None
        if isinstance(result, list):
            raise RoadmapInvalid(None, result)
        return result

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            await asyncio.to_thread(self._pool.join)
            self._pool = None
