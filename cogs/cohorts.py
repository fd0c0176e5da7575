"""/cohort: moderators create and run cohorts (create, list, info, pause, resume, end, advance, stats, settings)."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import (
    cohort_autocomplete,
    cohort_bot,
    for_moderators,
    known_guild,
    moderator_only,
    roadmap_autocomplete,
    roadmap_version_autocomplete,
    uploaded_roadmap_autocomplete,
)
from bot.errors import Forbidden, InvalidInput
from bot.render import limits
from bot.render.drawing import picture
from bot.render.messages import cohort_summary, removal_text, schedule_line, stamp
from bot.render.peer import config_text
from bot.render.roster_csv import roster_csv
from bot.render.sessions import session_line
from bot.render.stats_chart import render_chart
from bot.render.stats_csv import stats_csv
from bot.render.stats_text import stats_embed
from bot.roadmap.limits import MAX_ROADMAP_BYTES
from bot.role_check import check_named_tier_roles, check_role_to_give, tier_role_warnings
from bot.services.cohorts import NewCohort
from bot.services.live_sessions import MAX_LOCATION, MAX_MINUTES, MAX_TITLE, MIN_MINUTES, NewSession
from bot.session_checks import check_event_permission, check_session_channel, session_autocomplete, weekday_autocomplete

if TYPE_CHECKING:
    from bot.app import CohortBot

POSTING_PERMISSIONS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "create_public_threads": "Create Public Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "read_message_history": "Read Message History",
    "attach_files": "Attach Files",  # review messages carry submitted files (here when there is no review channel)
}
REVIEW_PERMISSIONS = {
    key: POSTING_PERMISSIONS[key] for key in ("view_channel", "send_messages", "embed_links", "attach_files")
}


async def tier_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The tiers of the cohort named in the same command."""
    bot = cohort_bot(interaction)
    cohort = getattr(interaction.namespace, "cohort", None)
    if interaction.guild_id is None or not cohort:
        return []
    needle = current.casefold()
    return [
        app_commands.Choice(name=f"{tier.name} ({tier.key})"[:100], value=tier.key)
        for tier in await bot.tiers.tiers_of(interaction.guild_id, str(cohort))
        if needle in tier.key or needle in tier.name.casefold()
    ][:25]


# Only moderators may run /cohort, so only they are offered its choices.
cohort_choices = for_moderators(cohort_autocomplete)
roadmap_choices = for_moderators(roadmap_autocomplete)
tier_choices = for_moderators(tier_autocomplete)
weekday_choices = for_moderators(weekday_autocomplete)
session_choices = for_moderators(session_autocomplete)
uploaded_roadmap_choices = for_moderators(uploaded_roadmap_autocomplete)
roadmap_version_choices = for_moderators(roadmap_version_autocomplete)


def slug(name: str) -> str:
    """A file-name-safe form of a cohort name."""
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "cohort"


def missing_permissions(channel: discord.abc.GuildChannel, member: discord.Member, needed: dict[str, str]) -> list[str]:
    allowed = channel.permissions_for(member)
    return [label for flag, label in needed.items() if not getattr(allowed, flag)]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class CohortCommands(
    commands.GroupCog, group_name="cohort", group_description="Create and run study cohorts (moderators)"
):
    def __init__(self, bot: CohortBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="create", description="Create a cohort on a roadmap, posting weekly in a channel")
    @app_commands.describe(
        name="A name for the cohort, unique on this server (e.g. Spring 2026)",
        roadmap="The roadmap to follow",
        start="First day of week 1, YYYY-MM-DD in the cohort's timezone (may be up to a year ago)",
        channel="Where the weekly posts and discussion threads go",
        timezone="IANA timezone for the schedule, e.g. Europe/Berlin (default UTC)",
        post_time="Local time of the weekly post, HH:MM (default 09:00)",
        review_channel="Where submissions are reviewed and moderators are told things",
        role="A role given to everyone who joins",
    )
    @app_commands.autocomplete(roadmap=roadmap_choices)
    @moderator_only
    async def create(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 64],
        roadmap: str,
        start: str,
        channel: discord.TextChannel,
        timezone: str | None = None,
        post_time: str | None = None,
        review_channel: discord.TextChannel | None = None,
        role: discord.Role | None = None,
    ) -> None:
        guild = known_guild(interaction)
        self._check_channels(guild, channel, review_channel)
        invoker = _member(interaction)
        if role is not None:
            check_role_to_give(guild, role, invoker)
        check_named_tier_roles(guild, await self.bot.catalog.tier_role_names(guild.id, roadmap), invoker)
        view = await self.bot.cohorts.create(
            NewCohort(
                guild_id=guild.id,
                name=name,
                roadmap_id=roadmap,
                start=start,
                channel_id=channel.id,
                created_by=interaction.user.id,
                timezone=timezone,
                post_time=post_time,
                review_channel_id=review_channel.id if review_channel else None,
                role_id=role.id if role else None,
            )
        )
        warnings = "".join(f"\n⚠️ {w}" for w in tier_role_warnings(guild, view.roadmap))
        await interaction.response.send_message(
            f"Created **{view.name}**. Learners can now /join it.\n{cohort_summary(view)}{warnings}", ephemeral=True
        )

    def _check_channels(
        self, guild: discord.Guild, channel: discord.TextChannel, review_channel: discord.TextChannel | None
    ) -> None:
        problems = []
        cached = guild.get_channel(channel.id)
        if not isinstance(cached, discord.TextChannel):
            raise InvalidInput(f"I can't see {channel.mention}. Give me access to it, or pick another channel.")
        missing = missing_permissions(cached, guild.me, POSTING_PERMISSIONS)
        if missing:
            problems.append(f"in {channel.mention} I am missing: {', '.join(missing)}")
        if review_channel is not None:
            cached_review = guild.get_channel(review_channel.id)
            missing = (
                missing_permissions(cached_review, guild.me, REVIEW_PERMISSIONS)
                if isinstance(cached_review, discord.TextChannel)
                else ["View Channel"]
            )
            if missing:
                problems.append(f"in {review_channel.mention} I am missing: {', '.join(missing)}")
        if problems:
            raise InvalidInput("I can't run a cohort there: " + "; ".join(problems) + ". Fix that and try again.")

    @app_commands.command(name="list", description="List this server's cohorts")
    @moderator_only
    async def list_cohorts(self, interaction: discord.Interaction) -> None:
        views = await self.bot.cohorts.in_guild(known_guild(interaction).id)
        if not views:
            await interaction.response.send_message("No cohorts yet. Create one with /cohort create.", ephemeral=True)
            return
        lines = [f"• **{v.name}** — {v.roadmap.title}: {schedule_line(v)}, {v.active_members} members" for v in views]
        await send_lines(interaction, lines)

    @app_commands.command(name="info", description="Show a cohort's roadmap, schedule and members")
    @app_commands.describe(cohort="The cohort")
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def info(self, interaction: discord.Interaction, cohort: str) -> None:
        view = await self.bot.cohorts.get(known_guild(interaction).id, cohort)
        await interaction.response.send_message(cohort_summary(view), ephemeral=True)

    @app_commands.command(name="pause", description="Pause a cohort: no posts or reminders until it resumes")
    @app_commands.describe(cohort="The cohort")
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def pause(self, interaction: discord.Interaction, cohort: str) -> None:
        view = await self.bot.cohorts.pause(known_guild(interaction).id, cohort, interaction.user.id)
        await interaction.response.send_message(
            f"Paused **{view.name}**. The remaining weeks move later by the days it stays paused.", ephemeral=True
        )

    @app_commands.command(name="resume", description="Resume a paused cohort")
    @app_commands.describe(cohort="The cohort")
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def resume(self, interaction: discord.Interaction, cohort: str) -> None:
        view = await self.bot.cohorts.resume(known_guild(interaction).id, cohort, interaction.user.id)
        await interaction.response.send_message(f"Resumed **{view.name}**: {schedule_line(view)}.", ephemeral=True)

    @app_commands.command(name="end", description="End a cohort for good: no more posts, enrolment closed")
    @app_commands.describe(cohort="The cohort")
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def end(self, interaction: discord.Interaction, cohort: str) -> None:
        view = await self.bot.cohorts.end(known_guild(interaction).id, cohort, interaction.user.id)
        await interaction.response.send_message(
            f"Ended **{view.name}**. Its history stays; /progress still works.", ephemeral=True
        )

    @app_commands.command(name="advance", description="Open the next week now (or every week up to to_week)")
    @app_commands.describe(cohort="The cohort", to_week="Open every week up to this one (default: the next week)")
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def advance(
        self, interaction: discord.Interaction, cohort: str, to_week: app_commands.Range[int, 1, 520] | None = None
    ) -> None:
        view = await self.bot.cohorts.advance(known_guild(interaction).id, cohort, to_week, interaction.user.id)
        await interaction.response.send_message(
            f"Advanced **{view.name}** to week {view.current_week}; its post is on its way. "
            f"Later weeks follow on from today: {schedule_line(view)}.",
            ephemeral=True,
        )

    @app_commands.command(name="extend", description="Give one learner more days for one week's checkpoint")
    @app_commands.describe(
        cohort="The cohort",
        member="The learner",
        week="The week whose checkpoint deadline moves",
        days="Days added to the cohort's deadline (1-60)",
    )
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def extend(
        self,
        interaction: discord.Interaction,
        cohort: str,
        member: discord.Member,
        week: app_commands.Range[int, 1, 520],
        days: app_commands.Range[int, 1, 60],
    ) -> None:
        guild = known_guild(interaction)
        due = await self.bot.submissions.extend(guild.id, cohort, member.id, week, days, interaction.user.id)
        when = f"now due {stamp(due)}" if due else "due when the cohort's schedule resumes"
        await interaction.response.send_message(
            f"{member.mention}'s week {week} checkpoint in **{cohort}** is {when} ({days} extra days).",
            ephemeral=True,
        )

    @app_commands.command(name="tier-role", description="Give an existing role when a learner completes a tier")
    @app_commands.describe(cohort="The cohort", tier="The certification tier", role="The role to give for it")
    @app_commands.autocomplete(cohort=cohort_choices, tier=tier_choices)
    @moderator_only
    async def tier_role(self, interaction: discord.Interaction, cohort: str, tier: str, role: discord.Role) -> None:
        guild = known_guild(interaction)
        check_role_to_give(guild, role, _member(interaction))
        name, chosen = await self.bot.tiers.set_tier_role(guild.id, cohort, tier, role.id)
        await interaction.response.send_message(
            f"In **{name}**, completing **{chosen.name}** now gives {role.mention}.", ephemeral=True
        )

    @app_commands.command(name="roster", description="Download a cohort's roster as a CSV file")
    @app_commands.describe(cohort="The cohort")
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def roster(self, interaction: discord.Interaction, cohort: str) -> None:
        guild = known_guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        roster = await self.bot.roster.roster(guild.id, cohort)
        name = roster.view.name
        file = discord.File(io.BytesIO(roster_csv(roster.rows)), filename=f"roster-{slug(name)}.csv")
        summary = (
            f"**{name}** roster: {len(roster.rows)} members ever enrolled, {roster.active} active, "
            f"completion rate {roster.completion_rate:.0%} (approved of the checkpoints due so far)."
        )
        await interaction.followup.send(summary, file=file, ephemeral=True)

    @app_commands.command(name="stats", description="A cohort's funnel by week, quiet learners and review times")
    @app_commands.describe(cohort="The cohort")
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def stats(self, interaction: discord.Interaction, cohort: str) -> None:
        guild = known_guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)  # a large cohort takes a moment
        stats = await self.bot.stats.stats(guild.id, cohort)
        name = f"stats-{slug(stats.cohort_name)}"
        chart = await picture(render_chart, stats)
        files = [
            discord.File(io.BytesIO(chart), filename=f"{name}.png"),
            discord.File(io.BytesIO(stats_csv(stats)), filename=f"{name}.csv"),
        ]
        await interaction.followup.send(embed=stats_embed(stats, f"{name}.png"), files=files, ephemeral=True)

    @app_commands.command(name="moderator-role", description="Set the role whose members may run cohorts")
    @app_commands.describe(role="Members with this role count as moderators (Manage Server always does)")
    @moderator_only
    async def moderator_role(self, interaction: discord.Interaction, role: discord.Role) -> None:
        guild = known_guild(interaction)
        if not interaction.permissions.manage_guild:
            raise Forbidden("Only members with Manage Server can choose the moderator role.")
        if role.is_default():
            raise InvalidInput("@everyone can't be the moderator role; pick a role that only moderators have.")
        await self.bot.cohorts.set_moderator_role(guild.id, role.id)
        await interaction.response.send_message(f"Members with {role.mention} can now run cohorts.", ephemeral=True)

    @app_commands.command(name="import-roadmap", description="Upload a roadmap YAML file for this server")
    @app_commands.describe(file="A roadmap .yaml file (see the README for the format)")
    @moderator_only
    async def import_roadmap(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        guild = known_guild(interaction)
        # Answer Discord first: checking a file may take seconds, and the refusal goes out as a follow-up.
        await interaction.response.defer(ephemeral=True, thinking=True)
        if file.size > MAX_ROADMAP_BYTES:
            raise InvalidInput(
                f"{file.filename} is {file.size:,} bytes; a roadmap may be at most {MAX_ROADMAP_BYTES:,} bytes."
            )
        if not file.filename.lower().endswith((".yaml", ".yml")):
            raise InvalidInput(f"{file.filename} is not a .yaml file. Upload the roadmap as YAML.")
        version = await self.bot.catalog.import_upload(guild.id, file.filename, file.read, interaction.user.id)
        await interaction.followup.send(
            f"Imported **{version.title}** as `{version.roadmap_id}` version {version.version}. "
            "New cohorts can use it; running cohorts keep the version they started with.",
            ephemeral=True,
        )

    session = app_commands.Group(name="session", description="Weekly live sessions, kept as Discord events")

    @session.command(name="add", description="Add a weekly live session, kept as a Discord scheduled event")
    @app_commands.describe(
        cohort="The cohort",
        title=f"What it is, e.g. Office hours (up to {MAX_TITLE} characters)",
        weekday="Day of the week, in the cohort's timezone",
        time="Local start time, HH:MM",
        minutes=f"How long it lasts ({MIN_MINUTES}-{MAX_MINUTES} minutes)",
        channel="A voice or stage channel to meet in",
        location=f"Where else it happens, e.g. a video-call link (up to {MAX_LOCATION} characters)",
    )
    @app_commands.autocomplete(cohort=cohort_choices, weekday=weekday_choices)
    @moderator_only
    async def session_add(
        self,
        interaction: discord.Interaction,
        cohort: str,
        title: str,
        weekday: str,
        time: str,
        minutes: int,
        channel: app_commands.AppCommandChannel | None = None,
        location: str | None = None,
    ) -> None:
        guild = known_guild(interaction)
        check_event_permission(guild)
        if channel is not None:
            check_session_channel(guild, channel, location)
        view = await self.bot.live_sessions.add(
            NewSession(
                guild_id=guild.id,
                cohort_name=cohort,
                title=title,
                weekday=weekday,
                time=time,
                minutes=minutes,
                channel_id=channel.id if channel else None,
                location=location,
                created_by=interaction.user.id,
            )
        )
        await interaction.response.send_message(
            f"Added to **{view.cohort.name}**: {session_line(view)}. I keep its next meeting as a Discord event.",
            ephemeral=True,
        )

    @session.command(name="list", description="List a cohort's live sessions and their next meetings")
    @app_commands.describe(cohort="The cohort")
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def session_list(self, interaction: discord.Interaction, cohort: str) -> None:
        views = await self.bot.live_sessions.in_cohort(known_guild(interaction).id, cohort)
        if not views:
            await interaction.response.send_message(
                f"**{cohort}** has no live sessions. /cohort session add adds one.", ephemeral=True
            )
            return
        await send_lines(interaction, [f"• {session_line(view)}" for view in views])

    @session.command(name="remove", description="Remove a live session and cancel its Discord event")
    @app_commands.describe(cohort="The cohort", session="The session")
    @app_commands.autocomplete(cohort=cohort_choices, session=session_choices)
    @moderator_only
    async def session_remove(self, interaction: discord.Interaction, cohort: str, session: str) -> None:
        view = await self.bot.live_sessions.remove(known_guild(interaction).id, cohort, session)
        await interaction.response.send_message(
            f"Removed **{view.session.title}** from **{view.cohort.name}**; its Discord event is cancelled.",
            ephemeral=True,
        )

    @app_commands.command(name="peer-review", description="Turn peer review on (1-3 peers per submission) or off (0)")
    @app_commands.describe(
        cohort="The cohort",
        reviewers="Peers who review each submission, 0-3 (0 turns peer review off)",
        anonymous="Hide reviewers' names from authors (default: shown)",
        due_days="Days peers have to review, 1-14 (default 3)",
    )
    @app_commands.autocomplete(cohort=cohort_choices)
    @moderator_only
    async def peer_review(
        self,
        interaction: discord.Interaction,
        cohort: str,
        reviewers: int,
        anonymous: bool | None = None,
        due_days: int | None = None,
    ) -> None:
        # Plain integers, checked by the service: its refusal says what the range is.
        config = await self.bot.peer.configure(
            known_guild(interaction).id, cohort, reviewers, anonymous, due_days, interaction.user.id
        )
        await interaction.response.send_message(config_text(config), ephemeral=True)

    @app_commands.command(name="remove-roadmap", description="Delete uploaded roadmap versions that no cohort uses")
    @app_commands.describe(
        roadmap="A roadmap uploaded to this server",
        version="One version to delete (default: every version no cohort uses)",
    )
    # One decorator each: discord.py types a single call's callbacks with one choice type (str here, int there).
    @app_commands.autocomplete(roadmap=uploaded_roadmap_choices)
    @app_commands.autocomplete(version=roadmap_version_choices)
    @moderator_only
    async def remove_roadmap(
        self, interaction: discord.Interaction, roadmap: str, version: app_commands.Range[int, 1] | None = None
    ) -> None:
        removal = await self.bot.catalog.remove(known_guild(interaction).id, roadmap, version)
        await interaction.response.send_message(removal_text(removal), ephemeral=True)


async def send_lines(interaction: discord.Interaction, lines: list[str]) -> None:
    """An ephemeral answer of one line per item, over as many messages as Discord's limit needs."""
    chunks = limits.split_lines(lines, limits.MESSAGE_CONTENT)
    await interaction.response.send_message(chunks[0], ephemeral=True)
    for chunk in chunks[1:]:
        await interaction.followup.send(chunk, ephemeral=True)


def _member(interaction: discord.Interaction) -> discord.Member:
    """The invoking moderator as a server member (whose roles and permissions the role rule weighs)."""
    user = interaction.user
    # A server command always comes with the member (and known_guild has vouched for the server).
    assert isinstance(user, discord.Member)
    return user


async def setup(bot: CohortBot) -> None:
    await bot.add_cog(CohortCommands(bot))
