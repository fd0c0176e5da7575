"""/settings: a learner's timezone and how and when they are reminded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import known_guild
from bot.db.models import ReminderDelivery
from bot.render.messages import stamp
from bot.services.learners import SettingsView
from bot.services.parsing import matching_timezones

if TYPE_CHECKING:
    from bot.app import CohortBot

DELIVERY_CHOICES = [
    app_commands.Choice(name="By direct message", value=ReminderDelivery.DM.value),
    app_commands.Choice(name="In the cohort channel (a mention)", value=ReminderDelivery.CHANNEL.value),
    app_commands.Choice(name="Off", value=ReminderDelivery.OFF.value),
]
DELIVERY_WORDS = {
    ReminderDelivery.DM: "by direct message",
    ReminderDelivery.CHANNEL: "as a mention in the cohort channel",
    ReminderDelivery.OFF: "off",
}


async def timezone_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=zone, value=zone) for zone in matching_timezones(current)]


class SettingsCommands(commands.Cog):
    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot

    @app_commands.command(name="settings", description="Your timezone, and how and when you get reminders")
    @app_commands.describe(
        timezone="Your timezone, e.g. Europe/Berlin (reminders and check-ins follow your local day)",
        reminders="How to remind you: by DM, by a mention in the cohort channel, or not at all",
        reminder_hour="The hour of your daily reminder, 0-23 in your timezone (default 18)",
    )
    @app_commands.autocomplete(timezone=timezone_autocomplete)
    @app_commands.choices(reminders=DELIVERY_CHOICES)
    @app_commands.guild_only()
    async def settings(
        self,
        interaction: discord.Interaction,
        timezone: str | None = None,
        reminders: app_commands.Choice[str] | None = None,
        reminder_hour: app_commands.Range[int, 0, 23] | None = None,
    ) -> None:
        guild = known_guild(interaction)
        user_id = interaction.user.id
        if timezone is None and reminders is None and reminder_hour is None:
            view = await self.bot.learners.settings(guild.id, user_id)
            await interaction.response.send_message(describe(view, changed=False), ephemeral=True)
            return
        view = await self.bot.learners.change_settings(
            guild.id,
            user_id,
            timezone=timezone,
            delivery=reminders.value if reminders is not None else None,
            reminder_hour=reminder_hour,
        )
        await interaction.response.send_message(describe(view, changed=True), ephemeral=True)


def describe(view: SettingsView, *, changed: bool) -> str:
    prefs = view.prefs
    if prefs.timezone:
        zone = f"**{prefs.timezone}**"
    elif view.zone:
        zone = f"not set (using your cohort's, **{view.zone}**)"
    else:
        zone = "not set (your cohort's is used)"
    how = DELIVERY_WORDS[prefs.delivery]
    lines = ["Saved. Your settings now:" if changed else "Your settings:", f"• Timezone: {zone}"]
    if prefs.delivery is ReminderDelivery.OFF:
        lines.append("• Reminders: **off** (no daily or weekly reminders)")
    else:
        lines.append(f"• Reminders: **{how}**, daily at **{prefs.reminder_hour:02d}:00** your time")
        if prefs.delivery is ReminderDelivery.DM and prefs.dms_closed:
            lines.append("  Your DMs were closed, so I mention you in the cohort channel instead.")
    if view.next_reminder is not None:
        lines.append(f"• Next daily reminder: {stamp(view.next_reminder, 'F')} (skipped if you check in first)")
    if not view.cohorts:
        lines.append("You are not in any cohort on this server yet: /join one to get reminders.")
    else:
        lines.append("Change them with /settings and its options `timezone`, `reminders` and `reminder_hour`.")
    return "\n".join(lines)


async def setup(bot: CohortBot) -> None:
    await bot.add_cog(SettingsCommands(bot))
