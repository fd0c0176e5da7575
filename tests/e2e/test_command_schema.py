"""Every application command is well-formed, scoped and permissioned, and synced only when the set changed."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from sqlalchemy import delete, update

from bot.clock import ManualClock
from bot.db.models import BotState
from bot.harness import RunningBot, StudyServer, start_bot
from bot.sandbox import Sandbox
from tests.e2e.helpers import Launcher

NAME = re.compile(r"^[-_\w]{1,32}$")
MANAGE_GUILD = 0x20
GUILD_CONTEXT = 0
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
LEARNER_COMMANDS = {"join", "leave", "roadmap"}
MODERATOR_GROUPS = {"cohort", "review"}
GLOBAL_ROUTE = "/applications/{app_id}/commands"
GUILD_ROUTE = "/applications/{app_id}/guilds/{guild_id}/commands"


@pytest_asyncio.fixture
async def bot(sandbox: Sandbox, tmp_path: Path, clock: ManualClock) -> AsyncIterator[RunningBot]:
    """The command set does not depend on the database: one SQLite run is enough for the shape checks."""
    running = await start_bot(sandbox, database_url=f"sqlite+aiosqlite:///{tmp_path}/schema.db", clock=clock)
    yield running
    await running.stop()


# Walking the bot's own command tree.

def local_nodes(bot: RunningBot) -> Iterator[tuple[str, Any]]:
    """(qualified name, object) for every command, group, subcommand and parameter in the bot's tree."""

    def walk(command: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        path = f"{prefix}{command.name}"
        yield path, command
        if isinstance(command, app_commands.Group):
            for child in command.commands:
                yield from walk(child, path + " ")
        elif isinstance(command, app_commands.Command):
            for parameter in command.parameters:
                yield f"{path} [{parameter.name}]", parameter

    for command in bot.bot.tree.get_commands():
        yield from walk(command, "/")


def synced_nodes(commands: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, payload) for every command and option (subcommands included) in a synced command list."""

    def walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        yield path, node
        for option in node.get("options") or []:
            nested = option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)
            yield from walk(option, f"{path} {option['name']}" if nested else f"{path} [{option['name']}]")

    for command in commands:
        yield from walk(command, f"/{command['name']}")


def chat_input_commands(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in commands if c.get("type", 1) == 1]


def is_guild_only(command: dict[str, Any]) -> bool:
    contexts = command.get("contexts")
    return contexts == [GUILD_CONTEXT] or (contexts is None and command.get("dm_permission") is False)


def permission_bits(command: dict[str, Any]) -> int | None:
    value = command.get("default_member_permissions")
    return None if value is None else int(value)


def by_name(commands: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in commands}


# The shape of every command.

def local_problems(bot: RunningBot) -> list[str]:
    problems = []
    for path, node in local_nodes(bot):
        if isinstance(node, app_commands.ContextMenu):
            if not 1 <= len(node.name) <= 32:
                problems.append(f"{path}: a context menu name must be 1-32 characters")
            continue
        if not (NAME.fullmatch(node.name) and node.name == node.name.lower()):
            problems.append(f"{path}: name {node.name!r} breaks Discord's rules (lowercase, ^[-_\\w]{{1,32}}$)")
        description = node.description
        # discord.py fills a missing description with "…", which Discord accepts but tells nobody anything.
        if not isinstance(description, str) or not 1 <= len(description) <= 100 or description == "…":
            problems.append(f"{path}: description {description!r} must be 1-100 characters")
        for choice in getattr(node, "choices", None) or []:
            if not 1 <= len(choice.name) <= 100:
                problems.append(f"{path}: choice {choice.name!r} must be 1-100 characters")
    return problems


def synced_problems(commands: list[dict[str, Any]]) -> list[str]:
    problems = []
    for path, node in synced_nodes(chat_input_commands(commands)):
        name, description = node.get("name"), node.get("description")
        if not (isinstance(name, str) and NAME.fullmatch(name) and name == name.lower()):
            problems.append(f"{path}: name {name!r} breaks Discord's rules")
        if not (isinstance(description, str) and 1 <= len(description) <= 100):
            problems.append(f"{path}: description {description!r} must be 1-100 characters")
    return problems


async def test_every_command_and_option_has_a_valid_name_and_description(sandbox: Sandbox, bot: RunningBot):
    assert len(list(local_nodes(bot))) > 10
    assert len(list(synced_nodes(sandbox.synced_commands()))) > 10
    problems = local_problems(bot) + synced_problems(sandbox.synced_commands())
    assert not problems, "\n".join(problems)


async def test_the_sandbox_accepted_exactly_the_bots_command_tree(sandbox: Sandbox, bot: RunningBot):
    refused = [r for r in sandbox.api_errors if r.error_code == 50035]
    assert not refused, [(r.method, r.path, r.response) for r in refused]
    assert [r.status for r in sandbox.requests_to("PUT", GLOBAL_ROUTE)] == [200]
    local = {path for path, _ in local_nodes(bot)}
    synced = {path for path, _ in synced_nodes(sandbox.synced_commands())}
    assert synced == local
    assert LEARNER_COMMANDS | {"cohort"} <= set(by_name(sandbox.synced_commands()))


async def test_required_options_come_before_optional_ones(sandbox: Sandbox, bot: RunningBot):
    problems = []
    for path, node in local_nodes(bot):
        if isinstance(node, app_commands.Command):
            required = [p.required for p in node.parameters]
            if required != sorted(required, reverse=True):
                problems.append(f"{path} (bot tree): {[(p.name, p.required) for p in node.parameters]}")
    for path, node in synced_nodes(sandbox.synced_commands()):
        options = [o for o in node.get("options") or [] if o["type"] not in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        required = [bool(o.get("required")) for o in options]
        if required != sorted(required, reverse=True):
            problems.append(f"{path} (synced): {[(o['name'], o.get('required')) for o in options]}")
    assert not problems, "\n".join(problems)


# Scope and permissions.

async def test_moderator_groups_need_manage_server_and_a_server(sandbox: Sandbox, bot: RunningBot):
    commands = by_name(sandbox.synced_commands())
    present = MODERATOR_GROUPS & set(commands)
    assert "cohort" in present
    for name in present:
        command = commands[name]
        assert permission_bits(command) == MANAGE_GUILD, (name, command.get("default_member_permissions"))
        assert is_guild_only(command), (name, command.get("contexts"), command.get("dm_permission"))
    group = bot.bot.tree.get_command("cohort")
    assert isinstance(group, app_commands.Group)
    assert group.default_permissions == discord.Permissions(manage_guild=True)
    assert group.guild_only


async def test_learner_commands_are_open_to_everyone_but_only_in_a_server(sandbox: Sandbox, bot: RunningBot):
    commands = by_name(sandbox.synced_commands())
    assert set(commands) >= LEARNER_COMMANDS
    for name in LEARNER_COMMANDS:
        command = commands[name]
        assert is_guild_only(command), (name, command.get("contexts"), command.get("dm_permission"))
        assert permission_bits(command) is None, name
    # Every command in the contract acts on "this server"; one that works in DMs would need a reason here.
    dm_capable = [name for name, command in commands.items() if not is_guild_only(command)]
    assert not dm_capable


# Syncing only when the command set changed.

async def test_restart_with_the_same_commands_does_not_sync_again(sandbox: Sandbox, launch: Launcher):
    first = await launch()
    assert first.bot.commands_synced
    assert len(sandbox.requests_to("PUT", GLOBAL_ROUTE)) == 1
    await first.stop()
    second = await launch()
    assert not second.bot.commands_synced
    assert len(sandbox.requests_to("PUT", GLOBAL_ROUTE)) == 1
    reply = await sandbox.slash("cohort list")
    assert "No cohorts yet" in (reply.content or "")


async def test_restart_after_the_stored_hash_is_lost_syncs_again(sandbox: Sandbox, launch: Launcher):
    first = await launch()
    async with first.bot.sessions.begin() as session:
        result = await session.execute(delete(BotState).where(BotState.key == "commands:global"))
        assert result.rowcount == 1
    await first.stop()
    second = await launch()
    assert second.bot.commands_synced
    assert len(sandbox.requests_to("PUT", GLOBAL_ROUTE)) == 2


async def test_restart_after_the_command_set_changed_syncs_again(sandbox: Sandbox, launch: Launcher):
    first = await launch()
    async with first.bot.sessions.begin() as session:
        # What the last sync would have stored for a different command set.
        await session.execute(update(BotState).where(BotState.key == "commands:global").values(value="0" * 64))
    await first.stop()
    second = await launch()
    assert second.bot.commands_synced
    assert len(sandbox.requests_to("PUT", GLOBAL_ROUTE)) == 2
    await second.stop()
    await launch()
    assert len(sandbox.requests_to("PUT", GLOBAL_ROUTE)) == 2, "the new hash was stored: a third start skips the sync"


async def test_dev_guild_syncs_to_that_guild_only(
    sandbox: Sandbox, server: StudyServer, database_url: str, clock: ManualClock
):
    running = await start_bot(sandbox, database_url=database_url, clock=clock, dev_guild_id=server.guild.id)
    try:
        assert len(sandbox.requests_to("PUT", GUILD_ROUTE)) == 1
        assert sandbox.requests_to("PUT", GLOBAL_ROUTE) == []
        guild_commands = sandbox.synced_commands(server.guild)
        assert LEARNER_COMMANDS | {"cohort"} <= set(by_name(guild_commands))
        assert all(c["guild_id"] == str(server.guild.id) for c in guild_commands)
        reply = await sandbox.slash("cohort list")
        assert "No cohorts yet" in (reply.content or "")
    finally:
        await running.stop()
    again = await start_bot(sandbox, database_url=database_url, clock=clock, dev_guild_id=server.guild.id)
    try:
        assert len(sandbox.requests_to("PUT", GUILD_ROUTE)) == 1
    finally:
        await again.stop()


async def test_a_sync_discord_fails_does_not_stop_the_bot_and_is_retried_next_start(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, caplog: pytest.LogCaptureFixture
):
    sandbox.fail_next("PUT", GLOBAL_ROUTE, status=503)
    caplog.set_level(logging.ERROR, logger="bot.app")
    first = await launch()
    assert not first.bot.commands_synced
    assert sandbox.synced_commands() == []
    assert "could not sync application commands" in caplog.text
    assert first.bot.runner._scheduler.running, "the bot runs on"
    await first.stop()
    second = await launch()
    assert second.bot.commands_synced, "the hash was not stored for the failed sync"
    assert [r.status for r in sandbox.requests_to("PUT", GLOBAL_ROUTE)] == [503, 200]
    reply = await sandbox.slash("cohort list", user=server.moderator)
    assert "No cohorts yet" in (reply.content or "")
