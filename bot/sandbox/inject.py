"""Injecting what users do in Discord's client: slash commands, autocomplete, clicks, selects, modals."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import payloads
from .commands import CommandRegistry
from .errors import SandboxError
from .gateway import Gateway
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionRecord,
    InteractionRoutes,
)
from .limits import walk_components
from .options import OptionContext, build_options
from .records import Message
from .reply import LIST_INPUTS, MODAL_INPUTS, SCALAR_INPUTS, TEXT_INPUT, Modal, Reply
from .store import MessageStore
from .waiting import Notifier
from .world import Channel, ChannelType, Guild, Member, User, World

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
LOOSE_TYPES = {str: 3, int: 4, bool: 5, float: 10}
Target = Reply | Message


class Injection:
    """Mixed into Sandbox: every method builds the payload Discord would send and awaits the bot's answer."""

    world: World
    store: MessageStore
    commands: CommandRegistry
    interactions: InteractionRoutes
    gateway: Gateway
    notifier: Notifier
    response_timeout: float
    settle_hooks: list[Callable[[int], Awaitable[object]]]
    default_user: User | Member | None
    default_guild: Guild | None
    default_channel: Channel | None

    async def slash(
        self,
        command: str,
        /,
        *,
        user: User | Member | None = None,
        guild: Guild | None = None,
        channel: Channel | None = None,
        options: dict[str, Any] | None = None,
        strict: bool = True,
        wait: bool = True,
        settle: bool = True,
        **kw_options: Any,
    ) -> Reply:
        """Run `/command` ("cohort create" for subcommands). Options come as keywords, or via `options=`
        when an option is named user/guild/channel. `strict=False` skips the synced-schema check."""
        where, who = self._where(user, guild, channel)
        path = command.split()
        values = {**(options or {}), **kw_options}
        data = self._command_data(path, values, where, who, strict=strict, focused=None)
        return await self._inject(APPLICATION_COMMAND, who, where, {"data": data}, f"/{command}", wait, settle)

    async def autocomplete(
        self,
        command: str,
        option: str,
        value: Any,
        /,
        *,
        user: User | Member | None = None,
        guild: Guild | None = None,
        channel: Channel | None = None,
        options: dict[str, Any] | None = None,
        **kw_options: Any,
    ) -> list[dict[str, Any]]:
        """The choices the bot offers while the user types `value` into `option`."""
        where, who = self._where(user, guild, channel)
        values = {**(options or {}), **kw_options, option: value}
        data = self._command_data(command.split(), values, where, who, strict=True, focused=option)
        reply = await self._inject(AUTOCOMPLETE, who, where, {"data": data}, f"/{command} autocomplete", True, False)
        if reply.errors:
            raise SandboxError(f"the sandbox refused the bot's autocomplete answer: {reply.errors}")
        return reply.choices

    async def click(
        self,
        target: Target,
        button: str,
        /,
        *,
        user: User | Member | None = None,
        wait: bool = True,
        settle: bool = True,
    ) -> Reply:
        """Press the button whose label (or custom_id) is `button` on a message or a reply's message."""
        message = _message_of(target)
        component = _find_component(message, button, kinds=(2,))
        if component.get("disabled"):
            raise SandboxError(f"button {button!r} is disabled")
        if component.get("style") in (5, 6):
            raise SandboxError(f"button {button!r} is a link/premium button; Discord sends no interaction for it")
        data = {"custom_id": component["custom_id"], "component_type": 2}
        return await self._component(message, data, user, f"click {button!r}", wait, settle)

    async def select(
        self,
        target: Target,
        select: str,
        values: list[str],
        /,
        *,
        user: User | Member | None = None,
        wait: bool = True,
        settle: bool = True,
    ) -> Reply:
        """Pick `values` in the string select whose custom_id (or placeholder) is `select`."""
        message = _message_of(target)
        component = _find_component(message, select, kinds=(3,))
        offered = [o["value"] for o in component.get("options") or []]
        low, high = component.get("min_values", 1), component.get("max_values", 1)
        if not set(values) <= set(offered) or not low <= len(values) <= high:
            raise SandboxError(f"select {select!r} accepts {low}-{high} of {offered}, got {values}")
        data = {"custom_id": component["custom_id"], "component_type": 3, "values": values}
        return await self._component(message, data, user, f"select {select!r}", wait, settle)

    async def submit_modal(
        self, target: Reply, values: dict[str, Any], /, *, wait: bool = True, settle: bool = True
    ) -> Reply:
        """Fill the modal a reply opened; keys are input custom_ids or labels. Only its opener can submit it."""
        modal = target.modal
        if modal is None:
            raise SandboxError(f"{target!r} did not open a modal")
        origin = target.record
        used: set[str] = set()
        components = [_fill(component, values, used) for component in modal.components]
        unknown = set(values) - used
        if unknown:
            raise SandboxError(f"modal {modal.title!r} has no inputs {sorted(unknown)}; it has {_describe(modal)}")
        extra: dict[str, Any] = {"data": {"custom_id": modal.custom_id, "components": components}}
        if origin.source_message is not None:
            extra["message"] = payloads.message(origin.source_message)
        where, who = origin.channel, origin.invoker
        what = f"modal {modal.title!r}"
        return await self._inject(MODAL_SUBMIT, who, where, extra, what, wait, settle, origin.source_message)

    async def interact(self, payload: dict[str, Any], *, wait: bool = True, settle: bool = True) -> Reply:
        """Dispatch a hand-written INTERACTION_CREATE over the generated fields (id and token are always ours).

        Channel and user may be unknown to the world, e.g. to test a guild the bot has never seen;
        the bot's answers are then stored under that channel id.
        """
        channel_id = int(payload.get("channel_id") or 0)
        channel = self.world.channel(channel_id) or Channel(channel_id, "unknown", ChannelType.TEXT)
        author = (payload.get("member") or {}).get("user") or payload.get("user") or {}
        user_id = int(author.get("id") or 0)
        user = self.world.users.get(user_id) or User(user_id, author.get("username", "unknown"))
        record = self._record(int(payload.get("type", APPLICATION_COMMAND)), user, channel)
        record.payload = {**record.payload, **payload, "id": str(record.id), "token": record.token}
        return await self._send(record, "raw interaction", wait, settle)

    # Building blocks.

    def _where(
        self, user: User | Member | None, guild: Guild | None, channel: Channel | None
    ) -> tuple[Channel, Member | User]:
        if channel is None:
            channel = self._default_channel(guild or self.default_guild)
        elif guild is not None and channel.guild is not guild:
            raise SandboxError(f"channel {channel.name!r} is not in guild {guild.name!r}")
        who = user or self.default_user
        if who is None:
            raise SandboxError("no user: pass user= or set sb.default_user")
        return channel, _as_member(who, channel)

    def _default_channel(self, guild: Guild | None) -> Channel:
        default = self.default_channel
        if default is not None and (guild is None or default.guild is guild):
            return default
        if guild is None and len(self.world.guilds) == 1:
            guild = next(iter(self.world.guilds.values()))
        if guild is None or not guild.text_channels:
            raise SandboxError("no channel: pass channel=/guild= or set sb.default_channel / sb.default_guild")
        return guild.text_channels[0]

    def _command_data(
        self,
        path: list[str],
        values: dict[str, Any],
        channel: Channel,
        who: Member | User,
        *,
        strict: bool,
        focused: str | None,
    ) -> dict[str, Any]:
        guild_id = channel.guild.id if channel.guild else None
        schema = self.commands.lookup(path[0], guild_id)
        if schema is None:
            if strict:
                synced = sorted(c["name"] for c in self.commands.listing(guild_id) + self.commands.global_commands)
                raise SandboxError(f"/{path[0]} was never synced here; synced commands: {synced}")
            return {"id": str(self.world.ids.next()), "name": path[0], "type": 1, "options": _loose(path, values)}
        invoker = who if isinstance(who, Member) else None
        ctx = OptionContext(invoker, channel, self.store, " ".join(path))
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": schema["name"],
            "type": 1,
            "options": build_options(schema, path, values, ctx, focused=focused),
        }
        if ctx.resolved:
            data["resolved"] = ctx.resolved
        if "guild_id" in schema:
            data["guild_id"] = schema["guild_id"]
        return data

    async def _component(
        self, message: Message, data: dict[str, Any], user: User | Member | None, what: str, wait: bool, settle: bool
    ) -> Reply:
        channel = self.world.channel(message.channel_id)
        if channel is None:
            raise SandboxError(f"message {message.id} is in a channel the world no longer has")
        _, who = self._where(user, channel.guild, channel)
        opener = (message.interaction_metadata or {}).get("user", {}).get("id")
        if message.ephemeral and opener is not None and opener != str(who.id):
            raise SandboxError(f"only the user who got ephemeral message {message.id} can see it to {what}")
        extra = {"data": data, "message": payloads.message(message)}
        return await self._inject(MESSAGE_COMPONENT, who, channel, extra, what, wait, settle, message)

    def _record(self, kind: int, who: Member | User, channel: Channel) -> InteractionRecord:
        user = who.user if isinstance(who, Member) else who
        record = InteractionRecord(
            id=self.world.ids.next(),
            token=secrets.token_urlsafe(48),
            type=kind,
            payload={},
            created=0.0,
            channel=channel,
            user=user,
        )
        record.payload = self._base_payload(record, who)
        return record

    def _base_payload(self, record: InteractionRecord, who: Member | User) -> dict[str, Any]:
        channel, guild = record.channel, record.channel.guild
        payload: dict[str, Any] = {
            "id": str(record.id),
            "application_id": str(self.world.application_id),
            "type": record.type,
            "token": record.token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": payloads.channel(channel),
            "locale": "en-US",
            "app_permissions": str(self.world.bot_permissions_in(channel)),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)} if guild else {},
            "context": 0 if guild else 1,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild is not None and isinstance(who, Member):
            payload["channel"]["permissions"] = str(who.permissions_in(channel))
            payload.update(
                guild_id=str(guild.id),
                guild_locale="en-US",
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                member=payloads.member(who, channel=channel),
            )
        else:
            payload["user"] = payloads.user(record.user)
        return payload

    async def _inject(
        self,
        kind: int,
        who: Member | User,
        channel: Channel,
        extra: dict[str, Any],
        what: str,
        wait: bool,
        settle: bool,
        source: Message | None = None,
    ) -> Reply:
        record = self._record(kind, who, channel)
        record.payload.update(extra)
        record.source_message = source
        return await self._send(record, what, wait, settle)

    async def _send(self, record: InteractionRecord, what: str, wait: bool, settle: bool) -> Reply:
        session = self.gateway.session_for("INTERACTION_CREATE", record.payload)
        if session is None or session.socket is None:
            raise SandboxError("no bot is connected to the sandbox gateway (for this server's shard)")
        self.interactions.register(record)
        reply = Reply(record, self.notifier, self.response_timeout, what, self.settle_hooks)
        # The 3-second clock starts when Discord sends the event, not when the bot reads it.
        record.created = time.monotonic()
        await self.gateway.dispatch("INTERACTION_CREATE", record.payload)
        if wait:
            await reply.wait(settle=settle)
        return reply


def _as_member(who: User | Member, channel: Channel) -> Member | User:
    """In a guild the invoker must be a member of it; in DMs a bare user."""
    user = who.user if isinstance(who, Member) else who
    if channel.guild is None:
        return user
    member = channel.guild.member(user.id)
    if member is None:
        raise SandboxError(f"{user.name} is not a member of {channel.guild.name}")
    return member


def _message_of(target: Target) -> Message:
    message = target.message if isinstance(target, Reply) else target
    if message is None:
        raise SandboxError(f"{target!r} has no message to interact with")
    if message.deleted:
        raise SandboxError(f"message {message.id} was deleted")
    return message


def _find_component(message: Message, key: str, *, kinds: tuple[int, ...]) -> dict[str, Any]:
    candidates = [c for _, c in walk_components(message.components) if c.get("type") in kinds]
    by_id = [c for c in candidates if c.get("custom_id") == key]
    by_label = [c for c in candidates if key in (c.get("label"), c.get("placeholder"))]
    matches = by_id or by_label
    if len(matches) != 1:
        shown = [c.get("label") or c.get("placeholder") or c.get("custom_id") for c in candidates]
        problem = "several components match" if matches else "no component matches"
        raise SandboxError(f"{problem} {key!r} on message {message.id}; it has {shown}")
    return matches[0]


def _fill(
    component: dict[str, Any], values: dict[str, Any], used: set[str], label: str | None = None
) -> dict[str, Any]:
    """Mirror a modal component as a submission: rows and labels keep their shape, inputs get values."""
    kind = component.get("type")
    result: dict[str, Any] = {"type": kind}
    if "id" in component:
        result["id"] = component["id"]
    if kind == 1:
        result["components"] = [_fill(child, values, used) for child in component.get("components") or []]
    elif kind == 18:
        result["component"] = _fill(component["component"], values, used, component.get("label"))
    elif kind in MODAL_INPUTS:
        result.update(custom_id=component["custom_id"], **_input_value(component, values, used, label))
    elif _key_for(component, values, label) is not None:
        raise SandboxError(f"the sandbox cannot fill modal components of type {kind}")
    return result


def _key_for(component: dict[str, Any], values: dict[str, Any], label: str | None) -> str | None:
    for key in (component.get("custom_id"), label or component.get("label")):
        if key is not None and key in values:
            return key
    return None


def _input_value(
    component: dict[str, Any], values: dict[str, Any], used: set[str], label: str | None
) -> dict[str, Any]:
    """The submitted value in the shape discord.py reads for a text input, select, radio or checkbox."""
    kind = component["type"]
    key = _key_for(component, values, label)
    shown = label or component.get("label") or component["custom_id"]
    if key is None:
        if kind == TEXT_INPUT and component.get("required", True):
            raise SandboxError(f"modal input {shown!r} is required")
        return {"values": []} if kind in LIST_INPUTS else {"value": SCALAR_INPUTS[kind]}
    used.add(key)
    given = values[key]
    if kind in LIST_INPUTS:
        return {"values": list(given)}
    if kind != TEXT_INPUT:
        return {"value": given}
    text = str(given)
    low, high = component.get("min_length") or 0, component.get("max_length") or 4000
    if not low <= len(text) <= high:
        raise SandboxError(f"modal input {shown!r} needs {low}-{high} characters, got {len(text)}")
    return {"value": text}


def _describe(modal: Modal) -> list[str]:
    return [f.get("label") or f["custom_id"] for f in modal.fields]


def _loose(path: list[str], values: dict[str, Any]) -> list[dict[str, Any]]:
    """Options for a command the schema does not know, typed from the Python values."""
    options = []
    for name, value in values.items():
        kind = LOOSE_TYPES.get(type(value))
        if kind is None:
            raise SandboxError(f"strict=False only takes str/int/bool/float options, not {value!r}")
        options.append({"name": name, "type": kind, "value": value})
    for name in reversed(path[1:]):
        options = [{"name": name, "type": 1, "options": options}]
    return options
