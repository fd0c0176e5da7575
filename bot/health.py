"""Readiness: gateway connected on every shard the bot runs, database answering, schedulers running, no backlog."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord

from bot.services.backlog import overdue_work

if TYPE_CHECKING:
    from bot.app import CohortBot

DATABASE_ANSWER_WITHIN = 2.0


def gateway_problems(bot: CohortBot) -> list[str]:
    if bot.is_closed() or not bot.is_ready():
        return ["not connected to Discord's gateway yet"]
    if isinstance(bot, discord.AutoShardedClient):
        return [f"gateway shard {shard_id} is disconnected"
                for shard_id, shard in sorted(bot.shards.items()) if shard.is_closed()]
    ws = bot.ws
    return [] if ws is not None and ws.open else ["the gateway connection is closed"]


async def readiness_problems(bot: CohortBot | None, max_backlog: int) -> list[str]:
    """Every reason the bot is not ready, each a short sentence; empty when ready."""
    if bot is None or not hasattr(bot, "runner"):
        return ["starting: not logged in to Discord and connected to the database yet"]
    problems = gateway_problems(bot)
    if not bot.scheduler.running:
        problems.append("the scheduler is not running")
    try:
        # The backlog query doubles as the database check: it reads real tables, as the bot's work does.
        owed_here = overdue_work(bot.sessions, bot.clock.now(), bot.settings.ownership)
        backlog = await asyncio.wait_for(owed_here, DATABASE_ANSWER_WITHIN)
    except TimeoutError:
        problems.append(f"the database did not answer within {DATABASE_ANSWER_WITHIN:g} s")
    except Exception as exc:
        problems.append(f"the database is not answering ({type(exc).__name__})")
    else:
        owed = sum(backlog.values())
        if owed > max_backlog:
            detail = ", ".join(f"{kind} {count}" for kind, count in backlog.items() if count)
            problems.append(
                f"{owed} items owed for over 15 minutes ({detail}), more than READY_MAX_BACKLOG={max_backlog}"
            )
    return problems
