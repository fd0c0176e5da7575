"""Three sharded bots on one PostgreSQL (6 shards, 12 servers) run cohorts through 4 weeks: everything once.

Each bot is a whole bot (its own engine, scheduler, gateway connections and cache) in this test's process, so the
test can move their common clock; `tests/process/test_shard_processes.py` runs real processes and kills one.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.harness import RunningBot, StudyServer, build_sharded_servers, start_bot
from bot.pacing import DISCORD_SAFE_RATE
from bot.sandbox import Member, Sandbox
from tests.e2e.helpers import START, WEEK_1

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

COUNT = 6
PROCESSES = [(0, 1), (2, 3), (4, 5)]
SERVERS = 12
WEEKS = 4
DAILY = "Daily reminder for **Spring**"
WEEKLY = "checkpoint **"


@pytest_asyncio.fixture
async def scene() -> AsyncIterator[tuple[Sandbox, list[StudyServer]]]:
    world, servers = build_sharded_servers(SERVERS, COUNT)
    sandbox = Sandbox(world)
    await sandbox.start()
    sandbox.gateway.max_concurrency = COUNT  # every shard in its own bucket: no 5 s identify turns in this test
    try:
        with sandbox.point_discord_here():
            yield sandbox, servers
    finally:
        await sandbox.stop()


@pytest_asyncio.fixture
async def bots(
    scene: tuple[Sandbox, list[StudyServer]], database_url: str, clock: ManualClock
) -> AsyncIterator[list[RunningBot]]:
    sandbox, _ = scene
    running: list[RunningBot] = []
    for ids in PROCESSES:
        running.append(await start_bot(sandbox, database_url=database_url, clock=clock, shards=(COUNT, ids)))
    yield running
    for bot in running:
        if not bot.bot.is_closed():
            await bot.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def sweep(bots: list[RunningBot], clock: ManualClock, at: datetime) -> None:
    """Every bot's schedule and reminder sweeps at once, as their jobs would run them at `at`."""
    clock.set(at)
    reports = await asyncio.gather(*(bot.bot.runner.run_due() for bot in bots))
    for bot, report in zip(bots, reports, strict=True):
        ownership = bot.bot.settings.ownership
        assert report.scheduled and all(ownership.owns(s.cohort.guild_id) for s in report.scheduled)
    await asyncio.gather(*(bot.bot.reminder_runner.run_due() for bot in bots))
    for bot in bots:
        await bot.bot.outbox.settle()


def posts(sandbox: Sandbox, server: StudyServer) -> list[str]:
    return [m.embeds[0]["title"] for m in sandbox.messages_in(server.cohort_channel) if m.embeds]


def reminders(sandbox: Sandbox, learner: Member) -> tuple[int, int]:
    texts = [m.content for m in sandbox.dms_to(learner)]
    return sum(DAILY in t for t in texts), sum(WEEKLY in t for t in texts)


async def test_cohorts_in_12_servers_on_3_processes_get_every_post_and_reminder_once_and_answers_everywhere(
    scene: tuple[Sandbox, list[StudyServer]], bots: list[RunningBot], clock: ManualClock, database_url: str
) -> None:
    sandbox, servers = scene
    assert sandbox.gateway.connected_shards == [(shard, COUNT) for shard in range(COUNT)]
    assert sum(bot.bot.commands_synced for bot in bots) == 1, "only the shard-0 owner syncs the commands"
    assert [bot.bot.port.pace.rate for bot in bots] == [pytest.approx(DISCORD_SAFE_RATE / len(PROCESSES))] * 3
    for server in servers:
        created = await sandbox.slash(
            "cohort create", user=server.moderator, guild=server.guild, channel=server.cohort_channel,
            name="Spring", roadmap="ml-ai-study-guide", start="2026-03-02", review_channel=server.review_channel,
            options={"channel": server.cohort_channel},
        )
        assert created.content.startswith("Created"), created.content
        for learner in server.learners:
            joined = await sandbox.slash("join", user=learner, guild=server.guild, channel=server.cohort_channel)
            assert "Welcome" in joined.content, joined.content
    for bot in bots:
        await bot.bot.runner.settle()
    for week in range(WEEKS):
        opening = WEEK_1 + timedelta(weeks=week)
        if week == 1:
            # A rolling deploy: a new process takes shards 2-3 over while the old one still runs its sweeps.
            bots.append(await start_bot(sandbox, database_url=database_url, clock=clock, shards=(COUNT, (2, 3))))
        if week == 3:
            await bots.pop(1).stop()  # the old process of shards 2-3 goes
        for at in (opening, opening + timedelta(hours=9), opening + timedelta(days=5)):
            await sweep(bots, clock, at)
    titles = [posts(sandbox, server) for server in servers]
    assert all(len(t) == WEEKS and len(set(t)) == WEEKS for t in titles), [len(t) for t in titles]
    assert all(t == titles[0] for t in titles), "the same weeks in every server, each once"
    counts = Counter(reminders(sandbox, learner) for server in servers for learner in server.learners)
    assert counts == {(WEEKS, WEEKS): 2 * SERVERS}, counts
    for server in servers:
        learner = server.learners[0]
        submitted = await sandbox.slash(
            "submit", user=learner, guild=server.guild, channel=server.cohort_channel, week=WEEKS, link="https://example.org/w"
        )
        assert "Submitted" in submitted.content, submitted.content
        await sandbox.until(lambda s=server: sandbox.messages_in(s.review_channel), what="the review message")
        [review] = [m for m in sandbox.messages_in(server.review_channel) if m.components]
        click = await sandbox.click(review, "Approve", user=server.moderator)
        assert click.errors == [], click.errors
        await sandbox.until(
            lambda who=learner: any("approved" in m.content for m in sandbox.dms_to(who)), what="the approval DM"
        )
