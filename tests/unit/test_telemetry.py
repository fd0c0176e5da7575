"""Metric labels stay few and secret-free; start-up retries stay inside Discord's daily identify budget."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.startup import MAX_RETRY, retry_delays
from bot.telemetry.discord_http import route_family
from bot.telemetry.interactions import InteractionMonitor, command_label
from bot.telemetry.metrics import Metrics

IDENTIFY_BUDGET_PER_DAY = 1000
SUB = {"type": 1, "name": "c", "options": [{"type": 4, "name": "n", "value": 5}]}


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/api/v10/channels/123/messages", "channels/messages"),
        ("/api/v10/channels/123/messages/456/threads", "channels/messages/threads"),
        ("/api/v10/interactions/987/aW50ZXJhY3Rpb246dG9rZW4/callback", "interactions/callback"),
        ("/api/v10/webhooks/111/tok.en-secret_x/messages/@original", "webhooks/messages/@original"),
        ("/api/v10/webhooks/111/onlyletterstoken", "webhooks"),
        ("/api/v10/users/@me/channels", "users/@me/channels"),
        ("/api/v10/applications/1/guilds/2/commands", "applications/guilds/commands"),
        ("/api/v10/guilds/2/members/3/roles/4", "guilds/members/roles"),
        ("/api/v10", "other"),
    ],
)
def test_route_family_drops_ids_and_tokens(path: str, family: str) -> None:
    assert route_family(path) == family


@pytest.mark.parametrize(
    ("data", "label"),
    [
        ({"type": 2, "data": {"name": "join", "options": [{"type": 3, "name": "cohort", "value": "x"}]}}, "join"),
        ({"type": 2, "data": {"name": "cohort", "options": [{"type": 1, "name": "list"}]}}, "cohort list"),
        ({"type": 2, "data": {"name": "g", "options": [{"type": 2, "name": "s", "options": [SUB]}]}}, "g s c"),
        ({"type": 3, "data": {"custom_id": "review:ok:12:1"}}, "component:review"),
        ({"type": 3, "data": {"custom_id": "5f2c0e4b9d7a4e1f8a3b6c2d1e0f9a8b"}}, "component"),
        ({"type": 5, "data": {"custom_id": "0a1b2c3d4e5f"}}, "modal"),
    ],
)
def test_command_label_names_the_command_never_a_value_or_a_random_id(data: dict, label: str) -> None:
    assert command_label(data) == label


def test_retries_back_off_to_a_pace_within_the_daily_identify_budget() -> None:
    delays = list(itertools.islice(retry_delays(), 12))
    assert delays[:4] == [1, 2, 4, 8]
    assert max(delays) == MAX_RETRY
    # Each attempt identifies at most once; a whole day of failures at the slowest pace stays well inside.
    assert timedelta(days=1) / timedelta(seconds=MAX_RETRY) < IDENTIFY_BUDGET_PER_DAY / 2


async def test_two_bots_in_one_loop_each_note_their_own_handlers_and_wrap_the_task_factory_once() -> None:
    loop = asyncio.get_running_loop()
    started: list[asyncio.Task[None]] = []

    def handle(_data: dict) -> None:  # what discord.py's parser does: start the handler as a task
        started.append(loop.create_task(asyncio.sleep(0)))

    monitors = [InteractionMonitor(Metrics()) for _ in range(2)]
    parsers = []
    for monitor in monitors:
        client = SimpleNamespace(_connection=SimpleNamespace(parsers={"INTERACTION_CREATE": handle}))
        monitor.install(client)  # type: ignore[arg-type]
        parsers.append(client._connection.parsers["INTERACTION_CREATE"])
    data = {"type": 2, "data": {"name": "ping"}}
    parsers[0](data)
    parsers[1](data)
    factory = loop.get_task_factory()
    for k in range(20):
        parsers[k % 2](data)
    assert loop.get_task_factory() is factory  # wrapped once per monitor, not once per interaction
    watchers = [w for m in monitors for w in m._watchers]
    assert len(watchers) == 22 and len(started) == 22
    await asyncio.gather(*started, *watchers)
    loop.set_task_factory(None)
