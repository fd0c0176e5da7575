"""Sharded `python -m bot run` processes on one PostgreSQL against the sandbox: kill -9 mid-post, overlap, once.

Real processes run in real time, so the cohorts start 22 days ago: weeks 1-4 are due at once when they are created,
which is the catch-up sweep the processes run (and one of them is killed in the middle of).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.db.engine import create_engine
from bot.db.models import Delivery, DeliveryState
from bot.harness import StudyServer, build_sharded_servers
from bot.sandbox import Message, Sandbox
from bot.services.posting import WEEK_POST
from tests.processes import READY_WITHIN, Process, Spawn

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

COUNT = 4
SERVERS = 8
WEEKS_DUE = 4
POSTS_WITHIN = 60.0
"""Bound on the whole catch-up (32 posts and threads, paced per channel, a restart in between)."""


@pytest_asyncio.fixture
async def scene() -> AsyncIterator[tuple[Sandbox, list[StudyServer]]]:
    world, servers = build_sharded_servers(SERVERS, COUNT, learners=1)
    sandbox = Sandbox(world)
    await sandbox.start()
    sandbox.gateway.max_concurrency = COUNT
    try:
        yield sandbox, servers
    finally:
        await sandbox.stop()


async def bot(spawn: Spawn, sandbox: Sandbox, database_url: str, shards: str) -> Process:
    return await spawn(
        "run", DATABASE_URL=database_url, DISCORD_SANDBOX_URL=sandbox.url, SHARD_COUNT=str(COUNT), SHARD_IDS=shards
    )


async def connected(sandbox: Sandbox, children: list[Process], shards: list[int]) -> None:
    def ready() -> bool:
        dead = [c for c in children if c.proc.returncode is not None]
        assert not dead, f"a bot exited ({dead[0].proc.returncode}):\n{dead[0].text}"
        return {s for s, _ in sandbox.gateway.connected_shards} >= set(shards)

    await sandbox.until(ready, READY_WITHIN, f"shards {shards} to connect")


def on_shard(server: StudyServer, shards: tuple[int, ...]) -> bool:
    return (server.guild.id >> 22) % COUNT in shards


async def every_post_recorded(database_url: str) -> None:
    """Until the ledger has every week post sent (a post not yet recorded could still be retried)."""
    engine = create_engine(database_url)
    query = select(func.count()).where(Delivery.kind == WEEK_POST, Delivery.state == DeliveryState.SENT)
    try:
        while True:
            async with engine.connect() as connection:
                if await connection.scalar(query) == WEEKS_DUE * SERVERS:
                    return
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def test_a_process_killed_mid_post_and_two_processes_of_the_same_shards_still_post_every_week_once(
    scene: tuple[Sandbox, list[StudyServer]], spawn: Spawn, database_url: str
) -> None:
    sandbox, servers = scene
    migrate = await spawn("db", "upgrade", DATABASE_URL=database_url)  # once, as docker-compose's `migrate` does
    assert await migrate.wait(READY_WITHIN) == 0, migrate.text
    first = await bot(spawn, sandbox, database_url, "0-1")
    await sandbox.until(lambda: sandbox.synced_commands(), READY_WITHIN, "the shard-0 process to sync the commands")
    doomed = await bot(spawn, sandbox, database_url, "2-3")
    await connected(sandbox, [first, doomed], list(range(COUNT)))
    victim = next(s for s in servers if on_shard(s, (2, 3)))
    messages = f"/channels/{victim.cohort_channel.id}/messages"
    release = sandbox.hold_next("POST", messages)
    start = (datetime.now(UTC) - timedelta(days=22)).date().isoformat()
    for server in servers:
        created = await sandbox.slash(
            "cohort create", user=server.moderator, guild=server.guild, channel=server.cohort_channel, name="Spring",
            roadmap="ml-ai-study-guide", start=start, review_channel=server.review_channel,
            options={"channel": server.cohort_channel},
        )
        assert created.content.startswith("Created"), created.content
    await sandbox.until(lambda: sandbox.requests_to("POST", messages), READY_WITHIN, "the held week post")
    doomed.proc.kill()  # kill -9 while Discord has the week post and the ledger says it is being sent
    await doomed.wait(READY_WITHIN)
    release.set()  # the post Discord was holding goes through after all, unrecorded by anyone
    # A rolling restart: two processes of shards 2-3 start at the same moment; both find the cut-off post.
    children = [first, await bot(spawn, sandbox, database_url, "2-3"), await bot(spawn, sandbox, database_url, "2-3")]
    await connected(sandbox, children, [2, 3])
    # Both identify shards 2 and 3, in turns 5 s apart per bucket; the later one's sessions get their events.
    await sandbox.until(lambda: len(sandbox.gateway.identifies) == COUNT + 2 + 2, READY_WITHIN,
                        "both restarted processes to identify")
    await sandbox.until(
        lambda: all(len(posts(sandbox, s)) >= WEEKS_DUE for s in servers), POSTS_WITHIN, "every server's four weeks"
    )
    await asyncio.wait_for(every_post_recorded(database_url), POSTS_WITHIN)  # nothing is left to retry after this
    assert sandbox.requests_to("POST", messages)[0].status == 200, "Discord took the post the killed process sent"
    for server in servers:
        titles = posts(sandbox, server)
        assert len(titles) == WEEKS_DUE and len(set(titles)) == WEEKS_DUE, (server.guild.name, titles)
    for server in servers:
        joined = await sandbox.slash("join", user=server.learners[0], guild=server.guild, channel=server.cohort_channel)
        assert "Welcome" in joined.content, joined.content
        submitted = await sandbox.slash(
            "submit", user=server.learners[0], guild=server.guild, channel=server.cohort_channel, week=1,
            link="https://example.org/work",
        )
        assert "Submitted" in submitted.content, submitted.content
        await sandbox.until(lambda s=server: reviewable(sandbox, s), READY_WITHIN, "the review message")
        click = await sandbox.click(reviewable(sandbox, server)[0], "Approve", user=server.moderator)
        assert click.errors == [], click.errors
    for child in children:
        assert "Traceback" not in child.text, child.text
    assert sandbox.gateway.crowded_identifies() == [], "processes took turns in each identify bucket"


def posts(sandbox: Sandbox, server: StudyServer) -> list[str]:
    return [m.embeds[0]["title"] for m in sandbox.messages_in(server.cohort_channel) if m.embeds]


def reviewable(sandbox: Sandbox, server: StudyServer) -> list[Message]:
    return [m for m in sandbox.messages_in(server.review_channel) if m.components]
