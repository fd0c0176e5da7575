"""A small async rate limiter (token bucket) that keeps bulk sends under Discord's global limit.

Discord allows a bot about 50 requests per second over all routes; discord.py handles the 429s it gets,
but a few thousand reminder DMs sent as fast as possible would hit the global limit and slow everything
else the bot does. Pacing them below it (40 per second by default) leaves room for interactions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DISCORD_SAFE_RATE = 40.0
"""Requests per second for bulk sends: under Discord's global 50, with room for everything else."""
DISCORD_SAFE_BURST = 5
"""Requests that may go at once: a bucket allows burst + rate in its first second, so 45 at most."""
_EPSILON = 1e-9


class Pacer:
    """At most `rate` acquisitions per second on average, with bursts of up to `burst` at once
    (so never more than `burst + rate` in any one second).

    `rate=None` turns pacing off (the benchmarks measure the bot itself against a sandbox with no limit).
    """

    def __init__(
        self,
        rate: float | None = DISCORD_SAFE_RATE,
        burst: int = DISCORD_SAFE_BURST,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for no pacing)")
        self.rate = rate
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._updated = monotonic()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when one more request may go; callers queue in order."""
        if self.rate is None:
            return
        async with self._lock:
            while True:
                now = self._monotonic()
                self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1 - _EPSILON:  # rounding must not leave a waiter sleeping for nothing
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)
