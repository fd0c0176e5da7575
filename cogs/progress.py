"""/checkin, /progress and /leaderboard: logging study, seeing where one stands, and the cohort's top learners."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import cohort_autocomplete, known_guild
from bot.errors import Forbidden, InvalidInput
from bot.render.card import card_facts, card_png, sample_facts
from bot.render.progress import check_in_text, leaderboard_embed, progress_embed
from bot.services.progress import MAX_MINUTES, MAX_NOTE, MIN_MINUTES, RankBy, board_recomputes
from cogs.cohorts import missing_permissions

if TYPE_CHECKING:
    from bot.app import CohortBot

CARD_NAME = "progress.png"
SHARE_PERMISSIONS = {"view_channel": "View Channel", "send_messages": "Send Messages", "attach_files": "Attach Files"}


def share_channel(guild: discord.Guild, channel_id: int, cohort: str) -> discord.TextChannel:
    """The cohort channel, if the bot may post a picture there; else a refusal that says what to change."""
    channel = guild.get_channel(channel_id)
    if not isinstance(channel, discord.TextChannel):
        raise InvalidInput(f"I can't find the channel of '{cohort}' any more, so I can't share your card there. "
                           "Ask a moderator to check it; /progress without `share` shows it to you.")
    missing = missing_permissions(channel, guild.me, SHARE_PERMISSIONS)
    if missing:
        raise InvalidInput(
            f"I can't post in {channel.mention} (I lack {', '.join(missing)} there), so nothing was shared. "
            "Ask a moderator to allow it; /progress without `share` shows the card to you."
        )
    return channel


class ProgressCommands(commands.Cog):
    answer_at_once_up_to = 100
    """Members up to which the streak board of a cohort paused now or a moment ago answers without acknowledging
    first."""

    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        card_png(sample_facts())  # the first card's fonts and stamps, ready before the first /progress

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
        share="Also post your progress card in the cohort channel (pings no one)",
    )
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.guild_only()
    async def progress(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        cohort: str | None = None,
        share: bool = False,
    ) -> None:
        guild = known_guild(interaction)
        target = member or interaction.user
        if target.id != interaction.user.id:
            if not await self._is_moderator(interaction, guild):
                raise Forbidden("Only moderators can see another member's progress. /progress alone shows yours.")
            if share:
                raise Forbidden("You can share only your own progress card. Leave out `share` to see theirs.")
        if share:  # the post in the cohort channel is a round trip more: acknowledged first
            await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.bot.progress.progress(guild.id, target.id, cohort, asker_id=interaction.user.id)
        channel = share_channel(guild, result.view.cohort.channel_id, result.view.name) if share else None
        # Drawn on the event loop, about a millisecond: in the drawing thread each of Pillow's calls waited to get the
        # GIL back from the busy loop, and 50 cards queued there (bot CPU per /progress 5.1 -> 4.4 ms on SQLite).
        card = card_png(card_facts(result))
        embed = progress_embed(result)
        embed.set_image(url=f"attachment://{CARD_NAME}")
        picture = discord.File(io.BytesIO(card), CARD_NAME)
        if channel is None:
            # Reading and drawing cost a few milliseconds (the card is kept once drawn): answered in one request,
            # not an acknowledgement and a follow-up, which under a burst cost more than the command itself.
            await interaction.response.send_message(embed=embed, file=picture, ephemeral=True)
            return
        note = await self._share(channel, result.display_name, result.view.name, card)
        await interaction.followup.send(note, embed=embed, file=picture, ephemeral=True)

    @staticmethod
    async def _share(channel: discord.TextChannel, name: str, cohort: str, card: bytes) -> str:
        who = discord.utils.escape_markdown(name)
        try:
            await channel.send(
                f"**{who}**'s progress in **{discord.utils.escape_markdown(cohort)}**",
                file=discord.File(io.BytesIO(card), CARD_NAME),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            return (f"Discord refused the post in {channel.mention} ({exc.status}: {exc.text or 'no reason given'}), "
                    "so nothing was shared. Here is your card.")
        return f"Shared in {channel.mention}."

    async def _is_moderator(self, interaction: discord.Interaction, guild: discord.Guild) -> bool:
        user = interaction.user
        member = user if isinstance(user, discord.Member) else guild.get_member(user.id)
        return member is not None and await self.bot.is_moderator(member)

    @app_commands.command(
        name="leaderboard", description="Top learners of a cohort by streak, approved checkpoints or peer reviews given"
    )
    @app_commands.describe(
        cohort="The cohort (may be left out when you are in one)",
        by="Rank by current daily streak (default), approved checkpoints or peer reviews given",
    )
    @app_commands.choices(
        by=[
            app_commands.Choice(name="daily streak", value=RankBy.STREAK.value),
            app_commands.Choice(name="approved checkpoints", value=RankBy.APPROVED.value),
            app_commands.Choice(name="peer reviews given", value=RankBy.REVIEWS.value),
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
            raise InvalidInput("Rank by `streak` or `approved`. With peer review, `reviews` ranks by reviews given.")
        # A big cohort's streak board recomputes every member while its kept rows do not hold, which a pause causes:
        # under a burst that may take longer than Discord's 3 s. Any other board costs the same whatever the cohort's
        # size, and a second request to Discord would cost more.
        if not board_recomputes(view, RankBy(by)) or view.active_members <= self.answer_at_once_up_to:
            board = await self.bot.progress.leaderboard(view, interaction.user.id, RankBy(by))
            await interaction.response.send_message(embed=leaderboard_embed(board), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        board = await self.bot.progress.leaderboard(view, interaction.user.id, RankBy(by))
        await interaction.edit_original_response(embed=leaderboard_embed(board))


async def setup(bot: CohortBot) -> None:
    await bot.add_cog(ProgressCommands(bot))
