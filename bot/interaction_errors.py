"""The one error path for interactions: domain errors become ephemeral replies, the rest an apology with an id."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.errors import DomainError
from bot.render.limits import MESSAGE_CONTENT, truncate
from bot.telemetry.interactions import Outcome, note_outcome

log = logging.getLogger("bot.errors")


def user_message(error: BaseException) -> str | None:
    """The sentence to show for an expected refusal, or None for a real failure."""
    original = getattr(error, "original", None) or error
    if isinstance(original, DomainError):
        return original.message
    if isinstance(error, app_commands.CheckFailure) and str(error):
        return str(error)
    if isinstance(error, app_commands.TransformerError):
        return f"'{error.value}' is not a valid {error.type.name.lower()} here."
    if isinstance(error, app_commands.CommandNotFound):
        name = " ".join([*error.parents, error.name])
        return f"I don't have a /{name} command (any more). Discord may be showing an old list: try again in a minute."
    return None


async def report_interaction_error(interaction: discord.Interaction, error: BaseException) -> None:
    message = user_message(error)
    note_outcome(Outcome.APOLOGY if message is None else Outcome.REFUSED)
    if message is None:
        error_id = secrets.token_hex(4)
        original = getattr(error, "original", None) or error
        command = interaction.command.qualified_name if interaction.command else interaction.data
        log.error("interaction failed [%s] %s", error_id, command, exc_info=original)
        message = f"Sorry, something went wrong on my side. If it keeps happening, give a moderator this id: {error_id}"
    elif isinstance(error, app_commands.CommandNotFound):
        # Discord's command list lags behind a sync: worth a line in the log, not a traceback.
        log.warning("%s (Discord's copy of the commands may be stale)", error)
    await reply_ephemeral(interaction, message)


async def reply_ephemeral(interaction: discord.Interaction, message: str) -> None:
    message = truncate(message, MESSAGE_CONTENT)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException as exc:
        # The interaction may have expired (10062); nothing more can be said to the user.
        log.warning("could not deliver an error reply: %s", exc)


class CohortTree(app_commands.CommandTree):
    """The bot's command tree: every command's failure goes through the one error path (passed as `tree_cls=`)."""

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        await report_interaction_error(interaction, error)


class ErrorHandlingView(discord.ui.View):
    """A view whose button and modal failures go through the same error path as commands."""

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        await report_interaction_error(interaction, error)


class ErrorHandlingModal(discord.ui.Modal):
    # Modal.on_error in discord.py 2.7 itself drops BaseView.on_error's `item`; this is Modal's own signature.
    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await report_interaction_error(interaction, error)
