"""Quota uses: only those inside the window count, and the schedule's sweep deletes the rest for the servers it owns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db.models import QuotaUse
from bot.errors import QuotaExceeded
from bot.services.quotas import DATA_EXPORTS, JOINS, Quota, QuotaSweep, take
from bot.shards import SNOWFLAKE_SHIFT, Ownership
from bot.wiring import Services
from tests.service.cast import ADA, GRACE, GUILD

OTHER_SHARD_GUILD = GUILD + (1 << SNOWFLAKE_SHIFT)
"""A server on shard 1 of 2 (GUILD is on shard 0)."""


async def use(sessions: async_sessionmaker[AsyncSession], clock: ManualClock, *uses: tuple[Quota, int, int]) -> None:
    for quota, guild_id, user_id in uses:
        async with sessions.begin() as session:
            await take(session, quota, clock.now(), guild_id, user_id)


async def kept(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int, int | None]]:
    async with sessions() as session:
        rows = await session.execute(select(QuotaUse.action, QuotaUse.guild_id, QuotaUse.user_id).order_by(QuotaUse.id))
        return [(action, guild_id, user_id) for action, guild_id, user_id in rows]


async def test_a_use_outside_the_window_no_longer_counts_before_any_sweep(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await use(sessions, clock, *[(DATA_EXPORTS, GUILD, ADA)] * DATA_EXPORTS.limit)
    with pytest.raises(QuotaExceeded):
        await use(sessions, clock, (DATA_EXPORTS, GUILD, ADA))
    clock.advance(DATA_EXPORTS.window - timedelta(seconds=1))
    with pytest.raises(QuotaExceeded):
        await use(sessions, clock, (DATA_EXPORTS, GUILD, ADA))
    clock.advance(timedelta(seconds=1))  # the retry time the refusal gives: a window after the oldest use
    await use(sessions, clock, (DATA_EXPORTS, GUILD, ADA))
    assert len(await kept(sessions)) == DATA_EXPORTS.limit + 1, "nothing was deleted on the way"


async def test_the_sweep_deletes_each_quotas_uses_outside_its_own_window_on_every_server(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await use(sessions, clock, (JOINS, GUILD, ADA), (DATA_EXPORTS, GUILD, ADA), (DATA_EXPORTS, GUILD + 1, GRACE))
    clock.advance(timedelta(hours=2))
    await use(sessions, clock, (DATA_EXPORTS, GUILD, GRACE))
    swept = QuotaSweep(sessions, clock, ownership=Ownership())
    assert await swept.sweep() == 2, "both exports of two hours ago, on both servers"
    assert await kept(sessions) == [("join", GUILD, ADA), ("data-export", GUILD, GRACE)]
    clock.advance(JOINS.window)
    assert await swept.sweep() == 2
    assert await kept(sessions) == []


async def test_a_process_sweeps_only_the_servers_of_its_shards(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await use(sessions, clock, (JOINS, GUILD, ADA), (JOINS, OTHER_SHARD_GUILD, ADA))
    clock.advance(JOINS.window + timedelta(minutes=1))
    assert await QuotaSweep(sessions, clock, ownership=Ownership.of(2, [1])).sweep() == 1
    assert await kept(sessions) == [("join", GUILD, ADA)]


async def test_the_schedules_minute_run_sweeps_them(
    services: Services, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    await use(sessions, clock, (DATA_EXPORTS, GUILD, ADA))
    clock.advance(DATA_EXPORTS.window + timedelta(minutes=1))
    await services.runner.run_due()
    assert await kept(sessions) == []
