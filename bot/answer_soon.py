"""Quick work answers its interaction in one request; work that takes longer is acknowledged first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def answer_soon(work: Coroutine[Any, Any, T], acknowledge: Callable[[], Awaitable[object]], within: float) -> T:
    """`work`'s result; `acknowledge()` is awaited first if it takes over `within` seconds.

    Discord waits 3 s for a first answer. Acknowledging at once costs a second request to Discord, which under a
    burst cost more than the work itself; waiting for slow work (another process holding SQLite's write lock)
    without acknowledging risks the 3 s."""
    task = asyncio.create_task(work)
    finished, _ = await asyncio.wait({task}, timeout=within)
    if not finished:
        await acknowledge()
    return await task
