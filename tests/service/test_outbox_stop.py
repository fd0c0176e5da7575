"""A stop while the outbox delivers: the drain ends only after every lane it started has ended."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.outbox import OutboxItem, owe
from bot.wiring import Services

SLOW = "test_slow"


async def test_a_stopped_drain_waits_for_every_lane_it_started(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    outbox = services.outbox
    both_sending = asyncio.Event()
    entered: list[str] = []
    cleaned_up = asyncio.Event()
    ended: list[str] = []

    async def never_answered(item: OutboxItem) -> None:
        entered.append(item.payload["lane"])
        if len(entered) == 2:
            both_sending.set()
        try:
            await asyncio.Event().wait()  # Discord never answers
        finally:
            if item.payload["lane"] == "b":
                await cleaned_up.wait()  # this lane's clean-up takes a while, as a unit of work rolling back does
            ended.append(item.payload["lane"])

    outbox.register(SLOW, never_answered)
    async with sessions.begin() as session:
        for lane in ("a", "b"):
            owe(session, clock, SLOW, {"lane": lane}, f"test:{lane}", guild_id=None)
    outbox.start_drain()
    await asyncio.wait_for(both_sending.wait(), 10)

    outbox.shutdown()
    settling = asyncio.create_task(outbox.settle())
    done, _ = await asyncio.wait({settling}, timeout=1)
    assert not done, "the drain ended while a lane it started was still cleaning up"
    cleaned_up.set()
    await asyncio.wait_for(settling, 10)
    assert sorted(ended) == ["a", "b"]
