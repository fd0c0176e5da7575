"""The sandbox's Discord rules on their own: permissions, schema and message limits, raw HTTP behaviour."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.sandbox import ApiError, Perm, Sandbox, World
from bot.sandbox.faults import compile_pattern
from bot.sandbox.limits import check_message
from bot.sandbox.patch import sandbox_urls
from bot.sandbox.schema_check import check_commands
from bot.sandbox.world import ALL_PERMISSIONS


def command(**overrides: Any) -> dict[str, Any]:
    return {"name": "join", "description": "Join a cohort", "type": 1, **overrides}


def option(name: str, kind: int = 3, **overrides: Any) -> dict[str, Any]:
    return {"name": name, "description": f"The {name}", "type": kind, **overrides}


def refusal(commands: Any) -> dict[str, Any]:
    with pytest.raises(ApiError) as refused:
        check_commands(commands)
    assert (refused.value.status, refused.value.code) == (400, 50035)
    return refused.value.errors or {}


def test_permissions_follow_discords_order() -> None:
    world = World()
    guild = world.add_guild("G")
    channel = guild.text_channels[0]
    helper = guild.add_role("Helper", permissions=Perm.MANAGE_ROLES)
    member = guild.add_member("m", roles=[helper])
    assert member.permissions_in(channel) & Perm.MANAGE_ROLES
    channel.set_overwrite(guild.everyone, deny=Perm.SEND_MESSAGES)
    channel.set_overwrite(helper, allow=Perm.SEND_MESSAGES)
    assert member.permissions_in(channel) & Perm.SEND_MESSAGES
    channel.set_overwrite(member, deny=Perm.SEND_MESSAGES)
    bits = member.permissions_in(channel)
    # Without SEND_MESSAGES Discord also drops embed and attach rights.
    assert not bits & (Perm.SEND_MESSAGES | Perm.EMBED_LINKS | Perm.ATTACH_FILES)
    channel.set_overwrite(guild.everyone, deny=Perm.VIEW_CHANNEL)
    assert member.permissions_in(channel) == 0
    owner = guild.members[guild.owner_id]
    assert owner.permissions_in(channel) == ALL_PERMISSIONS
    admin = guild.add_member("admin", permissions=Perm.ADMINISTRATOR)
    assert admin.permissions_in(channel) == ALL_PERMISSIONS


def test_threads_inherit_their_parents_overwrites() -> None:
    world = World()
    guild = world.add_guild("G")
    parent = guild.text_channels[0]
    thread = guild.add_thread(parent, "t", world.bot)
    parent.set_overwrite(guild.bot_role, deny=Perm.SEND_MESSAGES_IN_THREADS)
    assert not world.bot_permissions_in(thread) & Perm.SEND_MESSAGES_IN_THREADS
    assert world.bot_permissions_in(thread) & Perm.SEND_MESSAGES


def test_role_positions_shift_like_discord() -> None:
    guild = World().add_guild("G")
    assert guild.bot_role.position == 1
    low = guild.add_role("low")
    high = guild.add_role("high", position=guild.bot_role.position + 1)
    assert (low.position, guild.bot_role.position, high.position) == (1, 2, 3)


def test_a_valid_schema_passes() -> None:
    check_commands([
        command(options=[option("cohort", required=True, autocomplete=True), option("note")]),
        command(name="cohort", description="Manage", options=[
            option("admin", 2, options=[option("create", 1, options=[option("name", required=True)])]),
            option("list", 1),
        ]),
        command(name="Report message", description="", type=3),
        command(name="café", description="Unicode letters are fine"),
    ])


@pytest.mark.parametrize(
    ("commands", "path"),
    [
        ([command(name="Join")], ("0", "name")),
        ([command(name="join now")], ("0", "name")),
        ([command(name="x" * 33)], ("0", "name")),
        ([command(description="d" * 101)], ("0", "description")),
        ([command(description="")], ("0", "description")),
        ([command(options=[option(f"o{i}") for i in range(26)])], ("0", "options")),
        ([command(options=[option("a"), option("b", required=True)])], ("0", "options", "1", "required")),
        ([command(options=[option("a"), option("a")])], ("0", "options", "1", "name")),
        ([command(options=[option("a", choices=[{"name": str(i), "value": str(i)} for i in range(26)])])],
         ("0", "options", "0", "choices")),
        ([command(options=[option("sub", 1), option("plain")])], ("0", "options")),
        ([command(options=[option("group", 2, options=[option("inner", 2)])])], ("0", "options", "0", "options")),
        ([command(options=[option("sub", 1, options=[option("deeper", 1)])])],
         ("0", "options", "0", "options", "0", "type")),
        ([command(), command()], ("1", "name")),
        ([command(name="Report", description="no", type=3)], ("0", "description")),
    ],
)
def test_schemas_discord_refuses(commands: list[dict[str, Any]], path: tuple[str, ...]) -> None:
    errors = refusal(commands)
    node = errors
    for key in path:
        assert key in node, f"{path} not in {errors}"
        node = node[key]
    assert node["_errors"][0]["code"]


def test_message_limits() -> None:
    check_message({"content": "x" * 2000}, creating=True, has_files=False)
    cases = [
        ({"content": "x" * 2001}, "content"),
        ({"embeds": [{"title": "t" * 257}]}, "embeds"),
        ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, "embeds"),
        ({"embeds": [{"description": "d" * 4096}, {"description": "d" * 1905}]}, "embeds"),
        ({"embeds": [{"footer": {"text": "f" * 2049}}]}, "embeds"),
        ({"embeds": [{}] * 11}, "embeds"),
        ({"components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": "x"},
                                                     {"type": 2, "style": 1, "label": "b", "custom_id": "x"}]}]},
         "components"),
    ]
    for payload, field in cases:
        with pytest.raises(ApiError) as refused:
            check_message(payload, creating=True, has_files=False)
        assert refused.value.code == 50035 and field in (refused.value.errors or {}), payload
    with pytest.raises(ApiError) as empty:
        check_message({"content": ""}, creating=True, has_files=False)
    assert empty.value.code == 50006
    check_message({"content": ""}, creating=True, has_files=True)


def test_route_templates_and_regexes() -> None:
    template = compile_pattern("/channels/{channel_id}/messages")
    assert template.fullmatch("/channels/123/messages")
    assert not template.fullmatch("/channels/123/messages/456")
    assert compile_pattern(r"/channels/\d+/messages").fullmatch("/channels/1/messages")


def test_sandbox_urls_derive_rest_and_gateway() -> None:
    assert sandbox_urls("http://127.0.0.1:8080/") == ("http://127.0.0.1:8080/api/v10", "ws://127.0.0.1:8080/gateway")


@pytest.mark.asyncio
async def test_raw_http_shapes() -> None:
    async with Sandbox() as sb, aiohttp.ClientSession() as http:
        async with http.get(sb.api_base + "/users/@me") as me:
            assert me.headers["Content-Type"] == "application/json"
            assert (await me.json())["id"] == str(sb.world.bot.id)
        async with http.get(sb.api_base + "/nothing/here") as missing:
            assert missing.status == 404 and (await missing.json())["code"] == 0
        assert sb.unknown_routes == ["GET /nothing/here"]
        sb.fail_next("GET", "/users/@me", status=429, retry_after=0.25)
        async with http.get(sb.api_base + "/users/@me") as limited:
            assert limited.status == 429 and limited.headers["Via"]
            assert await limited.json() == {"message": "You are being rate limited.", "retry_after": 0.25,
                                            "global": False}
        async with http.post(sb.api_base + "/interactions/1/nope/callback", json={"type": 4}) as late:
            assert (late.status, (await late.json())["code"]) == (404, 10062)
        async with http.post(f"{sb.api_base}/webhooks/{sb.world.application_id}/nope", json={"content": "x"}) as hook:
            assert (hook.status, (await hook.json())["code"]) == (404, 10015)
        assert [r.status for r in sb.requests] == [200, 404, 429, 404, 404]


@pytest.mark.asyncio
async def test_multipart_messages_are_parsed() -> None:
    world = World()
    channel = world.add_guild("G").text_channels[0]
    async with Sandbox(world) as sb, aiohttp.ClientSession() as http:
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("payload_json", '{"content": "see file", "attachments": [{"id": 0, "filename": "a.md"}]}')
        form.add_field("files[0]", b"# notes", filename="a.md", content_type="application/octet-stream")
        async with http.post(f"{sb.api_base}/channels/{channel.id}/messages", data=form) as sent:
            body = await sent.json()
        assert body["attachments"][0]["filename"] == "a.md"
        async with http.get(body["attachments"][0]["url"]) as file:
            assert await file.read() == b"# notes"
        stored = sb.messages_in(channel)[0]
        assert (stored.content, stored.attachments[0].content_type) == ("see file", "text/markdown")
        assert sb.requests[0].json["content"] == "see file" and sb.requests[0].files == ["a.md"]


@pytest.mark.asyncio
@pytest.mark.parametrize("filename", ['pro"gress.png', "café ü.png", "a\\b;c.png", 'x"; name="evil.png'])
async def test_an_uploads_name_is_read_as_discord_py_escapes_it(filename: str) -> None:
    world = World()
    channel = world.add_guild("G").text_channels[0]
    async with Sandbox(world) as sb, aiohttp.ClientSession() as http:
        form = aiohttp.FormData(quote_fields=False)  # as discord.py sends files
        form.add_field("payload_json", '{"content": "ünïcode"}')
        form.add_field("files[0]", b"png", filename=filename, content_type="application/octet-stream")
        async with http.post(f"{sb.api_base}/channels/{channel.id}/messages", data=form) as sent:
            assert sent.status == 200
        assert sb.requests[0].files == [filename]
        assert sb.messages_in(channel)[0].content == "ünïcode"
