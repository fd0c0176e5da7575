"""/checkin, /progress and /leaderboard: logging study, seeing where one stands, and the cohort's top learners."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import cohort_autocomplete, known_guild
from bot.errors import Forbidden, InvalidInput
from bot.render.progress import check_in_text, leaderboard_embed, progress_embed
from bot.services.progress import MAX_MINUTES, MAX_NOTE, MIN_MINUTES, RankBy

if TYPE_CHECKING:
    from bot.app import CohortBot

class ProgressCommands(commands.Cog):
    answer_at_once_up_to = 100
    """Members up to which /leaderboard answers without acknowledging first."""

    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot

    @app_commands.command(name="checkin", description="Log today's study; counts once a day for your daily streak")
    @app_commands.describe(
        minutes=f"How many minutes you studied ({MIN_MINUTES}-{MAX_MINUTES})",
        note=f"What you worked on (up to {MAX_NOTE} characters)",
    )
    @app_commands.guild_only()
    async def checkin(
        self,
        interaction: discord.Interaction,
        minutes: app_commands.Range[int, MIN_MINUTES, MAX_MINUTES] | None = None,
        note: app_commands.Range[str, 1, MAX_NOTE] | None = None,
    ) -> None:
        guild = known_guild(interaction)
        results = await self.bot.progress.check_in(guild.id, interaction.user.id, minutes, note)
        await interaction.response.send_message(check_in_text(results), ephemeral=True)

    @app_commands.command(name="progress", description="Your checkpoints, streaks, tiers and next deadline")
    @app_commands.describe(
        member="Another member (moderators only; default: you)",
        cohort="The cohort (may be left out when there is only one)",
    )
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.guild_only()
    async def progress(
        self, interaction: discord.Interaction, member: discord.Member | None = None, cohort: str | None = None
    ) -> None:
        guild = known_guild(interaction)
        target = member or interaction.user
        if target.id != interaction.user.id and not await self._is_moderator(interaction, guild):
            raise Forbidden("Only moderators can see another member's progress. /progress alone shows yours.")
        result = await self.bot.progress.progress(guild.id, target.id, cohort, asker_id=interaction.user.id)
        await interaction.response.send_message(embed=progress_embed(result), ephemeral=True)

    async def _is_moderator(self, interaction: discord.Interaction, guild: discord.Guild) -> bool:
        user = interaction.user
        member = user if isinstance(user, discord.Member) else guild.get_member(user.id)
        return member is not None and await self.bot.is_moderator(member)

    @app_commands.command(name="leaderboard", description="Top learners of a cohort by streak or approved checkpoints")
    @app_commands.describe(
        cohort="The cohort (may be left out when you are in one)",
        by="Rank by current daily streak (default) or by approved checkpoints",
    )
    @app_commands.choices(
        by=[
            app_commands.Choice(name="daily streak", value=RankBy.STREAK.value),
            app_commands.Choice(name="approved checkpoints", value=RankBy.APPROVED.value),
        ]
    )
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.guild_only()
    async def leaderboard(
        self, interaction: discord.Interaction, cohort: str | None = None, by: str = RankBy.STREAK.value
    ) -> None:
        guild = known_guild(interaction)
        view = await self.bot.enrolment.cohort_for_reading(guild.id, cohort, interaction.user.id)
        if by not in set(RankBy):
            raise InvalidInput("Rank by `streak` or `approved`.")
        if view.active_members <= self.answer_at_once_up_to:
            board = await self.bot.progress.leaderboard(view, interaction.user.id, RankBy(by))
            await interaction.response.send_message(embed=leaderboard_embed(board), ephemeral=True)
            return
        # A big cohort's board reads a row per member: under a burst it may take longer than Discord's 3 s.
        await interaction.response.defer(ephemeral=True, thinking=True)
        board = await self.bot.progress.leaderboard(view, interaction.user.id, RankBy(by))
        await interaction.edit_original_response(embed=leaderboard_embed(board))


async def setup(bot: CohortBot) -> None:
    await bot.add_cog(ProgressCommands(bot))
