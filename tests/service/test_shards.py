"""Sharded processes on one database: each sweeps only its servers' work, and overlap never sends anything twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db.models import OutboxMessage
from bot.services.backlog import OVERDUE_AFTER, overdue_work
from bot.services.cohorts import NewCohort
from bot.services.outbox import OutboxItem, owe
from bot.shards import Ownership
from bot.wiring import Services, build_services
from tests.fake_port import FakePort
from tests.service.cast import MODERATOR, START

Sessions = async_sessionmaker[AsyncSession]
COUNT = 3
LEARNERS = (501, 502)


def guild_on(shard: int, serial: int) -> int:
    """A snowflake-sized server id on `shard` of COUNT (ids near 2**62 catch a division done in floating point)."""
    return (((1 << 40) + serial * COUNT + shard) << 22) | 4095


GUILDS = [guild_on(shard, serial) for serial in range(2) for shard in range(COUNT)]


async def test_the_sql_filter_agrees_with_python_on_this_database(sessions: Sessions, clock: ManualClock) -> None:
    guilds = [None, 1, 4194303, 4194304, 3 * 4194304 + 5, (1 << 62) + 12345, *GUILDS]
    async with sessions.begin() as session:
        rows = [owe(session, clock, "probe", {}, f"lane:{i}", guild_id=g) for i, g in enumerate(guilds)]
        await session.flush()
        by_id = {row.id: row.guild_id for row in rows}
    for ownership in (Ownership.of(3, (0,)), Ownership.of(3, (1, 2)), Ownership.of(4, (2, 3)), Ownership.of(7, (6,))):
        async with sessions() as session:
            found = set(await session.scalars(select(OutboxMessage.id).where(ownership.where(OutboxMessage.guild_id))))
        assert found == {i for i, g in by_id.items() if ownership.owns(g)}, ownership


@pytest_asyncio.fixture
async def processes(sessions: Sessions, clock: ManualClock) -> AsyncIterator[list[tuple[Services, FakePort]]]:
    """COUNT processes of one shard each, then a fourth that owns shard 1 too (a rolling deploy's overlap)."""
    wired = []
    for ids in [(shard,) for shard in range(COUNT)] + [(1,)]:
        port = FakePort()
        wired.append((build_services(sessions, clock, port, ownership=Ownership.of(COUNT, ids)), port))
    try:
        yield wired
    finally:
        for services, _ in wired:
            await services.close()


async def _cohorts(services: Services) -> None:
    for guild in GUILDS:
        await services.cohorts.create(
            NewCohort(guild_id=guild, name="Spring", roadmap_id="ml-ai-study-guide", start="2026-03-02",
                      channel_id=guild + 1, created_by=MODERATOR)
        )
        for user in LEARNERS:
            await services.enrolment.join(guild, "Spring", user, f"learner{user}")
    await services.runner.settle()


def _guild_of_channel(channel_id: int) -> int:
    return channel_id - 1


@pytest.mark.parametrize("overlap", [False, True], ids=["split", "overlap"])
async def test_each_process_posts_and_reminds_only_its_servers_and_all_exactly_once(
    processes: list[tuple[Services, FakePort]], clock: ManualClock, overlap: bool
) -> None:
    first = processes[0][0]
    await _cohorts(first)
    for _, port in processes:
        port.calls.clear()  # creating the cohorts ran the first process's schedule: start from nothing sent
    running = processes if overlap else processes[:COUNT]
    for moment in (datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 18, tzinfo=UTC)):
        clock.set(moment)
        for services, _ in running:
            await services.runner.run_due()
            await services.reminders.run_due(now=moment)
    posts: list[int] = []
    reminded: list[tuple[int, int]] = []
    for index, (_, port) in enumerate(running):
        ownership = Ownership.of(COUNT, (index % COUNT,) if index < COUNT else (1,))
        mine = [_guild_of_channel(post.channel_id) for post, _ in port.called("post_week_part")]
        theirs = [(notice.guild_id, notice.user_id) for (notice,) in port.called("notify_learner")]
        assert all(ownership.owns(g) for g in mine) and all(ownership.owns(g) for g, _ in theirs)
        posts += mine
        reminded += theirs
    assert sorted(posts) == sorted(GUILDS), "every server's week 1 once, whichever process got there"
    assert sorted(reminded) == sorted((g, u) for g in GUILDS for u in LEARNERS)


async def test_the_outbox_of_a_server_is_delivered_by_its_shard_and_dms_by_shard_0(
    processes: list[tuple[Services, FakePort]], sessions: Sessions, clock: ManualClock
) -> None:
    clock.set(START)
    delivered: list[tuple[int, int | None]] = []
    for index, (services, _) in enumerate(processes[:COUNT]):

        async def handler(item: OutboxItem, process: int = index) -> None:
            delivered.append((process, item.payload["guild"]))

        services.outbox.register("probe", handler)
    async with sessions.begin() as session:
        for guild in [*GUILDS, None]:
            owe(session, clock, "probe", {"guild": guild}, f"lane:{guild}", guild_id=guild)
    for services, _ in processes[:COUNT]:
        assert await services.outbox.mark_interrupted() == 0
        await services.outbox.drain()
    assert sorted(delivered, key=str) == sorted(
        [(Ownership.of(COUNT, (0,)).shard_of(g), g) for g in GUILDS] + [(0, None)], key=str
    )


async def test_a_process_is_unready_only_for_what_its_servers_are_owed(sessions: Sessions, clock: ManualClock) -> None:
    clock.set(START)
    async with sessions.begin() as session:
        for guild in [*GUILDS, None]:
            owe(session, clock, "probe", {}, f"lane:{guild}", guild_id=guild)
    later = START + OVERDUE_AFTER + timedelta(minutes=1)
    owed = [(await overdue_work(sessions, later, Ownership.of(COUNT, (shard,))))["outbox"] for shard in range(COUNT)]
    assert owed == [len(GUILDS) // COUNT + 1, len(GUILDS) // COUNT, len(GUILDS) // COUNT], "shard 0 owes the DM too"
    assert (await overdue_work(sessions, later))["outbox"] == len(GUILDS) + 1
