"""The bot process: no privileged intents, no pings by default, a clean close, a quick start."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta
from typing import Any

import discord

from bot.clock import ManualClock
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Sandbox
from tests.e2e.helpers import Launcher

PRIVILEGED_INTENTS = {"GUILD_MEMBERS": 1 << 1, "GUILD_PRESENCES": 1 << 8, "MESSAGE_CONTENT": 1 << 15}
NO_PINGS = {"parse": []}


def message_bodies(sandbox: Sandbox) -> list[tuple[str, dict[str, Any]]]:
    """(route, JSON body) of every message the bot created or edited: channel posts, replies, followups."""
    found = []
    for request in sandbox.requests:
        body = request.json if isinstance(request.json, dict) else {}
        if request.method != "POST":
            continue
        if request.path.endswith("/callback") and body.get("type") in (4, 7):
            found.append((request.path, body.get("data") or {}))
        elif request.path.startswith("/webhooks/") or re.fullmatch(r"/channels/\d+/messages", request.path):
            found.append((request.path, body))
    return found


async def test_the_bot_asks_for_no_privileged_intent(sandbox: Sandbox, bot: RunningBot):
    intents = bot.bot.intents
    assert (intents.members, intents.presences, intents.message_content) == (False, False, False)
    session = sandbox.gateway.current
    assert session is not None
    asked = {name for name, bit in PRIVILEGED_INTENTS.items() if session.intents & bit}
    assert not asked, f"IDENTIFY asked for privileged intents {asked}"
    assert session.intents & discord.Intents(guilds=True).value, "it still needs the guilds intent"


async def test_messages_the_bot_sends_allow_no_mentions_unless_it_means_to(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    assert bot.bot.allowed_mentions is not None
    assert bot.bot.allowed_mentions.to_dict() == NO_PINGS
    # A name a moderator typed, full of would-be pings, ends up in replies and in the week post.
    reply = await sandbox.slash(
        "cohort create", name="@everyone Spring", roadmap="ml-ai-study-guide", start="2026-03-02",
        options={"channel": server.cohort_channel}, user=server.moderator,
    )
    assert "@everyone Spring" in (reply.content or ""), reply
    await sandbox.slash("join", user=server.learners[0])
    clock.advance(timedelta(hours=1))
    await bot.bot.runner.run_due()
    posts = sandbox.messages_in(server.cohort_channel)
    assert posts, "week 1 was posted"
    sent = message_bodies(sandbox)
    channel_posts = [path for path, _ in sent if path.startswith("/channels/")]
    replies = [path for path, _ in sent if path.endswith("/callback")]
    assert channel_posts and replies, sent
    unguarded = [(path, body.get("allowed_mentions")) for path, body in sent
                 if body.get("allowed_mentions") != NO_PINGS]
    assert not unguarded, unguarded


async def test_close_stops_the_scheduler_and_releases_the_database(
    sandbox: Sandbox, server: StudyServer, launch: Launcher
):
    first = await launch()
    reply = await sandbox.slash("cohort list", user=server.moderator)
    assert "No cohorts yet" in (reply.content or "")
    scheduler = first.bot.runner._scheduler
    assert scheduler.running
    pool = first.bot.engine.pool
    assert pool.checkedin() > 0, "the pool keeps a connection while the bot runs"
    await first.stop()
    assert not scheduler.running
    assert first.bot.engine.pool.checkedin() == 0, "close() disposed the engine's connections"
    assert first.bot.is_closed()
    assert first.connection.done() and first.connection.exception() is None
    leftovers = [t.get_name() for t in asyncio.all_tasks() if "schedule" in t.get_name() and not t.done()]
    assert not leftovers, leftovers
    # The same database opens again at once: nothing was left locked or half-written.
    second = await launch()
    assert second.bot.runner._scheduler.running
    again = await sandbox.slash("cohort list", user=server.moderator)
    assert "No cohorts yet" in (again.content or "")


async def test_start_and_first_command_time_is_reported(sandbox: Sandbox, server: StudyServer, launch: Launcher):
    began = time.perf_counter()
    await launch()
    ready = time.perf_counter()
    reply = await sandbox.slash("cohort list", user=server.moderator)
    answered = time.perf_counter()
    assert "No cohorts yet" in (reply.content or "")
    # Informational only: machines differ, so this is printed, never asserted.
    print(f"\nstart to ready: {ready - began:.3f}s; first command answered in {answered - ready:.3f}s; "
          f"total {answered - began:.3f}s")
