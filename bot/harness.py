"""Starts the real bot against a local sandbox: shared by the end-to-end tests, the demo and the benchmarks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.app import CohortBot, make_bot
from bot.clock import Clock
from bot.config import Settings
from bot.sandbox import Channel, Guild, Member, Perm, Role, Sandbox, World

READY_WITHIN = 10.0


@dataclass
class StudyServer:
    """A server as a study group has it: a moderator, learners, a cohort channel and a review channel."""

    world: World
    guild: Guild
    cohort_channel: Channel
    review_channel: Channel
    moderator: Member
    learners: list[Member]
    cohort_role: Role
    extra: dict[str, Channel] = field(default_factory=dict)


def build_study_server(learner_names: tuple[str, ...] = ("ada", "grace", "alan")) -> StudyServer:
    return add_study_server(World(bot_name="StudyBot"), "ML Study Group", learner_names)


def build_sharded_servers(
    servers: int, shard_count: int, learners: int = 2, channels: tuple[str, ...] = ()
) -> tuple[World, list[StudyServer]]:
    """`servers` study servers in one world, spread over `shard_count` shards in turn (server i on shard i % count),
    each with `learners` learners of its own and `channels` besides its cohort and review channels."""
    world = World(bot_name="StudyBot")
    built = [
        add_study_server(world, f"Study {i}", tuple(f"learner{i}-{j}" for j in range(learners)),
                         shard=(i % shard_count, shard_count), moderator=f"mod{i}")
        for i in range(servers)
    ]
    for server in built:
        for name in channels:
            server.extra[name] = server.guild.add_text_channel(name)
    return world, built


def add_study_server(
    world: World,
    name: str,
    learner_names: tuple[str, ...],
    *,
    shard: tuple[int, int] | None = None,
    moderator: str = "maria",
) -> StudyServer:
    """Add a study server to `world` (on `shard` = (id, count) when given)."""
    guild = world.add_guild(name, channels=("study-hall",), shard=shard)
    cohort_channel = guild.text_channels[0]
    review_channel = guild.add_text_channel("mod-reviews")
    cohort_role = guild.add_role("Spring Cohort", position=1)
    # Above the cohort role, below the bot's, with Manage Roles: able to give the cohort role by hand.
    moderators = guild.add_role("Moderators", cohort_role.position + 1, Perm.MANAGE_GUILD | Perm.MANAGE_ROLES)
    moderator_member = guild.add_member(moderator, roles=[moderators])
    learners = [guild.add_member(learner) for learner in learner_names]
    return StudyServer(world, guild, cohort_channel, review_channel, moderator_member, learners, cohort_role)


async def start_sandbox(server: StudyServer) -> Sandbox:
    """A started sandbox for `server`, whose moderator in the cohort channel is who acts unless a test says."""
    sandbox = Sandbox(server.world)
    await sandbox.start()
    sandbox.default_guild = server.guild
    sandbox.default_channel = server.cohort_channel
    sandbox.default_user = server.moderator
    return sandbox


@dataclass
class RunningBot:
    bot: CohortBot
    connection: asyncio.Task[None]
    sandbox: Sandbox

    async def stop(self) -> None:
        self.sandbox.settle_hooks.remove(self.bot.outbox.delivered)
        await self.bot.close()
        await self.connection


async def start_bot(
    sandbox: Sandbox,
    *,
    database_url: str,
    clock: Clock,
    dev_guild_id: int | None = None,
    shards: tuple[int, tuple[int, ...]] | None = None,
) -> RunningBot:
    """Log in, connect, wait for READY (of each shard, given `shards` = (count, ids)) and the first catch-up run."""
    count, ids = shards if shards is not None else (None, None)
    settings = Settings(DATABASE_URL=database_url, DEV_GUILD_ID=dev_guild_id, SHARD_COUNT=count, SHARD_IDS=ids)
    bot = make_bot(settings, clock=clock, guild_ready_timeout=0.05)
    try:
        await bot.login(sandbox.token)
    except BaseException:
        await bot.close()  # a start that failed must not leave its HTTP session and database open
        raise
    connection = asyncio.create_task(bot.connect(), name="bot-connection")
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({connection, ready}, timeout=READY_WITHIN, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        problem = connection.exception() if connection.done() else "timed out"
        await bot.close()
        raise RuntimeError(f"the bot never became ready: {problem}")
    if bot.catch_up is not None:
        await bot.catch_up
    # A settled answer comes with what it started delivering (a /submit's review message), as tests read it.
    sandbox.settle_hooks.append(bot.outbox.delivered)
    return RunningBot(bot, connection, sandbox)
