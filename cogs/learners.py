"""/join, /leave and /roadmap: what a learner does to enter a cohort and read its weeks."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import cohort_autocomplete, known_guild, open_cohort_autocomplete
from bot.errors import InvalidInput, NotFound
from bot.render.messages import stamp
from bot.render.week_post import render_embeds
from bot.services.cohorts import CohortView
from bot.services.ports import DeliveryFailed
from bot.views import Answer, ConfirmView

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)


class LearnerCommands(commands.Cog):
    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot

    @app_commands.command(name="join", description="Join a study cohort on this server")
    @app_commands.describe(cohort="The cohort to join (may be left out when the server has one)")
    @app_commands.autocomplete(cohort=open_cohort_autocomplete)
    @app_commands.guild_only()
    async def join(self, interaction: discord.Interaction, cohort: str | None = None) -> None:
        guild = known_guild(interaction)
        result = await self.bot.enrolment.join(guild.id, cohort, interaction.user.id, interaction.user.display_name)
        view = result.view
        lines = [f"Welcome {'back ' if result.rejoined else ''}to **{view.name}** — {view.roadmap.title}!"]
        lines.append(_where_it_stands(view))
        if view.cohort.role_id is not None:
            # The membership is stored: acknowledge now, so a slow or refused role call can't fail the join.
            await interaction.response.defer(ephemeral=True, thinking=True)
            lines.append(await self._grant_role(interaction, view))
        lines.append("Use /roadmap to read the current week.")
        text = "\n".join(line for line in lines if line)
        if interaction.response.is_done():
            await interaction.edit_original_response(content=text)
        else:
            await interaction.response.send_message(text, ephemeral=True)

    async def _grant_role(self, interaction: discord.Interaction, view: CohortView) -> str:
        role_id = view.cohort.role_id
        assert role_id is not None
        try:
            # Through the port: it checks the role again (roles change after a cohort is created).
            await self.bot.port.add_role(
                view.cohort.guild_id, interaction.user.id, role_id, f"Joined cohort {view.name}"
            )
        except DeliveryFailed as exc:
            log.warning("could not grant cohort role %s: %s", role_id, exc.reason)
            with contextlib.suppress(DeliveryFailed):
                await self.bot.port.tell_moderators(
                    view.cohort.review_channel_id or view.cohort.channel_id,
                    f"I could not give <@&{role_id}> to <@{interaction.user.id}> who joined '{view.name}': "
                    + exc.reason,
                )
            return "I couldn't give you the cohort role yet; the moderators have been told."
        return f"You now have the <@&{role_id}> role."

    @app_commands.command(name="leave", description="Leave a cohort (your history is kept)")
    @app_commands.describe(cohort="The cohort to leave (may be left out when you are in one)")
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.guild_only()
    async def leave(self, interaction: discord.Interaction, cohort: str | None = None) -> None:
        guild = known_guild(interaction)
        view = await self.bot.enrolment.check_member(guild.id, cohort, interaction.user.id)

        async def confirmed(click: discord.Interaction) -> Answer:
            left = await self.bot.enrolment.leave(guild.id, view.name, click.user.id)
            role_id = left.cohort.role_id
            text = f"You left **{left.name}**. Your history is kept; /join brings you back."
            if role_id is None:
                return Answer(text)

            async def drop_role() -> None:
                try:
                    await self.bot.http.remove_role(guild.id, click.user.id, role_id, reason="Left cohort")
                except discord.HTTPException as exc:
                    log.warning("could not remove cohort role %s: %s", role_id, exc)

            return Answer(text, then=drop_role)

        confirm = ConfirmView(interaction.user.id, confirmed, confirm_label="Leave")
        await interaction.response.send_message(
            f"Leave **{view.name}**? You will stop getting its reminders. Your history is kept.",
            view=confirm,
            ephemeral=True,
        )

    @app_commands.command(name="roadmap", description="Show a week's materials (default: the current week)")
    @app_commands.describe(week="The week to show", cohort="The cohort (may be left out when you are in one)")
    @app_commands.autocomplete(cohort=cohort_autocomplete)
    @app_commands.guild_only()
    async def roadmap(
        self,
        interaction: discord.Interaction,
        week: app_commands.Range[int, 1, 520] | None = None,
        cohort: str | None = None,
    ) -> None:
        guild = known_guild(interaction)
        view = await self.bot.enrolment.cohort_for_reading(guild.id, cohort, interaction.user.id)
        moderator = isinstance(interaction.user, discord.Member) and await self.bot.is_moderator(interaction.user)
        wanted = week or view.current_week or (1 if moderator else 0)
        if wanted == 0:
            upcoming = view.next_opening
            when = f" Week 1 opens {stamp(upcoming.at)}." if upcoming else ""
            raise NotFound(f"'{view.name}' has not started yet.{when}")
        module = view.roadmap.module_for_week(wanted)
        if module is None:
            total = view.roadmap.total_weeks
            raise InvalidInput(f"'{view.roadmap.title}' has weeks 1-{total}; there is no week {wanted}.")
        if not view.is_open(module) and not moderator:
            opens = view.openings.get(module.week)
            when = f"It opens {stamp(opens)}." if opens else "Its date is not set while the cohort is paused."
            raise NotFound(f"{module.label} of '{view.name}' is not open yet. {when}")
        embeds = render_embeds(view.roadmap, module, due=view.deadline(module))
        note = "" if view.is_open(module) else " (not open to learners yet)"
        await interaction.response.send_message(f"**{view.name}**{note}", embed=embeds[0], ephemeral=True)
        for extra in embeds[1:]:
            await interaction.followup.send(embed=extra, ephemeral=True)


def _where_it_stands(view: CohortView) -> str:
    week = view.current_week
    if week == 0:
        upcoming = view.next_opening
        return f"It starts {stamp(upcoming.at)}." if upcoming else "It has not started yet."
    text = f"It is in week {week} of {view.roadmap.total_weeks}."
    due = view.next_deadline
    if due is not None:
        module, at = due
        text += f" Next deadline: the {module.label.lower()} checkpoint, {stamp(at)} ({stamp(at, 'R')})."
    return text


async def setup(bot: CohortBot) -> None:
    await bot.add_cog(LearnerCommands(bot))
