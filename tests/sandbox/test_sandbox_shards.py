"""The sandbox speaks shards: real discord.py AutoShardedBots identify per shard and get only their servers' events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import aiohttp
import discord
import pytest_asyncio
from discord.ext import commands

from bot.sandbox import Sandbox, World, payloads
from bot.sandbox.reply import Reply
from bot.sandbox.world import Guild

COUNT = 2
READY_WITHIN = 10.0


class ShardedBot(commands.AutoShardedBot):
    """A bare AutoShardedBot with one global command that says which process and shard answered."""

    def __init__(self, name: str, shard_ids: Sequence[int] | None) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05,
            shard_count=None if shard_ids is None else COUNT, shard_ids=None if shard_ids is None else list(shard_ids),
        )
        self.name = name

        @self.tree.command(description="Say who answered")
        async def where(interaction: discord.Interaction) -> None:
            assert interaction.guild is not None
            await interaction.response.send_message(f"{self.name} shard {interaction.guild.shard_id}")

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5-second wait between this test's identifies (the sandbox records them instead)."""


def build_world() -> tuple[World, list[Guild]]:
    world = World(bot_name="StudyBot")
    guilds = [world.add_guild(f"server {i}", shard=(i % COUNT, COUNT)) for i in range(2 * COUNT)]
    return world, guilds


@pytest_asyncio.fixture
async def scene() -> AsyncIterator[tuple[Sandbox, list[Guild]]]:
    world, guilds = build_world()
    sandbox = Sandbox(world)
    await sandbox.start()
    try:
        with sandbox.point_discord_here():
            yield sandbox, guilds
    finally:
        await sandbox.stop()


async def start(sandbox: Sandbox, bot: ShardedBot) -> asyncio.Task[None]:
    await bot.login(sandbox.token)
    running = asyncio.create_task(bot.connect())
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({running, ready}, timeout=READY_WITHIN, return_when=asyncio.FIRST_COMPLETED)
    assert ready in done, f"never ready: {running.exception() if running.done() else 'timed out'}"
    return running


async def where(sandbox: Sandbox, guild: Guild) -> Reply:
    """/where, used by the server's owner in its first channel."""
    return await sandbox.slash("where", guild=guild, channel=guild.text_channels[0], user=guild.member(guild.owner_id))


async def stop(bot: ShardedBot, running: asyncio.Task[None]) -> None:
    await bot.close()
    await asyncio.wait_for(running, READY_WITHIN)


async def test_gateway_bot_tells_shards_and_the_identify_budget(scene: tuple[Sandbox, list[Guild]]) -> None:
    sandbox, _ = scene
    sandbox.gateway.recommended_shards, sandbox.gateway.max_concurrency = 4, 16
    async with aiohttp.ClientSession() as http, http.get(sandbox.api_base + "/gateway/bot") as answer:
        body = await answer.json()
    assert body["url"] == sandbox.gateway_url and body["shards"] == 4
    assert body["session_start_limit"] == {
        "total": 1000, "remaining": 1000, "reset_after": 86_400_000, "max_concurrency": 16,
    }


async def test_one_process_runs_the_recommended_shards_each_with_its_own_servers(
    scene: tuple[Sandbox, list[Guild]],
) -> None:
    sandbox, guilds = scene
    sandbox.gateway.recommended_shards = COUNT
    bot = ShardedBot("solo", None)  # no shard_count: discord.py asks GET /gateway/bot
    running = await start(sandbox, bot)
    try:
        assert sandbox.requests_to("GET", "/gateway/bot")
        assert bot.shard_count == COUNT and sandbox.gateway.connected_shards == [(0, COUNT), (1, COUNT)]
        assert [shard for _, shard in sandbox.gateway.identifies] == [(0, COUNT), (1, COUNT)]
        assert sandbox.gateway.crowded_identifies() == [(1, COUNT)], "this test's bot skips discord.py's 5 s wait"
        for guild in guilds:
            seen = bot.get_guild(guild.id)
            assert seen is not None and seen.shard_id == (guild.id >> 22) % COUNT
        remaining = len(sandbox.gateway.identifies)
        async with aiohttp.ClientSession() as http, http.get(sandbox.api_base + "/gateway/bot") as answer:
            assert (await answer.json())["session_start_limit"]["remaining"] == 1000 - remaining
    finally:
        await stop(bot, running)


async def test_two_processes_each_get_their_servers_events_and_dms_go_to_shard_0(
    scene: tuple[Sandbox, list[Guild]],
) -> None:
    sandbox, guilds = scene
    bots = [ShardedBot(f"p{shard}", [shard]) for shard in range(COUNT)]
    tasks = [await start(sandbox, bot) for bot in bots]
    try:
        await bots[0].tree.sync()  # commands belong to the application: one process syncs them
        for guild in guilds:
            shard = (guild.id >> 22) % COUNT
            assert [b.get_guild(guild.id) is not None for b in bots] == [i == shard for i in range(COUNT)]
            reply = await where(sandbox, guild)
            assert reply.content == f"p{shard} shard {shard}"
            await sandbox.dispatch("GUILD_UPDATE", {**payloads.guild_summary(guild), "name": f"renamed {guild.id}"})
            renamed = bots[shard].get_guild(guild.id)
            await sandbox.until(lambda g=renamed: g is not None and g.name.startswith("renamed"), what="the rename")
        sessions = {session.shard: session for session in sandbox.gateway.shards.values()}
        await sandbox.dispatch("USER_UPDATE", payloads.user(sandbox.world.bot))
        assert sessions[(0, COUNT)].backlog[-1]["t"] == "USER_UPDATE"
        assert all(frame["t"] != "USER_UPDATE" for frame in sessions[(1, COUNT)].backlog)
        for (shard, _), session in sessions.items():
            renamed_here = {int(f["d"]["id"]) for f in session.backlog if f["t"] == "GUILD_UPDATE"}
            assert renamed_here == {g.id for g in guilds if (g.id >> 22) % COUNT == shard}
    finally:
        for bot, task in zip(bots, tasks, strict=True):
            await stop(bot, task)


async def test_a_second_session_of_the_same_shard_takes_its_events_over(scene: tuple[Sandbox, list[Guild]]) -> None:
    sandbox, guilds = scene
    old, new = ShardedBot("old", [0, 1]), ShardedBot("new", [1])
    old_task = await start(sandbox, old)
    new_task = await start(sandbox, new)
    try:
        await old.tree.sync()
        answers = [(await where(sandbox, g)).content for g in guilds]
        assert answers == [f"{'old' if i % COUNT == 0 else 'new'} shard {i % COUNT}" for i in range(len(guilds))]
    finally:
        await stop(new, new_task)
        await stop(old, old_task)
