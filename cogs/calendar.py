"""/calendar: the cohort's weeks, deadlines and live sessions as an .ics file for any calendar app."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import cohort_autocomplete, known_guild
from bot.render.calendar_ics import ics_bytes
from bot.services.calendar import EntryKind
from cogs.cohorts import slug

if TYPE_CHECKING:
    from bot.app import CohortBot


class CalendarCommands(commands.Cog):
    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot

    @app_commands.command(name="calendar", description="Your cohort's weeks, deadlines and live sessions (.ics)")
    @app_commands.describe(cohort="The cohort (may be left out when there is only one)")
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.guild_only()
    async def calendar(self, interaction: discord.Interaction, cohort: str | None = None) -> None:
        guild = known_guild(interaction)
        # A year of weekly sessions is hundreds of events: answer Discord first, then build the file.
        await interaction.response.defer(ephemeral=True, thinking=True)
        member = interaction.user if isinstance(interaction.user, discord.Member) else None
        calendars = self.bot.calendars
        if member is not None and await self.bot.is_moderator(member):
            result = await calendars.for_moderator(guild.id, member.id, cohort)
        else:
            result = await calendars.for_learner(guild.id, interaction.user.id, cohort)
        whose = "the whole cohort" if result.whole_cohort else "you (your own deadlines)"
        text = (
            f"Calendar of **{result.cohort_name}** for {whose}: {result.count(EntryKind.OPENING)} week openings, "
            f"{result.count(EntryKind.DEADLINE)} deadlines, {result.count(EntryKind.SESSION)} live sessions, "
            f"in {result.timezone} time. Import it into Google Calendar, Apple Calendar or Outlook; "
            "importing a newer file updates the same events."
        )
        data = ics_bytes(result, self.bot.clock.now())
        file = discord.File(io.BytesIO(data), filename=f"{slug(result.cohort_name)}.ics")
        await interaction.followup.send(text, file=file, ephemeral=True)


async def setup(bot: CohortBot) -> None:
    await bot.add_cog(CalendarCommands(bot))
