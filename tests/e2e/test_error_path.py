"""The one error path: refusals are ephemeral, failures are logged with an id, bad input never stops the bot."""

from __future__ import annotations

import logging
import re

import discord
import pytest

from bot.harness import RunningBot, StudyServer
from bot.sandbox import Channel, ChannelType, Sandbox, SandboxFile, User, payloads
from tests.e2e.helpers import Launcher, guild_command

APOLOGY = re.compile(r"Sorry, something went wrong on my side\..* id: ([0-9a-f]{8})")
NOT_A_ROADMAP = b"id: broken\ntitle: Broken\nmodules: not-a-list\n"


async def assert_still_serving(sandbox: Sandbox, server: StudyServer, expect: str = "No cohorts yet") -> None:
    """A normal command right after the bad one gets its normal answer."""
    reply = await sandbox.slash("cohort list", user=server.moderator)
    assert not reply.errors, reply.errors
    assert reply.ephemeral
    assert expect in (reply.content or ""), reply


async def create_cohort(sandbox: Sandbox, server: StudyServer, name: str = "Spring") -> None:
    reply = await sandbox.slash(
        "cohort create", name=name, roadmap="ml-ai-study-guide", start="2026-03-02",
        options={"channel": server.cohort_channel}, user=server.moderator,
    )
    assert "Created" in (reply.content or ""), reply


# Domain errors.

async def test_a_domain_error_becomes_an_ephemeral_reply_with_its_message(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    reply = await sandbox.slash("cohort info", cohort="Nonexistent", user=server.moderator)
    assert reply.type == 4, "answered at once, not deferred"
    assert reply.ephemeral
    assert "no cohort named 'Nonexistent'" in (reply.content or "")
    assert not reply.followups
    assert sandbox.messages_in(server.cohort_channel) == [], "nothing public was said"


async def test_a_domain_error_after_a_deferral_goes_as_a_followup(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    reply = await sandbox.slash(
        "cohort import-roadmap", file=SandboxFile("broken.yaml", NOT_A_ROADMAP, "application/x-yaml"),
        user=server.moderator,
    )
    assert reply.deferred, "import-roadmap defers before reading the file"
    assert not reply.errors, reply.errors
    assert len(reply.followups) == 1
    refusal = reply.followups[0]
    assert refusal.ephemeral
    assert "broken.yaml" in refusal.content
    assert "modules" in refusal.content
    assert "Sorry" not in refusal.content
    await assert_still_serving(sandbox, server)


async def test_a_learner_running_a_moderator_command_is_refused_ephemerally(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    reply = await sandbox.slash("cohort list", user=server.learners[0])
    assert reply.ephemeral
    assert "Only moderators" in (reply.content or "")


# Unexpected failures.

async def test_an_unexpected_exception_is_logged_with_an_id_that_the_user_is_given(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    @bot.bot.tree.command(name="explode", description="Fails on purpose (test only)")
    async def explode(interaction: discord.Interaction) -> None:
        raise RuntimeError("the test's deliberate failure")

    await bot.bot.tree.sync()
    caplog.set_level(logging.ERROR, logger="bot.errors")
    reply = await sandbox.slash("explode", user=server.learners[0])
    assert reply.ephemeral
    match = APOLOGY.search(reply.content or "")
    assert match, reply.content
    assert "RuntimeError" not in reply.content and "deliberate" not in reply.content, "no internals shown"
    error_id = match.group(1)
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None and isinstance(logged[0].exc_info[1], RuntimeError)
    assert "the test's deliberate failure" in caplog.text, "the traceback is in the log"
    assert "explode" in logged[0].getMessage(), "the log names the command"
    await assert_still_serving(sandbox, server)


async def test_an_exception_after_a_deferral_is_apologised_for_in_a_followup(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    @bot.bot.tree.command(name="slow-explode", description="Defers, then fails (test only)")
    async def slow_explode(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        raise RuntimeError("failed after deferring")

    await bot.bot.tree.sync()
    caplog.set_level(logging.ERROR, logger="bot.errors")
    reply = await sandbox.slash("slow-explode", user=server.learners[0])
    assert reply.deferred
    assert len(reply.followups) == 1
    match = APOLOGY.search(reply.followups[0].content)
    assert match, reply.followups[0].content
    assert match.group(1) in caplog.text
    await assert_still_serving(sandbox, server)


# Bad input Discord's client would never send, or stale state.

async def test_an_unknown_command_gets_an_answer_and_the_bot_keeps_serving(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING)
    reply = await sandbox.slash("forgotten-command", strict=False, user=server.learners[0])
    assert not reply.errors, reply.errors
    assert reply.ephemeral
    assert "I don't have a /forgotten-command command" in (reply.content or ""), reply.content
    warnings = [r for r in caplog.records if "forgotten-command" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING], "one line for the operator, no traceback"
    assert warnings[0].exc_info is None
    await assert_still_serving(sandbox, server)


async def test_an_option_of_the_wrong_type_does_not_break_the_bot(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    await create_cohort(sandbox, server)
    learner = server.learners[0]
    assert "Welcome" in ((await sandbox.slash("join", user=learner)).content or "")
    caplog.set_level(logging.WARNING)
    raw = guild_command(sandbox, learner, server.cohort_channel, "roadmap",
                        [{"name": "week", "type": 4, "value": "three"}])
    reply = await sandbox.interact(raw)
    assert not reply.errors, reply.errors
    assert reply.ephemeral
    # Either a refusal naming the bad value, or the apology whose id leads to the logged traceback.
    apology = APOLOGY.search(reply.content or "")
    if apology:
        assert apology.group(1) in caplog.text, "the failure behind the apology is in the log"
    else:
        assert "three" in (reply.content or ""), reply.content
    assert sandbox.messages_in(server.cohort_channel) == [], "no week was posted by the bad input"
    week_one = await sandbox.slash("roadmap", week=1, user=learner)
    assert "Week 1 of 'Spring' is not open yet" in (week_one.content or ""), week_one


async def test_an_interaction_from_an_unknown_server_is_refused_politely(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    unknown_guild = sandbox.world.ids.next()
    channel = Channel(sandbox.world.ids.next(), "elsewhere", ChannelType.TEXT)
    stranger = User(sandbox.world.ids.next(), "stranger")
    schema = sandbox.commands.lookup("cohort", None)
    assert schema is not None
    raw = {
        "type": 2,
        "guild_id": str(unknown_guild),
        "channel_id": str(channel.id),
        "channel": {**payloads.channel(channel), "guild_id": str(unknown_guild)},
        "member": {"user": payloads.user(stranger), "roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
                   "deaf": False, "mute": False, "flags": 0, "permissions": str(0x20)},
        "data": {"id": schema["id"], "name": "cohort", "type": 1,
                 "options": [{"name": "list", "type": 1, "options": []}]},
    }
    reply = await sandbox.interact(raw)
    assert not reply.errors, reply.errors
    assert reply.ephemeral
    assert "I don't know this server yet" in (reply.content or ""), reply.content
    await assert_still_serving(sandbox, server)


async def test_a_click_on_a_button_the_bot_no_longer_knows_does_not_break_it(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, caplog: pytest.LogCaptureFixture
):
    first = await launch()
    await create_cohort(sandbox, server)
    learner = server.learners[0]
    await sandbox.slash("join", user=learner)
    prompt = await sandbox.slash("leave", user=learner)
    assert prompt.components, "the leave prompt has Confirm/Cancel buttons"
    await first.stop()
    # The confirm view lived in the old process: after a restart its custom_ids are unknown.
    await launch()
    caplog.set_level(logging.WARNING)
    stale = await sandbox.click(prompt, "Leave", user=learner, wait=False)
    await assert_still_serving(sandbox, server, expect="**Spring**")
    assert not stale.errors, stale.errors
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    again = await sandbox.slash("leave", user=learner)
    assert "Leave **Spring**?" in (again.content or ""), "the stale click did not remove the member"
