"""Waiting for the bot: one change signal that every sandbox mutation bumps."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

from .errors import SandboxError

T = TypeVar("T")
RECHECK = 0.01
"""How often a predicate that may read the bot's state (which never bumps) is checked again."""
SANDBOX_ONLY_RECHECK = 0.1
"""The same for a predicate over the sandbox's state alone (bumped on every change): only a safety net."""


class Notifier:
    """Lets tests await a predicate over sandbox (or bot) state."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def bump(self) -> None:
        self._changed.set()

    async def until(self, predicate: Callable[[], T], within: float, what: str, *, recheck: float = RECHECK) -> T:
        """Return predicate()'s first truthy value; SandboxError naming `what` after `within` seconds.

        A predicate over the sandbox's own state only may pass a longer `recheck`: every change to that state bumps,
        and fifty waiters re-checking every 10 ms cost the process more than the answers they wait for."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SandboxError(f"timed out after {within:g}s waiting for {what}")
            # Clearing right after a failed check is safe: nothing can run between the two.
            self._changed.clear()
            # Also re-check every `recheck` seconds: predicates may read the bot's state, which never bumps.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, recheck))
        return result
