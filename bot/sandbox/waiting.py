"""Waiting for the bot: one change signal that every sandbox mutation bumps."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

from .errors import SandboxError

T = TypeVar("T")
RECHECK = 0.01


class Notifier:
    """Lets tests await a predicate over sandbox (or bot) state."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def bump(self) -> None:
        self._changed.set()

    async def until(self, predicate: Callable[[], T], within: float, what: str) -> T:
        """Return predicate()'s first truthy value; SandboxError naming `what` after `within` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SandboxError(f"timed out after {within:g}s waiting for {what}")
            # Clearing right after a failed check is safe: nothing can run between the two.
            self._changed.clear()
            # Also re-check every RECHECK seconds: predicates may read the bot's state, which never bumps.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, RECHECK))
        return result
