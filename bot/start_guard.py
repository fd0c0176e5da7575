"""Start-up pacing against Discord's identify limits: a crash loop slows down, identifies are spaced per bucket.

Discord allows 1,000 IDENTIFYs a day per bot (more and it resets the token) and one per `max_concurrency` bucket
(`shard_id % max_concurrency`) every 5 seconds. discord.py's AutoShardedClient launches its own shards one after
another and waits 5 s before every IDENTIFY but its first; it never reads `max_concurrency` and knows nothing of
other processes. So this module keeps both facts in the shared database (the `bot_state` table):

- the last start moments of each set of shards, so a process that keeps dying waits longer before each start
  (the database, not a file: a container's files go with the container, and the row is there whichever host
  restarts it);
- the last IDENTIFY moment of each bucket, taken under the row's lock, so processes that start together take turns.

Real time throughout (never the injected clock): these limits are Discord's, counted in Discord's seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import BotState
from bot.db.upsert import locked_row

log = logging.getLogger(__name__)

IDENTIFY_EVERY = timedelta(seconds=5.5)
"""Discord: one IDENTIFY per bucket per 5 seconds; the half second is for the way from the database to Discord
(two processes' IDENTIFYs may travel at different speeds)."""
RECENT = timedelta(minutes=10)
FREE_STARTS = 3
"""Starts within RECENT that wait for nothing: a deploy, a restart by hand and one crash."""
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=15)
KEEP_STARTS = 10
DAILY_SHARE = 500
"""A crash loop may spend at most half of the 1,000 daily identifies: the cap grows with the shards a start costs."""


def crash_backoff(starts: Sequence[datetime], now: datetime, shards: int = 1) -> timedelta:
    """How long a start waits, given the earlier starts of the same shards: nothing for the first FREE_STARTS within
    RECENT, then 30 s doubling per start, capped at 15 minutes (or longer for many shards, so that a day of
    restarts stays within DAILY_SHARE identifies)."""
    recent = sum(1 for at in starts if now - at < RECENT)
    extra = recent - FREE_STARTS + 1
    if extra <= 0:
        return timedelta(0)
    cap = max(MAX_BACKOFF, timedelta(days=1) * shards / DAILY_SHARE)
    return min(FIRST_BACKOFF * 2 ** (extra - 1), cap)


def budget_wait(limits: dict[str, int], shards: int) -> timedelta:
    """Wait for Discord's daily reset when what is left of the identify budget could not start our shards."""
    if limits.get("remaining", shards) >= shards:
        return timedelta(0)
    return timedelta(milliseconds=limits.get("reset_after", 0))


class StartGuard:
    """The start history of one process's shards, in `bot_state`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], shards: str) -> None:
        self._sessions = sessions
        self._key = f"starts:{shards}"[:64]

    async def record_start(self, shards: int = 1) -> timedelta:
        """Note this start and return how long to wait before identifying (the crash-loop back-off)."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            row = await locked_row(session, BotState, {"key": self._key}, {"value": "[]", "updated_at": now})
            starts = [datetime.fromisoformat(at) for at in json.loads(row.value)]
            wait = crash_backoff(starts, now, shards)
            row.value = json.dumps([at.isoformat() for at in [*starts, now + wait][-KEEP_STARTS:]])
            row.updated_at = now
        return wait



async def identify_turn(sessions: async_sessionmaker[AsyncSession], bucket: int) -> None:
    """Return once this process may IDENTIFY in `bucket`: 5 s after the last IDENTIFY of any process in it."""
    key = f"identify:{bucket}"
    while True:
        now = datetime.now(UTC)
        async with sessions.begin() as session:
            never = {"value": "", "updated_at": now - IDENTIFY_EVERY}
            row = await locked_row(session, BotState, {"key": key}, never)
            due = row.updated_at + IDENTIFY_EVERY
            if due <= now:
                row.value, row.updated_at = "identify", now
                return
        await asyncio.sleep((due - now).total_seconds())
