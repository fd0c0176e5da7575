"""Discord-side guards and autocompletes shared by the cogs: moderators, known servers, name lookups."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

import discord
from discord import app_commands

from bot.errors import Forbidden

if TYPE_CHECKING:
    from bot.app import CohortBot

ChoiceT = TypeVar("ChoiceT", str, int)
Autocomplete = Callable[[discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[ChoiceT]]]]


def cohort_bot(interaction: discord.Interaction) -> CohortBot:
    """The bot an interaction reached: always ours, though discord.py types `interaction.client` as any Client."""
    return cast("CohortBot", interaction.client)


def known_guild(interaction: discord.Interaction) -> discord.Guild:
    """The server of a guild interaction; refuses when the bot has not been told about it yet."""
    guild = interaction.guild
    # For a server the gateway has not told us about, discord.py builds a stand-in Guild from the
    # interaction (no channels, roles or members), so `guild is None` alone does not catch it.
    if guild is None or interaction.client.get_guild(guild.id) is None:
        raise Forbidden("I don't know this server yet (I may have just been added). Try again in a minute.")
    return guild


async def require_moderator(interaction: discord.Interaction) -> None:
    """Bot-side check: Discord's default permissions can be overridden by server admins, this cannot."""
    guild = known_guild(interaction)
    bot = cohort_bot(interaction)
    member = interaction.user if isinstance(interaction.user, discord.Member) else guild.get_member(interaction.user.id)
    if member is None or not await bot.is_moderator(member):
        raise Forbidden("Only moderators can do that: members with Manage Server or the server's moderator role.")


async def _is_moderator(interaction: discord.Interaction) -> bool:
    try:
        await require_moderator(interaction)
    except Forbidden as refusal:
        # Only app-command errors raised by a check reach the tree's error handler (and a reply).
        raise app_commands.CheckFailure(refusal.message) from refusal
    return True


moderator_only = app_commands.check(_is_moderator)
"""Decorates a command (refused with the reason) or an autocomplete (no choices) for moderators only."""


def for_moderators(autocomplete: Autocomplete[ChoiceT]) -> Autocomplete[ChoiceT]:
    """`autocomplete` offering nothing to anyone but moderators (discord.py runs no cog check for autocompletes)."""

    @moderator_only
    async def guarded(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[ChoiceT]]:
        return await autocomplete(interaction, current)

    return guarded


async def cohort_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return await _cohort_choices(interaction, current, open_only=False)


async def open_cohort_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """For /join: only cohorts that still take learners."""
    return await _cohort_choices(interaction, current, open_only=True)


async def _cohort_choices(
    interaction: discord.Interaction, current: str, *, open_only: bool
) -> list[app_commands.Choice[str]]:
    bot = cohort_bot(interaction)
    if interaction.guild_id is None:
        return []
    names = await bot.cohorts.names(interaction.guild_id, current, open_only=open_only)
    return [app_commands.Choice(name=name, value=name) for name in names]


async def roadmap_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return await _roadmap_choices(interaction, current, uploaded_only=False)


async def _roadmap_choices(
    interaction: discord.Interaction, current: str, *, uploaded_only: bool
) -> list[app_commands.Choice[str]]:
    bot = cohort_bot(interaction)
    if interaction.guild_id is None:
        return []
    needle = current.casefold()
    choices = [
        app_commands.Choice(name=f"{c.title} ({c.id})"[:100], value=c.id)
        for c in await bot.catalog.choices(interaction.guild_id)
        if (c.uploaded or not uploaded_only) and (needle in c.id or needle in c.title.casefold())
    ]
    return choices[:25]


async def uploaded_roadmap_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """For /cohort remove-roadmap: only the roadmaps this server uploaded."""
    return await _roadmap_choices(interaction, current, uploaded_only=True)


async def roadmap_version_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[int]]:
    """The stored versions of the roadmap chosen in the same command, with the cohorts using each."""
    bot = cohort_bot(interaction)
    roadmap = getattr(interaction.namespace, "roadmap", None)
    if interaction.guild_id is None or not roadmap:
        return []
    choices = []
    for stored in await bot.catalog.stored_versions(interaction.guild_id, roadmap):
        use = f"used by {', '.join(stored.used_by)}" if stored.used_by else "unused"
        if str(stored.version).startswith(str(current).strip()):
            label = f"v{stored.version} · {stored.title} · {use}"[:100]
            choices.append(app_commands.Choice(name=label, value=stored.version))
    return choices[:25]
