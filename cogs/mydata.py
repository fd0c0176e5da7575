"""/mydata export and /mydata erase: a learner's own data in this server, as a file or gone."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import known_guild
from bot.errors import NotFound
from bot.render.review import REMOVED_BY_LEARNER
from bot.services.mydata import NOTHING_KEPT, ErasureReport
from bot.views import OwnerOnlyView

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)


class EraseView(OwnerOnlyView):
    """Erase, or erase and also drop the tier roles; only the person who asked can press, once."""

    def __init__(self, cog: MyDataCommands, owner_id: int) -> None:
        super().__init__(owner_id)
        self._cog = cog

    @discord.ui.button(label="Erase my data", style=discord.ButtonStyle.danger)
    async def erase(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._run(interaction, drop_roles=False)

    @discord.ui.button(label="Erase and remove my tier roles", style=discord.ButtonStyle.danger)
    async def erase_roles(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._run(interaction, drop_roles=True)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.close()
        await interaction.response.edit_message(content="Cancelled; nothing was erased.", view=self)

    async def _run(self, interaction: discord.Interaction, *, drop_roles: bool) -> None:
        self.close()
        report = await self._cog.bot.mydata.erase(known_guild(interaction).id, interaction.user.id)
        await interaction.response.edit_message(content=_erased_text(report, drop_roles), view=self)
        await self._cog.tidy_up(interaction, report, drop_roles=drop_roles)


def _erased_text(report: ErasureReport, drop_roles: bool) -> str:
    roles = "Your tier roles are removed too." if drop_roles else "Tier roles you earned stay on your profile."
    if report.awards_cancelled:
        roles += f" {report.awards_cancelled} tier roles not yet given will not be given."
    return (
        f"Erased: {report.checkins} check-ins, {report.submissions} submissions, {report.deliveries} reminder "
        f"records and your settings. Your {report.memberships_anonymised} cohort memberships remain only as "
        f"anonymous counts. {roles}"
    )


class MyDataCommands(commands.Cog):
    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot

    mydata = app_commands.Group(name="mydata", description="See or erase what the bot keeps about you", guild_only=True)

    @mydata.command(name="export", description="Get a JSON file of everything the bot keeps about you here")
    async def export(self, interaction: discord.Interaction) -> None:
        guild = known_guild(interaction)
        data = await self.bot.mydata.export(guild.id, interaction.user.id)
        text = json.dumps(data, indent=2, ensure_ascii=False)
        file = discord.File(io.BytesIO(text.encode("utf-8")), filename=f"mydata-{guild.id}.json")
        empty = not any(data[key] for key in ("memberships", "settings", "checkins", "submissions"))
        note = "I keep nothing about you on this server." if empty else "Everything I keep about you on this server:"
        await interaction.response.send_message(note, file=file, ephemeral=True)

    @mydata.command(name="erase", description="Delete what the bot keeps about you here (asks first)")
    async def erase(self, interaction: discord.Interaction) -> None:
        guild = known_guild(interaction)
        if not await self.bot.mydata.has_data(guild.id, interaction.user.id):
            raise NotFound(NOTHING_KEPT)
        await interaction.response.send_message(
            "This deletes your check-ins, submissions (and their review history), settings and reminder records "
            "on this server, and anonymises your cohort memberships. It cannot be undone.",
            view=EraseView(self, interaction.user.id),
            ephemeral=True,
        )

    async def tidy_up(self, interaction: discord.Interaction, report: ErasureReport, *, drop_roles: bool) -> None:
        """Discord's side, after the database is done: edit review messages, optionally drop roles."""
        for channel_id, message_id in report.review_messages:
            channel = self.bot.get_partial_messageable(channel_id)
            try:
                await channel.get_partial_message(message_id).edit(
                    content=REMOVED_BY_LEARNER, embed=None, view=None, attachments=[]
                )
            except discord.HTTPException as exc:
                log.warning("could not edit review message %s after an erasure: %s", message_id, exc)
        if drop_roles and isinstance(interaction.user, discord.Member):
            roles = [discord.Object(r) for r in report.tier_role_ids]
            try:
                await interaction.user.remove_roles(*roles, reason="Learner erased their data")
            except discord.HTTPException as exc:
                log.warning("could not remove tier roles after an erasure: %s", exc)


async def setup(bot: CohortBot) -> None:
    await bot.add_cog(MyDataCommands(bot))
