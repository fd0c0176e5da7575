"""The load benchmark's floor: a toy discord.py bot with one `/ping`, run the way `python -m bot run` runs.

`DISCORD_SANDBOX_URL=http://127.0.0.1:PORT python -m bench.ping_bot` (only against the sandbox).
"""

from __future__ import annotations

import asyncio
import os
import signal

import discord
from discord import app_commands

from bot import event_loop
from bot.sandbox import point_discord_at


class PingBot(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default())
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="ping", description="Answer pong.")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", ephemeral=True)

    async def setup_hook(self) -> None:
        await self.tree.sync()


async def serve() -> None:
    bot = PingBot()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with bot:
        await bot.login("sandbox-token")
        connection = asyncio.create_task(bot.connect())
        await stop.wait()
        await bot.close()
        await connection


if __name__ == "__main__":
    point_discord_at(os.environ["DISCORD_SANDBOX_URL"])
    event_loop.run(serve())  # as `python -m bot run` runs
