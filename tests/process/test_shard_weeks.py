"""Three bot OS processes (shards 0-1, 2-3, 4-5 of 6) on one PostgreSQL run 12 servers' cohorts through 4 weeks.

Each process is the real bot in a process of its own (`bot/harness_processes.py`) whose ManualClock this test moves
over a pipe, so the weeks and reminders fall due on order; one process is killed -9 in the middle of a week's sweep
and restarted, and from week 2 a second process of shards 2-3 sweeps beside it (a rolling deploy). Every post,
reminder and digest exactly once, each process on its own servers only, and a command and a review button answered
in every server. (`test_shard_processes.py` runs `python -m bot run` in real time.)
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import cast

import pytest
import pytest_asyncio

from bot.db.engine import create_engine
from bot.db.migrate import upgrade_to_head
from bot.harness import StudyServer, build_sharded_servers
from bot.harness_processes import READY_WITHIN, Processes
from bot.sandbox import Member, Sandbox
from tests.e2e.helpers import START, WEEK_1

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

COUNT = 6
LAYOUT = [(0, 1), (2, 3), (4, 5)]
SERVERS = 12
WEEKS = 4
VICTIM = 1
"""The process killed in the middle of week 1's sweep (shards 2-3)."""
DAILY = "Daily reminder for **Spring**"
WEEKLY = "checkpoint **"
DIGEST = re.compile(r"Weekly digest · Spring\*\* — week (\d+) of")
ANSWER_WITHIN = 30.0
"""Bound on one command's answer or one awaited message (a noisy machine, several processes)."""

Scene = tuple[Sandbox, list[StudyServer], Processes]


@pytest_asyncio.fixture
async def scene(database_url: str) -> AsyncIterator[Scene]:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)  # once, before the processes, as docker-compose's `migrate` does
    finally:
        await engine.dispose()
    world, servers = build_sharded_servers(SERVERS, COUNT)
    sandbox = Sandbox(world)
    await sandbox.start()
    sandbox.gateway.max_concurrency = COUNT  # every shard in its own bucket: no 5 s identify turns at the start
    sandbox.response_timeout = ANSWER_WITHIN
    processes = Processes(LAYOUT, sandbox.url, database_url, count=COUNT, start=START)
    try:
        await processes.ready()
        yield sandbox, servers, processes
    finally:
        await processes.stop()
        await sandbox.stop()


def owned(servers: list[StudyServer], shards: tuple[int, ...]) -> set[int]:
    return {s.guild.id for s in servers if (s.guild.id >> 22) % COUNT in shards}


async def sweep(processes: Processes, at: datetime, servers: list[StudyServer]) -> None:
    """Every process sweeps at `at`; each looked at the servers of its shards, and only those."""
    looked = await processes.all("sweep", at.isoformat())
    assert [set(cast(list[int], guilds)) for guilds in looked] == [owned(servers, ids) for ids in processes.layout]


async def sweep_killing_one(processes: Processes, at: datetime, sandbox: Sandbox, victim: StudyServer) -> None:
    """Every process sweeps at `at`; the victim's process is killed -9 while Discord holds `victim`'s week post,
    which then goes through unrecorded; a new process of those shards starts at `at` and sweeps again."""
    messages = f"/channels/{victim.cohort_channel.id}/messages"
    release = sandbox.hold_next("POST", messages)
    everyone = range(len(processes.layout))
    processes.send(everyone, "sweep", at.isoformat())
    await sandbox.until(lambda: sandbox.requests_to("POST", messages), ANSWER_WITHIN, "the held week post")
    processes.kill(VICTIM)
    release.set()
    await processes.answers([i for i in everyone if i != VICTIM])
    await processes.restart(VICTIM, at)
    processes.send([VICTIM], "sweep", at.isoformat())
    await processes.answers([VICTIM])
    assert sandbox.requests_to("POST", messages)[0].status == 200, "Discord took the post the killed process sent"


def posts(sandbox: Sandbox, server: StudyServer) -> list[str]:
    return [m.embeds[0]["title"] for m in sandbox.messages_in(server.cohort_channel) if m.embeds]


def reminders(sandbox: Sandbox, learner: Member) -> tuple[int, int]:
    texts = [m.content for m in sandbox.dms_to(learner)]
    return sum(DAILY in t for t in texts), sum(WEEKLY in t for t in texts)


def digests(sandbox: Sandbox, server: StudyServer) -> list[str]:
    return [m[1] for message in sandbox.messages_in(server.review_channel) if (m := DIGEST.search(message.content))]


async def test_cohorts_in_12_servers_on_3_processes_get_every_post_and_reminder_once_through_a_kill_9(
    scene: Scene,
) -> None:
    sandbox, servers, processes = scene
    assert len(sandbox.synced_commands()) > 0, "the shard-0 process synced the commands"
    for server in servers:
        created = await sandbox.slash(
            "cohort create", user=server.moderator, guild=server.guild, channel=server.cohort_channel,
            name="Spring", roadmap="ml-ai-study-guide", start=WEEK_1.date().isoformat(),
            review_channel=server.review_channel, options={"channel": server.cohort_channel},
        )
        assert created.content.startswith("Created"), created.content
        for learner in server.learners:
            joined = await sandbox.slash("join", user=learner, guild=server.guild, channel=server.cohort_channel)
            assert "Welcome" in joined.content, joined.content
    await processes.all("settle")
    victim = next(s for s in servers if s.guild.id in owned(servers, LAYOUT[VICTIM]))
    for week in range(WEEKS):
        opening = WEEK_1 + timedelta(weeks=week)
        if week == 1:
            await processes.add(LAYOUT[VICTIM], opening)  # both processes of shards 2-3 sweep from now on
        if week == 0:
            await sweep_killing_one(processes, opening, sandbox, victim)
        else:
            await sweep(processes, opening, servers)
        for at in (opening + timedelta(hours=9), opening + timedelta(days=5)):  # daily, then weekly reminders
            await sweep(processes, at, servers)
    titles = [posts(sandbox, server) for server in servers]
    assert all(len(t) == WEEKS and len(set(t)) == WEEKS for t in titles), titles
    assert all(t == titles[0] for t in titles), "the same weeks in every server, each once"
    counts = Counter(reminders(sandbox, learner) for server in servers for learner in server.learners)
    assert counts == {(WEEKS, WEEKS): sum(len(s.learners) for s in servers)}, counts
    assert [digests(sandbox, server) for server in servers] == [["2", "3", "4"]] * SERVERS
    assert sandbox.gateway.crowded_identifies() == [], "the restarted and the added process took identify turns"
    for server in servers:
        learner = server.learners[0]
        submitted = await sandbox.slash(
            "submit", user=learner, guild=server.guild, channel=server.cohort_channel, week=WEEKS,
            link="https://example.org/w",
        )
        assert "Submitted" in submitted.content, submitted.content
        await sandbox.until(
            lambda s=server: [m for m in sandbox.messages_in(s.review_channel) if m.components], ANSWER_WITHIN,
            "the review message",
        )
        [review] = [m for m in sandbox.messages_in(server.review_channel) if m.components]
        click = await sandbox.click(review, "Approve", user=server.moderator)
        assert click.errors == [], click.errors
        await sandbox.until(
            lambda who=learner: any("approved" in m.content for m in sandbox.dms_to(who)), READY_WITHIN,
            "the approval DM",
        )
