"""The sandbox's scheduled events: Discord's routes and validation, over raw HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.sandbox import Perm, Sandbox, World
from bot.sandbox.events import CANCELLED, COMPLETED, EXTERNAL, STAGE, VOICE

NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)
pytestmark = pytest.mark.asyncio


def at(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


def external(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Office hours",
        "privacy_level": 2,
        "entity_type": EXTERNAL,
        "entity_metadata": {"location": "Room 4"},
        "scheduled_start_time": at(2),
        "scheduled_end_time": at(3),
        **overrides,
    }


class Api:
    def __init__(self, sb: Sandbox, http: aiohttp.ClientSession, guild_id: int) -> None:
        self.sb, self.http, self.base = sb, http, f"{sb.api_base}/guilds/{guild_id}/scheduled-events"

    async def call(self, method: str, path: str = "", body: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.base + path, json=body) as response:
            return response.status, (await response.json() if response.status != 204 else None)


def error_codes(body: dict[str, Any]) -> list[str]:
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(e["code"] for e in node.get("_errors", []))
            for key, value in node.items():
                if key != "_errors":
                    walk(value)

    walk(body.get("errors", {}))
    return found


@pytest.fixture
def world() -> World:
    world = World()
    guild = world.add_guild("G")
    guild.bot_role.permissions |= int(Perm.MANAGE_EVENTS | Perm.CONNECT)
    guild.add_voice_channel("voice")
    guild.add_voice_channel("stage", stage=True)
    return world


async def test_create_list_edit_cancel_and_delete(world: World) -> None:
    guild = next(iter(world.guilds.values()))
    voice, stage = [c for c in guild.channels.values() if c.is_vocal]
    async with Sandbox(world) as sb, aiohttp.ClientSession() as http:
        sb.events.now = lambda: NOW
        api = Api(sb, http, guild.id)
        status, made = await api.call("POST", body=external())
        assert status == 200 and made["entity_metadata"] == {"location": "Room 4"} and made["status"] == 1
        status, in_voice = await api.call(
            "POST", body=external(entity_type=VOICE, channel_id=str(voice.id), entity_metadata=None)
        )
        assert status == 200 and in_voice["channel_id"] == str(voice.id)
        status, on_stage = await api.call(
            "POST", body=external(entity_type=STAGE, channel_id=str(stage.id), entity_metadata=None,
                                  scheduled_end_time=None)
        )
        assert status == 200, on_stage
        assert {e["id"] for e in (await api.call("GET"))[1]} == {made["id"], in_voice["id"], on_stage["id"]}

        status, moved = await api.call("PATCH", f"/{made['id']}", {"scheduled_start_time": at(5),
                                                                    "scheduled_end_time": at(6)})
        assert status == 200 and moved["scheduled_start_time"] == at(5)
        status, cancelled = await api.call("PATCH", f"/{made['id']}", {"status": CANCELLED})
        assert status == 200 and cancelled["status"] == CANCELLED
        assert made["id"] not in {e["id"] for e in (await api.call("GET"))[1]}, "cancelled events are not listed"
        status, body = await api.call("PATCH", f"/{made['id']}", {"name": "again"})
        assert status == 400, "a cancelled event cannot be edited"

        assert (await api.call("DELETE", f"/{in_voice['id']}"))[0] == 204
        status, body = await api.call("GET", f"/{in_voice['id']}")
        assert (status, body["code"]) == (404, 10070)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"scheduled_start_time": at(-1)}, "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST"),
        ({"scheduled_end_time": at(1)}, "GUILD_SCHEDULED_EVENT_END_BEFORE_START"),
        ({"scheduled_end_time": None}, "GUILD_SCHEDULED_EVENT_REQUIRED_END_TIME"),
        ({"entity_metadata": None}, "BASE_TYPE_BAD_LENGTH"),
        ({"entity_metadata": {"location": "x" * 101}}, "BASE_TYPE_BAD_LENGTH"),
        ({"name": "x" * 101}, "BASE_TYPE_BAD_LENGTH"),
        ({"description": "x" * 1001}, "BASE_TYPE_MAX_LENGTH"),
        ({"privacy_level": 1}, "BASE_TYPE_CHOICES"),
        ({"entity_type": 7}, "BASE_TYPE_CHOICES"),
        ({"scheduled_start_time": "tomorrow"}, "DATE_TIME_TYPE_PARSE"),
        ({"channel_id": "1"}, "GUILD_SCHEDULED_EVENT_CHANNEL_NOT_ALLOWED"),
    ],
)
async def test_discords_validation(world: World, overrides: dict[str, Any], code: str) -> None:
    guild = next(iter(world.guilds.values()))
    async with Sandbox(world) as sb, aiohttp.ClientSession() as http:
        sb.events.now = lambda: NOW
        status, body = await Api(sb, http, guild.id).call("POST", body=external(**overrides))
        assert (status, body["code"]) == (400, 50035) and code in error_codes(body)
        assert sb.events.in_guild(guild) == []


async def test_channel_events_need_a_matching_channel_and_the_events_permission(world: World) -> None:
    guild = next(iter(world.guilds.values()))
    voice = next(c for c in guild.channels.values() if c.is_vocal)
    text = guild.text_channels[0]
    async with Sandbox(world) as sb, aiohttp.ClientSession() as http:
        sb.events.now = lambda: NOW
        api = Api(sb, http, guild.id)
        for channel, kind in ((text, VOICE), (voice, STAGE)):
            status, body = await api.call(
                "POST", body=external(entity_type=kind, channel_id=str(channel.id), entity_metadata=None)
            )
            assert status == 400 and "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL" in error_codes(body)
        voice.set_overwrite(guild.bot_member, deny=Perm.CONNECT)
        status, body = await api.call(
            "POST", body=external(entity_type=VOICE, channel_id=str(voice.id), entity_metadata=None)
        )
        assert (status, body["code"]) == (403, 50013)
        guild.bot_role.permissions &= ~int(Perm.MANAGE_EVENTS)
        assert (await api.call("GET"))[0] == 403
        guild.bot_role.permissions |= int(Perm.CREATE_EVENTS)
        assert (await api.call("POST", body=external()))[0] == 200


async def test_status_changes_follow_discords_order(world: World) -> None:
    guild = next(iter(world.guilds.values()))
    async with Sandbox(world) as sb, aiohttp.ClientSession() as http:
        sb.events.now = lambda: NOW
        api = Api(sb, http, guild.id)
        _, made = await api.call("POST", body=external())
        status, body = await api.call("PATCH", f"/{made['id']}", {"status": COMPLETED})
        assert status == 400 and "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION" in error_codes(body)
        assert (await api.call("PATCH", f"/{made['id']}", {"status": 2}))[0] == 200
        assert (await api.call("PATCH", f"/{made['id']}", {"status": COMPLETED}))[0] == 200
