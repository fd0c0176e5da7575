"""Discord-side checks and autocompletes for live sessions: the events permission, the channel, the choices."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.checks import cohort_bot
from bot.errors import Forbidden, InvalidInput
from bot.schedule.sessions import WEEKDAYS

VOCAL = (discord.ChannelType.voice, discord.ChannelType.stage_voice)


def check_event_permission(guild: discord.Guild) -> None:
    allowed = guild.me.guild_permissions
    if not (allowed.manage_events or allowed.create_events):
        raise Forbidden(
            "I need the Manage Events (or Create Events) permission to keep live sessions as Discord events. "
            "Give it to my role in Server Settings → Roles, then try again."
        )


def check_session_channel(
    guild: discord.Guild, channel: app_commands.AppCommandChannel, location: str | None
) -> None:
    if channel.type not in VOCAL:
        raise InvalidInput(
            f"{channel.mention} is not a voice or stage channel. Pick one, or leave `channel` out and give a location."
        )
    if location:
        raise InvalidInput("A session meets either in a channel or at a location; give only one of them.")
    cached = guild.get_channel(channel.id)
    allowed = cached.permissions_for(guild.me) if cached is not None else None
    if allowed is None or not (allowed.view_channel and allowed.connect):
        raise InvalidInput(
            f"I need View Channel and Connect in {channel.mention} to make events there. Grant them, or pick another."
        )


async def weekday_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    needle = current.strip().casefold()
    return [app_commands.Choice(name=d.capitalize(), value=d) for d in WEEKDAYS if d.startswith(needle)]


async def session_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    bot = cohort_bot(interaction)
    cohort = getattr(interaction.namespace, "cohort", None)
    if interaction.guild_id is None or not cohort:
        return []
    return [
        app_commands.Choice(name=label, value=value)
        for label, value in await bot.live_sessions.choices(interaction.guild_id, cohort, current)
    ]
