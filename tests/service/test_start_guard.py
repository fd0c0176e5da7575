"""Start-up pacing: a crash loop waits longer each start; identifies of one bucket are 5 s apart in any process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import BotState
from bot.start_guard import (
    FIRST_BACKOFF,
    IDENTIFY_EVERY,
    KEEP_STARTS,
    MAX_BACKOFF,
    StartGuard,
    budget_wait,
    crash_backoff,
    identify_turn,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def minutes_ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def test_a_few_starts_wait_for_nothing_and_a_crash_loop_waits_longer_each_time() -> None:
    assert crash_backoff([], NOW) == timedelta(0)
    assert crash_backoff(minutes_ago(9, 1), NOW) == timedelta(0), "a deploy and a restart by hand"
    assert crash_backoff(minutes_ago(3, 2, 1), NOW) == FIRST_BACKOFF
    assert crash_backoff(minutes_ago(4, 3, 2, 1), NOW) == 2 * FIRST_BACKOFF
    assert crash_backoff(minutes_ago(*range(9, 0, -1)), NOW) == MAX_BACKOFF
    assert crash_backoff(minutes_ago(50, 40, 30, 20, 12), NOW) == timedelta(0), "only the last 10 minutes count"


def test_a_loop_of_many_shards_is_capped_by_the_daily_budget_not_at_15_minutes() -> None:
    kept = minutes_ago(*(0.9 * i for i in range(1, KEEP_STARTS + 1)))
    wait = crash_backoff(kept, NOW, shards=16)
    assert wait > MAX_BACKOFF
    assert timedelta(days=1) / wait * 16 <= 500, "a day of such restarts spends at most half the identifies"


def test_a_budget_too_small_for_our_shards_waits_for_discords_reset() -> None:
    assert budget_wait({"remaining": 900, "reset_after": 60_000}, 2) == timedelta(0)
    assert budget_wait({"remaining": 1, "reset_after": 60_000}, 2) == timedelta(minutes=1)
    assert budget_wait({}, 2) == timedelta(0), "unknown limits do not stop a start"


async def test_starts_are_remembered_per_set_of_shards(sessions: async_sessionmaker[AsyncSession]) -> None:
    mine, theirs = StartGuard(sessions, "4:0,1"), StartGuard(sessions, "4:2,3")
    assert [await mine.record_start(2) for _ in range(3)] == [timedelta(0)] * 3
    assert await theirs.record_start(2) == timedelta(0), "another process's starts are not ours"
    assert await mine.record_start(2) == FIRST_BACKOFF


async def test_identifies_of_one_bucket_take_turns_5_seconds_apart(sessions: async_sessionmaker[AsyncSession]) -> None:
    async def stamp(bucket: int) -> datetime:
        async with sessions() as session:
            row = await session.scalar(select(BotState).where(BotState.key == f"identify:{bucket}"))
            assert row is not None
            return row.updated_at

    await identify_turn(sessions, 0)
    took = await stamp(0)
    both = asyncio.gather(identify_turn(sessions, 0), identify_turn(sessions, 1))  # another process, another bucket
    await asyncio.wait_for(both, 3 * IDENTIFY_EVERY.seconds)
    assert await stamp(0) - took >= IDENTIFY_EVERY, "the second identify in bucket 0 waited its turn"
    assert await stamp(1) - took < IDENTIFY_EVERY, "another bucket did not wait for bucket 0"
