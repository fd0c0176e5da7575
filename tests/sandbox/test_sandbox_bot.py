"""End-to-end: a real discord.py commands.Bot against the sandbox, exercising each Discord rule it enforces."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import discord
import discord.http
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from bot.sandbox import Perm, Sandbox, SandboxError, SandboxFile, World, payloads
from bot.sandbox.faults import LOST
from bot.sandbox.world import Channel, Guild, Member, Role, User

COHORTS = ["Spring", "Summer", "Autumn", "Winter"]


@dataclass
class Scene:
    """One guild with the people, roles and channels the tests need."""

    world: World
    guild: Guild
    general: Channel
    hidden: Channel
    readonly: Channel
    alice: Member
    bob: Member
    learner: Role
    mentor: Role


@dataclass
class Seen:
    """What the bot's own code observed, for assertions about its side of the conversation."""

    errors: list[discord.HTTPException] = field(default_factory=list)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)


def build_scene() -> Scene:
    world = World(bot_name="StudyBot")
    guild = world.add_guild("Study Hall")
    general = guild.text_channels[0]
    hidden = guild.add_text_channel("staff-only")
    hidden.set_overwrite(guild.bot_role, deny=Perm.VIEW_CHANNEL)
    readonly = guild.add_text_channel("announcements")
    readonly.set_overwrite(guild.everyone, deny=Perm.SEND_MESSAGES)
    learner = guild.add_role("Learner")
    mentor = guild.add_role("Mentor", position=guild.bot_role.position + 1)
    alice = guild.add_member("alice", roles=[learner])
    bob = guild.add_member("bob", dms_closed=True)
    return Scene(world, guild, general, hidden, readonly, alice, bob, learner, mentor)


class ApplyModal(discord.ui.Modal, title="Apply"):
    link = discord.ui.TextInput(label="Link", custom_id="link")
    notes = discord.ui.Label(text="Notes", component=discord.ui.TextInput(style=discord.TextStyle.long, required=False))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        notes = self.notes.component.value  # type: ignore[attr-defined]
        await interaction.response.send_message(f"got {self.link.value} / {notes}", ephemeral=True)


class VoteView(discord.ui.View):
    @discord.ui.button(label="Approve", style=discord.ButtonStyle.success)
    async def approve(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content=f"approved by {interaction.user.name}", view=None)


class CommentModal(discord.ui.Modal, title="Comment"):
    text = discord.ui.TextInput(label="Comment")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        # Submitted from a button's modal, so the modal may update that button's message (type 7).
        await interaction.response.edit_message(content=f"comment: {self.text.value}", view=None)


class ReviewView(discord.ui.View):
    @discord.ui.button(label="Comment")
    async def comment(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(CommentModal())

    @discord.ui.button(label="Archive")
    async def archive(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="archived", view=None)

    @discord.ui.select(placeholder="Week", options=[discord.SelectOption(label=f"Week {i}", value=i) for i in "12"])
    async def week(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"week {select.values[0]}", ephemeral=True)


def add_commands(bot: commands.Bot, guild_id: int, seen: Seen) -> None:
    """Throwaway commands, each triggering one behaviour of the sandbox."""
    tree = bot.tree
    scope = discord.Object(guild_id)

    @tree.command(description="Reply privately", guild=scope)
    async def ping(interaction: discord.Interaction, word: str = "pong") -> None:
        await interaction.response.send_message(f"pong {word}", ephemeral=True)

    @tree.command(description="Think, then answer twice", guild=scope)
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0.01)
        await interaction.followup.send("done")
        await interaction.followup.send("and another thing")

    @tree.command(description="Post a vote", guild=scope)
    async def vote(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("approve?", view=VoteView())

    @tree.command(description="Post a review", guild=scope)
    async def review(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("review me", view=ReviewView())

    @tree.command(description="Open the application form", guild=scope)
    async def apply(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(ApplyModal())

    @tree.command(description="Join a cohort", guild=scope)
    async def join(interaction: discord.Interaction, cohort: str) -> None:
        await interaction.response.send_message(f"joined {cohort}")

    @join.autocomplete("cohort")
    async def join_cohort(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=c, value=c) for c in COHORTS if c.lower().startswith(current.lower())]

    @tree.command(description="Describe the options", guild=scope)
    async def inspect(
        interaction: discord.Interaction,
        member: discord.Member,
        role: discord.Role,
        channel: discord.TextChannel,
        upload: discord.Attachment,
        count: int = 1,
    ) -> None:
        text = (await upload.read()).decode()
        await interaction.response.send_message(f"{member.name}|{role.name}|{channel.name}|{text}|{count}")

    cohort = app_commands.Group(name="cohort", description="Manage cohorts", guild_ids=[guild_id])

    @cohort.command(name="create", description="Create a cohort")
    async def cohort_create(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(f"created {name}", ephemeral=True)

    tree.add_command(cohort)

    @tree.command(description="Reply with more than Discord allows", guild=scope)
    async def long(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("x" * 2001)

    @tree.command(description="Answer too late", guild=scope)
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.1)
        await interaction.response.send_message("sorry I'm late")

    @tree.command(description="Answer twice", guild=scope)
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        # A second handler racing for the same interaction: a fresh response object skips
        # discord.py's local InteractionResponded check, so the request reaches "Discord".
        try:
            await discord.InteractionResponse(interaction).send_message("two")
        except discord.HTTPException as error:
            seen.errors.append(error)

    @tree.command(description="DM me", guild=scope)
    async def remind(interaction: discord.Interaction) -> None:
        try:
            await interaction.user.send("reminder: session at 18:00")
        except discord.Forbidden as error:
            await interaction.response.send_message(f"could not DM you ({error.code})", ephemeral=True)
        else:
            await interaction.response.send_message("check your DMs", ephemeral=True)

    @tree.command(description="Send a file", guild=scope)
    async def export(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("here", file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "export.csv"))


@pytest.fixture
def scene() -> Scene:
    return build_scene()


@pytest_asyncio.fixture
async def sb(scene: Scene) -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(scene.world)
    await sandbox.start()
    sandbox.default_user = scene.alice
    sandbox.default_guild = scene.guild
    try:
        with sandbox.point_discord_here():
            yield sandbox
    finally:
        await sandbox.stop()


@pytest.fixture
def seen() -> Seen:
    return Seen()


async def start_bot(sb: Sandbox, scene: Scene, seen: Seen) -> tuple[commands.Bot, asyncio.Task[None]]:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
    add_commands(bot, scene.guild.id, seen)

    async def on_resumed() -> None:
        seen.resumed.set()

    bot.add_listener(on_resumed)
    # bot.start() is login() + connect(); splitting them lets us wait for READY without racing login.
    await bot.login(sb.token)
    running = asyncio.create_task(bot.connect())
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({running, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        raise RuntimeError(f"bot never became ready: {running.exception() if running.done() else 'timeout'}")
    return bot, running


async def stop_bot(bot: commands.Bot, running: asyncio.Task[None]) -> None:
    await bot.close()
    await running


@pytest_asyncio.fixture
async def bot(sb: Sandbox, scene: Scene, seen: Seen) -> AsyncIterator[commands.Bot]:
    bot, running = await start_bot(sb, scene, seen)
    try:
        await bot.tree.sync(guild=discord.Object(scene.guild.id))
        yield bot
    finally:
        await stop_bot(bot, running)


def channel_of(bot: commands.Bot, channel: Channel) -> discord.TextChannel:
    found = bot.get_channel(channel.id)
    assert isinstance(found, discord.TextChannel)
    return found


@pytest.mark.asyncio
async def test_start_to_ready_and_one_command_round_trip(sb: Sandbox, scene: Scene, seen: Seen) -> None:
    started = time.perf_counter()
    bot, running = await start_bot(sb, scene, seen)
    ready = time.perf_counter()
    await bot.tree.sync(guild=discord.Object(scene.guild.id))
    synced = time.perf_counter()
    reply = await sb.slash("ping")
    answered = time.perf_counter()
    await stop_bot(bot, running)
    print(f"start->ready {1000 * (ready - started):.1f} ms, sync {1000 * (synced - ready):.1f} ms, "
          f"slash round trip {1000 * (answered - synced):.2f} ms")
    # The timings are printed for a person to read, never asserted: the machine may be shared and noisy.
    assert reply.content == "pong pong"


@pytest.mark.asyncio
async def test_ready_and_guild_create_fill_the_bot_cache(bot: commands.Bot, scene: Scene) -> None:
    assert bot.user is not None and bot.user.id == scene.world.bot.id
    assert bot.application_id == scene.world.application_id
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None and guild.name == "Study Hall"
    assert {c.name for c in guild.text_channels} == {"general", "staff-only", "announcements"}
    assert guild.get_role(scene.mentor.id) > guild.me.top_role
    assert guild.member_count == 4
    # Without the members intent Discord sends only the bot's own member.
    assert guild.get_member(scene.alice.id) is None
    assert not guild.me.guild_permissions.administrator


@pytest.mark.asyncio
async def test_sync_stores_the_schema_with_stable_ids(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    first = {c["name"]: c["id"] for c in sb.synced_commands(scene.guild)}
    assert {"ping", "join", "cohort", "inspect"} <= set(first)
    assert sb.synced_commands() == []
    await bot.tree.sync(guild=discord.Object(scene.guild.id))
    assert {c["name"]: c["id"] for c in sb.synced_commands(scene.guild)} == first


@pytest.mark.asyncio
async def test_sync_of_a_schema_discord_refuses_fails_with_50035(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    @app_commands.command(description="d" * 101)
    @app_commands.choices(level=[app_commands.Choice(name=f"l{i}", value=i) for i in range(26)])
    async def broken(interaction: discord.Interaction, level: int) -> None:
        raise AssertionError("never synced")

    bot.tree.add_command(broken, guild=discord.Object(scene.guild.id))
    with pytest.raises(app_commands.CommandSyncFailure) as failure:
        await bot.tree.sync(guild=discord.Object(scene.guild.id))
    assert failure.value.code == 50035
    assert "description: Must be between 1 and 100 in length." in str(failure.value)
    assert "choices: Must be 25 or fewer in length." in str(failure.value)
    assert sb.api_errors[-1].status == 400


@pytest.mark.asyncio
async def test_slash_round_trip_with_an_ephemeral_reply(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    reply = await sb.slash("ping", word="hi", channel=scene.general)
    assert (reply.content, reply.ephemeral, reply.deferred) == ("pong hi", True, False)
    assert sb.messages_in(scene.general) == []
    assert sb.messages_in(scene.general, include_ephemeral=True) == [reply.message]


@pytest.mark.asyncio
async def test_options_are_checked_against_the_synced_schema(bot: commands.Bot, sb: Sandbox) -> None:
    with pytest.raises(SandboxError, match="no option"):
        await sb.slash("ping", colour="red")
    with pytest.raises(SandboxError, match="missing required"):
        await sb.slash("join")
    with pytest.raises(SandboxError, match="takes a str"):
        await sb.slash("join", cohort=3)
    with pytest.raises(SandboxError, match="never synced"):
        await sb.slash("nope")


@pytest.mark.asyncio
async def test_resolved_members_roles_channels_and_attachments(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    upload = SandboxFile("plan.txt", b"week 1", "text/plain")
    # An option named like a location keyword (user/guild/channel) goes through options=.
    options = {"member": scene.bob, "role": scene.learner, "channel": scene.general, "upload": upload}
    reply = await sb.slash("inspect", options=options)
    assert reply.content == "bob|Learner|general|week 1|1"
    with pytest.raises(SandboxError, match="takes a int"):
        await sb.slash("inspect", options=options, count=1.5)
    with pytest.raises(SandboxError, match="options="):
        await sb.slash("inspect", member=scene.bob, role=scene.learner, channel=scene.general, upload=upload)


@pytest.mark.asyncio
async def test_subcommand_paths(bot: commands.Bot, sb: Sandbox) -> None:
    reply = await sb.slash("cohort create", name="Spring")
    assert reply.content == "created Spring"
    with pytest.raises(SandboxError, match="needs a subcommand"):
        await sb.slash("cohort", name="Spring")


@pytest.mark.asyncio
async def test_deferred_reply_is_filled_by_the_first_followup(bot: commands.Bot, sb: Sandbox) -> None:
    reply = await sb.slash("slow")
    assert reply.deferred and reply.ephemeral
    assert reply.content == "done"
    followups = await reply.wait_followups(2)
    assert [m.content for m in followups] == ["done", "and another thing"]
    assert followups[0] is reply.message and followups[1].ephemeral is False


@pytest.mark.asyncio
async def test_button_click_edits_the_message(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    vote = await sb.slash("vote")
    assert vote.content == "approve?" and not vote.ephemeral
    clicked = await sb.click(vote, "Approve", user=scene.bob)
    assert clicked.type == 7
    assert clicked.message is vote.message
    assert (vote.content, vote.components, vote.message.edited) == ("approved by bob", [], True)
    with pytest.raises(SandboxError, match="no component matches"):
        await sb.click(vote, "Approve")


@pytest.mark.asyncio
async def test_buttons_can_open_modals_defer_and_selects_pick(bot: commands.Bot, sb: Sandbox) -> None:
    first = await sb.slash("review")
    week = await sb.select(first, "Week", ["2"])
    assert (week.type, week.content, week.ephemeral) == (4, "week 2", True)
    form = await sb.click(first, "Comment")
    assert form.type == 9 and form.modal is not None
    updated = await sb.submit_modal(form, {"Comment": "looks good"})
    assert updated.type == 7 and first.content == "comment: looks good"
    second = await sb.slash("review")
    archived = await sb.click(second, "Archive")
    assert archived.type == 6 and archived.deferred
    assert second.content == "archived" and second.components == []


@pytest.mark.asyncio
async def test_modal_round_trip(bot: commands.Bot, sb: Sandbox) -> None:
    form = await sb.slash("apply")
    assert form.modal is not None and form.modal.title == "Apply"
    assert [f["label"] for f in form.modal.fields] == ["Link", "Notes"]
    with pytest.raises(SandboxError, match="is required"):
        await sb.submit_modal(form, {"Notes": "no link"})
    answer = await sb.submit_modal(form, {"link": "https://example.org/pr/1", "Notes": "ready"})
    assert answer.content == "got https://example.org/pr/1 / ready"


@pytest.mark.asyncio
async def test_autocomplete_offers_choices(bot: commands.Bot, sb: Sandbox) -> None:
    assert await sb.autocomplete("join", "cohort", "s") == [
        {"name": "Spring", "value": "Spring"},
        {"name": "Summer", "value": "Summer"},
    ]
    with pytest.raises(SandboxError, match="autocomplete"):
        await sb.autocomplete("ping", "word", "p")


@pytest.mark.asyncio
async def test_overlong_content_and_embeds_get_50035(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    reply = await sb.slash("long")
    assert not reply.responded
    assert [e.code for e in reply.errors] == [50035]
    assert "content" in (reply.errors[0].errors or {})
    channel = channel_of(bot, scene.general)
    big = [discord.Embed(description="y" * 4000), discord.Embed(description="z" * 2001)]
    with pytest.raises(discord.HTTPException) as refused:
        await channel.send(embeds=big)
    assert refused.value.code == 50035 and "embeds" in refused.value.text


@pytest.mark.asyncio
async def test_roles_at_or_above_the_bot_get_50013(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None
    member = await guild.fetch_member(scene.bob.id)
    with pytest.raises(discord.Forbidden) as refused:
        await member.add_roles(discord.Object(scene.mentor.id))
    assert refused.value.code == 50013
    await member.add_roles(discord.Object(scene.learner.id))
    assert scene.learner in scene.bob.roles
    role = await guild.create_role(name="Spring 2025")
    assert scene.guild.roles[role.id].position == 1
    await member.add_roles(role)
    assert scene.guild.roles[role.id] in scene.bob.roles


@pytest.mark.asyncio
async def test_closed_dms_get_50007(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    refused = await sb.slash("remind", user=scene.bob)
    assert refused.content == "could not DM you (50007)"
    assert sb.dms_to(scene.bob) == []
    ok = await sb.slash("remind", user=scene.alice)
    assert ok.content == "check your DMs"
    assert [m.content for m in sb.dms_to(scene.alice)] == ["reminder: session at 18:00"]


@pytest.mark.asyncio
async def test_a_response_after_the_deadline_gets_10062(bot: commands.Bot, sb: Sandbox) -> None:
    sb.interaction_deadline = 0.05
    reply = await sb.slash("late")
    assert not reply.responded
    assert [e.code for e in reply.errors] == [10062]


@pytest.mark.asyncio
async def test_a_second_initial_response_gets_40060(bot: commands.Bot, sb: Sandbox, seen: Seen) -> None:
    reply = await sb.slash("twice")
    assert reply.content == "one"
    await sb.until(lambda: seen.errors, what="the second response to fail")
    assert [e.code for e in seen.errors] == [40060]


@pytest.mark.asyncio
async def test_channel_permissions_give_50001_and_50013(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    with pytest.raises(discord.Forbidden) as hidden:
        await channel_of(bot, scene.general).guild.get_channel(scene.hidden.id).send("hi")  # type: ignore[union-attr]
    assert hidden.value.code == 50001
    with pytest.raises(discord.Forbidden) as readonly:
        await channel_of(bot, scene.readonly).send("hi")
    assert readonly.value.code == 50013
    scene.general.set_overwrite(scene.guild.bot_role, deny=Perm.ATTACH_FILES)
    with pytest.raises(discord.Forbidden):
        await channel_of(bot, scene.general).send(file=discord.File(io.BytesIO(b"x"), "x.txt"))
    assert [r.error_code for r in sb.api_errors] == [50001, 50013, 50013]


@pytest.mark.asyncio
async def test_files_go_up_as_multipart_and_come_back(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    reply = await sb.slash("export")
    assert [(a.filename, a.data, a.content_type) for a in reply.attachments] == [
        ("export.csv", b"a,b\n1,2\n", "text/csv")
    ]
    sent = await channel_of(bot, scene.general).send("notes", file=discord.File(io.BytesIO(b"hello"), "notes.txt"))
    assert await sent.attachments[0].read() == b"hello"
    assert sb.messages_in(scene.general)[-1].attachments[0].text() == "hello"


@pytest.mark.asyncio
async def test_uploads_over_the_servers_limit_get_40005_and_downloads_can_fail(
    bot: commands.Bot, sb: Sandbox, scene: Scene
) -> None:
    channel = channel_of(bot, scene.general)
    limit = channel.guild.filesize_limit
    with pytest.raises(discord.HTTPException) as refused:
        await channel.send(file=discord.File(io.BytesIO(b"0" * (limit + 1)), "big.bin"))
    assert (refused.value.status, refused.value.code) == (413, 40005)
    sent = await channel.send(file=discord.File(io.BytesIO(b"0" * limit), "fits.bin"))
    sb.fail_next("GET", "/attachments/{channel_id}/{attachment_id}/{filename}", status=404)
    with pytest.raises(discord.NotFound):
        await sent.attachments[0].read()
    assert len(await sent.attachments[0].read()) == limit


@pytest.mark.asyncio
async def test_a_held_request_is_answered_once_released_and_role_edits_reach_the_cache(
    bot: commands.Bot, sb: Sandbox, scene: Scene
) -> None:
    release = sb.hold_next("POST", "/channels/{channel_id}/messages")
    sending = asyncio.create_task(channel_of(bot, scene.general).send("slow"))
    await sb.until(lambda: sb.requests_to("POST", "/channels/{channel_id}/messages"), what="the held request")
    assert not sending.done() and sb.messages_in(scene.general) == []
    release.set()
    assert (await sending).content == "slow"

    await sb.change_role(scene.learner, permissions=int(Perm.MANAGE_GUILD))
    cached = bot.get_guild(scene.guild.id).get_role(scene.learner.id)
    await sb.until(lambda: cached.permissions.manage_guild, what="GUILD_ROLE_UPDATE to reach the bot")


@pytest.mark.asyncio
async def test_threads_need_permission_and_reach_the_cache(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    starter = await channel_of(bot, scene.general).send("week 1 check-in")
    thread = await starter.create_thread(name="week-1")
    assert thread.id == starter.id and thread.parent_id == scene.general.id
    cached = await sb.until(lambda: thread.guild.get_thread(thread.id), what="THREAD_CREATE to reach the bot")
    await cached.send("progress?")
    assert [m.content for m in sb.messages_in(thread.id)] == ["progress?"]
    scene.general.set_overwrite(scene.guild.bot_role, deny=Perm.CREATE_PUBLIC_THREADS)
    with pytest.raises(discord.Forbidden):
        await channel_of(bot, scene.general).create_thread(name="nope", type=discord.ChannelType.public_thread)


@pytest.mark.asyncio
async def test_fail_next_500_is_retried_by_discord_py(
    bot: commands.Bot, sb: Sandbox, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    # discord.py sleeps 1 s (+2 s per retry) before retrying 500/502/504/524; record it, skip the wait.
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def quick_sleep(delay: float, *args: object) -> None:
        slept.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(discord.http.asyncio, "sleep", quick_sleep)
    sb.fail_next("POST", "/channels/{channel_id}/messages", status=500)
    await channel_of(bot, scene.general).send("eventually")
    assert 1 in slept
    assert [r.status for r in sb.requests_to("POST", "/channels/{channel_id}/messages")] == [500, 200]
    # 503 is not in discord.py's retry set: it raises straight away.
    sb.fail_next("POST", "/channels/{channel_id}/messages", status=503)
    with pytest.raises(discord.DiscordServerError):
        await channel_of(bot, scene.general).send("never")


@pytest.mark.asyncio
async def test_fail_next_429_retry_after_is_honoured(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    sb.fail_next("POST", r"/channels/\d+/messages", status=429, retry_after=0.2)
    started = time.perf_counter()
    await channel_of(bot, scene.general).send("after the limit")
    assert time.perf_counter() - started >= 0.2
    assert [r.status for r in sb.requests_to("POST", "/channels/{channel_id}/messages")] == [429, 200]
    sb.fail_next("POST", "/interactions/{id}/{token}/callback", status=429, retry_after=0.05)
    reply = await sb.slash("ping")
    assert reply.content == "pong pong"


@pytest.mark.asyncio
async def test_forced_reconnect_resumes_the_session(bot: commands.Bot, sb: Sandbox, scene: Scene, seen: Seen) -> None:
    await sb.force_reconnect()
    await asyncio.wait_for(seen.resumed.wait(), 2)
    assert len(sb.gateway.sessions) == 1 and sb.gateway.resumes == 1
    assert (await sb.slash("ping")).content == "pong pong"
    # An event sent while the bot is reconnecting is replayed on RESUME.
    await sb.gateway.request_reconnect()
    await sb.dispatch("GUILD_UPDATE", {**payloads.guild_summary(scene.guild), "name": "While away"})
    await sb.until(lambda: sb.gateway.resumes == 2, what="the second resume")
    await sb.until(lambda: bot.get_guild(scene.guild.id).name == "While away", what="the replayed GUILD_UPDATE")


@pytest.mark.asyncio
async def test_unknown_guilds_commands_and_routes_are_survivable(
    bot: commands.Bot, sb: Sandbox, scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    stranger_guild = scene.world.add_guild("Elsewhere", bot_joined=False)
    stranger = stranger_guild.add_member("carol")
    lost = await sb.slash("ping", guild=stranger_guild, user=stranger, strict=False, wait=False)
    unknown = await sb.slash("vanished", strict=False, wait=False)
    nowhere = await sb.interact({
        "type": 2,
        "guild_id": "42",
        "channel_id": "43",
        "member": {"user": payloads.user(User(44, "ghost")), "roles": [], "flags": 0, "permissions": "0"},
        "data": {"id": "45", "name": "ping", "type": 1, "guild_id": "42"},
    }, wait=False)
    with caplog.at_level(logging.WARNING, logger="bot.sandbox.server"), pytest.raises(discord.NotFound):
        await channel_of(bot, scene.general).guild.fetch_emojis()
    assert sb.unknown_routes == [f"GET /guilds/{scene.guild.id}/emojis"] and "no route" in caplog.text
    assert (await sb.slash("ping")).content == "pong pong"
    assert not (lost.responded or unknown.responded or nowhere.responded) and not bot.is_closed()


@pytest.mark.asyncio
async def test_point_discord_here_survives_set_api_version_and_restores(sb: Sandbox) -> None:
    assert sb.api_base == discord.http.Route.BASE
    discord.http._set_api_version(10)
    assert sb.api_base == discord.http.Route.BASE
    with sb.point_discord_here():
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == sb.gateway_url
    assert sb.api_base == discord.http.Route.BASE


@pytest.mark.asyncio
async def test_raw_interactions_and_dispatched_events(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    ping = next(c for c in sb.synced_commands(scene.guild) if c["name"] == "ping")
    raw = {
        "type": 2,
        "channel_id": str(scene.general.id),
        "guild_id": str(scene.guild.id),
        "member": payloads.member(scene.alice, channel=scene.general),
        "data": {"id": ping["id"], "name": "ping", "type": 1, "guild_id": str(scene.guild.id)},
    }
    reply = await sb.interact(raw)
    assert reply.content == "pong pong" and reply.message.author_id == scene.world.bot.id
    await sb.dispatch("GUILD_UPDATE", {**payloads.guild_summary(scene.guild), "name": "Renamed"})
    renamed = await sb.until(lambda: bot.get_guild(scene.guild.id).name == "Renamed", what="GUILD_UPDATE")
    assert renamed


@pytest.mark.asyncio
async def test_the_bot_joining_a_guild_later(bot: commands.Bot, sb: Sandbox, scene: Scene) -> None:
    joined: list[discord.Guild] = []

    async def on_guild_join(guild: discord.Guild) -> None:
        joined.append(guild)

    bot.add_listener(on_guild_join)
    later = scene.world.add_guild("Latecomers", bot_joined=False)
    assert bot.get_guild(later.id) is None
    await sb.add_bot_to(later)
    await sb.until(lambda: joined, what="on_guild_join")
    assert joined[0].id == later.id and joined[0].me is not None


@pytest.mark.asyncio
async def test_a_resend_with_the_same_nonce_returns_the_first_message(
    bot: commands.Bot, sb: Sandbox, scene: Scene
) -> None:
    channel = channel_of(bot, scene.general)
    first = await channel.send("week 1", nonce="w1.0")
    again = await channel.send("week 1", nonce="w1.0")
    other = await channel.send("week 2", nonce="w1.1")
    assert again.id == first.id != other.id
    assert [m.content for m in sb.messages_in(scene.general)] == ["week 1", "week 2"]
    sb.nonce_window = 0.0  # past Discord's window the same nonce makes a new message
    await channel.send("week 1", nonce="w1.0")
    assert len(sb.messages_in(scene.general)) == 3


@pytest.mark.asyncio
async def test_a_lost_answer_is_carried_out_but_never_reaches_the_bot(
    bot: commands.Bot, sb: Sandbox, scene: Scene
) -> None:
    sb.fail_next("POST", "/channels/{channel_id}/messages", status=LOST)
    with pytest.raises(aiohttp.ClientError):
        await channel_of(bot, scene.general).send("did it go?")
    assert [m.content for m in sb.messages_in(scene.general)] == ["did it go?"]


@pytest.mark.asyncio
async def test_a_second_thread_on_one_message_is_refused_as_discord_does(
    bot: commands.Bot, sb: Sandbox, scene: Scene
) -> None:
    starter = await channel_of(bot, scene.general).send("week 1")
    await starter.create_thread(name="week-1")
    with pytest.raises(discord.HTTPException) as refused:
        await starter.create_thread(name="week-1")
    assert (refused.value.status, refused.value.code) == (400, 160004)


@pytest.mark.asyncio
async def test_chaos_fails_requests_at_its_rate_and_repeats_for_a_seed(sb: Sandbox) -> None:
    def draws(seed: int) -> list[int | None]:
        sb.unleash_chaos(seed, rate=0.3)
        found = [sb.faults.take("POST", f"/channels/{n}/messages") for n in range(200)]
        return [f.status if f else None for f in found]

    first, again, other = draws(7), draws(7), draws(8)
    assert first == again != other
    assert 30 < sum(status is not None for status in first) < 90
    assert {s for s in first if s is not None} == {503, 429, LOST}
    sb.calm()
    assert sb.faults.take("POST", "/channels/1/messages") is None
