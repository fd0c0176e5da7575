"""REST routes for users, applications, commands, channels, messages, threads, guilds and roles."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import payloads
from .bodies import BODY, Body
from .errors import ApiError, forbidden, json_response, no_content, not_found
from .limits import check_message
from .records import Message
from .world import Channel, Guild, Member, Perm, Role

if TYPE_CHECKING:
    from .server import Sandbox

UPLOAD_LIMIT = 10 * 1024 * 1024
"""What a bot may upload per file to a server without boosts (discord.py's Guild.filesize_limit agrees)."""


class RestRoutes:
    """Discord's bot-token REST API, restricted to what a bot like ours calls."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.world = sb.world

    def routes(self, api: str) -> list[web.RouteDef]:
        app, guild, channel = api + "/applications/{app_id}", api + "/guilds/{guild_id}", api + "/channels/{channel_id}"
        return [
            web.get(api + "/users/@me", self.me),
            web.get(api + "/oauth2/applications/@me", self.application),
            web.post(api + "/users/@me/channels", self.open_dm),
            web.get(api + "/users/{user_id}", self.get_user),
            web.get(app + "/commands", self.get_commands),
            web.put(app + "/commands", self.put_commands),
            web.get(app + "/guilds/{guild_id}/commands", self.get_commands),
            web.put(app + "/guilds/{guild_id}/commands", self.put_commands),
            web.get(channel, self.get_channel),
            web.post(channel + "/messages", self.send_message),
            web.get(channel + "/messages", self.history),
            web.post(channel + "/typing", self.typing),
            web.get(channel + r"/messages/{message_id:\d+}", self.get_message),
            web.patch(channel + r"/messages/{message_id:\d+}", self.edit_message),
            web.post(channel + r"/messages/{message_id:\d+}/threads", self.thread_from_message),
            web.post(channel + "/threads", self.thread_without_message),
            web.get(guild, self.get_guild),
            web.get(guild + "/members/{user_id}", self.get_member),
            web.get(guild + "/roles", self.get_roles),
            web.post(guild + "/roles", self.create_role),
            web.put(guild + "/members/{user_id}/roles/{role_id}", self.add_member_role),
            web.delete(guild + "/members/{user_id}/roles/{role_id}", self.remove_member_role),
        ]

    # Lookups that fail the way Discord does.

    def _guild(self, request: web.Request) -> Guild:
        guild = self.world.guilds.get(_snowflake(request, "guild_id"))
        if guild is None:
            raise not_found(10004)
        if not guild.bot_joined:
            raise forbidden(50001)
        return guild

    def _channel(self, request: web.Request) -> Channel:
        channel = self.world.channel(_snowflake(request, "channel_id"))
        if channel is None or (channel.guild is not None and not channel.guild.bot_joined):
            raise not_found(10003)
        return channel

    def _message(self, request: web.Request, channel: Channel) -> Message:
        message = self.sb.store.by_id.get(_snowflake(request, "message_id"))
        if message is None or message.channel_id != channel.id or message.ephemeral:
            raise not_found(10008)
        return message

    def _require(self, channel: Channel, *needed: Perm) -> None:
        """50001 when the bot cannot see the channel at all, 50013 when it lacks another permission."""
        granted = self.world.bot_permissions_in(channel)
        if not granted & Perm.VIEW_CHANNEL:
            raise forbidden(50001)
        if any(not granted & perm for perm in needed):
            raise forbidden(50013)

    def _check_app(self, request: web.Request) -> None:
        if _snowflake(request, "app_id") != self.world.application_id:
            raise forbidden(20012)

    # Users and application.

    async def me(self, request: web.Request) -> web.Response:
        return json_response({**payloads.user(self.world.bot), "verified": True, "mfa_enabled": False, "flags": 0})

    async def application(self, request: web.Request) -> web.Response:
        return json_response({
            "id": str(self.world.application_id),
            "name": self.world.bot.name,
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": payloads.user(self.world.app_owner),
            "verify_key": "0" * 64,
            "team": None,
            "flags": 0,
            "bot": payloads.user(self.world.bot),
        })

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.world.users.get(_snowflake(request, "user_id"))
        if user is None:
            raise not_found(10013)
        return json_response(payloads.user(user))

    async def open_dm(self, request: web.Request) -> web.Response:
        body = request[BODY]
        user = self.world.users.get(int(body.fields.get("recipient_id") or 0))
        if user is None or user.bot:
            raise ApiError(400, 50033)
        return json_response(payloads.channel(self.world.dm_channel(user)))

    # Application commands.

    def _command_scope(self, request: web.Request) -> int | None:
        self._check_app(request)
        if "guild_id" not in request.match_info:
            return None
        return self._guild(request).id

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.sb.commands.listing(self._command_scope(request)))

    async def put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        body = request[BODY]
        return json_response(self.sb.commands.overwrite(scope, body.json))

    # Channels and messages.

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self._require(channel)
        return json_response(payloads.channel(channel))

    async def send_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body = request[BODY]
        self._check_send(channel, body)
        if any(len(upload.data) > UPLOAD_LIMIT for upload in body.files):
            raise ApiError(413, 40005)
        check_message(body.fields, creating=True, has_files=bool(body.files))
        nonce = body.fields.get("nonce")
        nonce = str(nonce) if nonce is not None and body.fields.get("enforce_nonce") else None
        if nonce is not None and (earlier := self.sb.store.by_nonce(self.world.bot, nonce, self.sb.nonce_window)):
            # Discord's answer to a resend that raced a lost response: the message it already made, no new one.
            return json_response(payloads.message(earlier))
        message = self.sb.store.create(channel, self.world.bot, body)
        if nonce is not None:
            self.sb.store.remember_nonce(message, nonce)
        await self.sb.announce(message, "MESSAGE_CREATE")
        return json_response(payloads.message(message))

    def _check_send(self, channel: Channel, body: Body) -> None:
        if channel.is_dm:
            assert channel.recipient is not None
            if channel.recipient.dms_closed:
                raise forbidden(50007)
            return
        needed = [Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES]
        if body.fields.get("embeds"):
            needed.append(Perm.EMBED_LINKS)
        if body.files:
            needed.append(Perm.ATTACH_FILES)
        self._require(channel, *needed)

    async def typing(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if not channel.is_dm:
            self._require(channel, Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES)
        return no_content()

    async def history(self, request: web.Request) -> web.Response:
        """Newest first, like Discord; honours `limit` (1-100) and `before`."""
        channel = self._channel(request)
        self._require(channel, Perm.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(request.query.get("limit", 50))))
        before = int(request.query.get("before", 0)) or None
        messages = [m for m in reversed(self.sb.store.in_channel(channel.id)) if before is None or m.id < before]
        return json_response([payloads.message(m) for m in messages[:limit]])

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self._require(channel, Perm.READ_MESSAGE_HISTORY)
        return json_response(payloads.message(self._message(request, channel)))

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self._require(channel)
        message = self._message(request, channel)
        if message.author is not self.world.bot:
            raise forbidden(50005)
        body = request[BODY]
        check_message(body.fields, creating=False, has_files=bool(body.files))
        self.sb.store.edit(message, body)
        await self.sb.announce(message, "MESSAGE_UPDATE")
        return json_response(payloads.message(message))

    # Threads.

    async def thread_from_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self._message(request, channel)
        if channel.guild is not None and message.id in channel.guild.channels:
            raise ApiError(400, 160004)
        # A thread started from a message shares the message's id.
        return await self._start_thread(request, channel, private=False, thread_id=message.id)

    async def thread_without_message(self, request: web.Request) -> web.Response:
        body = request[BODY]
        private = body.fields.get("type", 12) == 12
        return await self._start_thread(request, self._channel(request), private=private, thread_id=0)

    async def _start_thread(
        self, request: web.Request, parent: Channel, *, private: bool, thread_id: int
    ) -> web.Response:
        if parent.guild is None or parent.is_thread:
            raise ApiError(400, 50024)
        self._require(parent, Perm.CREATE_PRIVATE_THREADS if private else Perm.CREATE_PUBLIC_THREADS)
        body = request[BODY]
        name = body.fields.get("name") or ""
        if not 1 <= len(name) <= 100:
            raise ApiError(400, 50035, errors={"name": {"_errors": [
                {"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length."}]}})
        thread = parent.guild.add_thread(parent, name, self.world.bot, private=private, thread_id=thread_id)
        data = payloads.thread(thread)
        await self.sb.gateway.dispatch("THREAD_CREATE", {**data, "newly_created": True})
        self.sb.notifier.bump()
        return json_response(data, status=201)

    # Guilds, members and roles.

    async def get_guild(self, request: web.Request) -> web.Response:
        return json_response(payloads.guild_summary(self._guild(request)))

    def _member(self, request: web.Request, guild: Guild) -> Member:
        member = guild.member(_snowflake(request, "user_id"))
        if member is None:
            raise not_found(10007)
        return member

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response(payloads.member(self._member(request, guild)))

    async def get_roles(self, request: web.Request) -> web.Response:
        return json_response([payloads.role(r) for r in self._guild(request).roles.values()])

    async def create_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        bot = guild.bot_member
        if not bot.guild_permissions & Perm.MANAGE_ROLES:
            raise forbidden(50013)
        fields = request[BODY].fields
        permissions = int(fields.get("permissions") or 0)
        # A bot may only grant permissions it holds itself.
        if permissions & ~bot.guild_permissions:
            raise forbidden(50013)
        role = guild.add_role(fields.get("name") or "new role", permissions=permissions)
        data = payloads.role(role)
        await self.sb.gateway.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": data})
        self.sb.notifier.bump()
        return json_response(data)

    def _role_change(self, request: web.Request) -> tuple[Guild, Member, Role]:
        guild = self._guild(request)
        member = self._member(request, guild)
        role = guild.roles.get(_snowflake(request, "role_id"))
        if role is None or role.is_everyone:
            raise not_found(10011)
        bot = guild.bot_member
        if not bot.guild_permissions & Perm.MANAGE_ROLES or role.position >= bot.top_position or role.managed:
            raise forbidden(50013)
        return guild, member, role

    async def add_member_role(self, request: web.Request) -> web.Response:
        guild, member, role = self._role_change(request)
        member.add_role(role)
        await self._member_updated(guild, member)
        return no_content()

    async def remove_member_role(self, request: web.Request) -> web.Response:
        guild, member, role = self._role_change(request)
        member.remove_role(role)
        await self._member_updated(guild, member)
        return no_content()

    async def _member_updated(self, guild: Guild, member: Member) -> None:
        await self.sb.gateway.dispatch("GUILD_MEMBER_UPDATE", {"guild_id": str(guild.id), **payloads.member(member)})
        self.sb.notifier.bump()


def _snowflake(request: web.Request, key: str) -> int:
    text = request.match_info.get(key, "")
    return int(text) if text.isdigit() else -1
