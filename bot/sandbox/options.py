"""Turning a test's Python option values into interaction options and `resolved` data, checked against the schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import payloads
from .errors import SandboxError
from .store import MessageStore
from .world import Channel, Member, Role, User

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11
LOCATION_KEYWORDS = {"user", "guild", "channel"}
LOCATION_HINT = "; user=/guild=/channel= choose who runs the command and where, so pass such options via options={...}"
TYPE_NAMES = {STRING: "str", INTEGER: "int", BOOLEAN: "bool", USER: "member/user", CHANNEL: "channel",
              ROLE: "role", MENTIONABLE: "member/user/role", NUMBER: "number", ATTACHMENT: "SandboxFile"}


@dataclass
class SandboxFile:
    """A file a test user attaches to an attachment option."""

    name: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass
class OptionContext:
    """Where the interaction happens; the invoker's permissions go into resolved members and channels."""

    invoker: Member | None
    channel: Channel
    store: MessageStore
    command: str
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, kind: str, key: int, value: dict[str, Any]) -> None:
        self.resolved.setdefault(kind, {})[str(key)] = value


def build_options(
    command: dict[str, Any],
    path: list[str],
    values: dict[str, Any],
    ctx: OptionContext,
    *,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """The `options` array for command `path`, nesting subcommand groups the way Discord does."""
    schema, chain = _descend(command, path[1:])
    leaf = _leaf_options(schema, values, ctx, focused)
    for node in reversed(chain):
        leaf = [{"name": node["name"], "type": node["type"], "options": leaf}]
    return leaf


def _descend(command: dict[str, Any], names: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    schema = command.get("options") or []
    chain = []
    for name in names:
        node = next((o for o in schema if o["name"] == name and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)), None)
        if node is None:
            raise SandboxError(f"/{command['name']} has no subcommand {name!r} in the synced schema")
        chain.append(node)
        schema = node.get("options") or []
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema):
        choices = ", ".join(o["name"] for o in schema)
        raise SandboxError(f"/{' '.join([command['name'], *names])} needs a subcommand: one of {choices}")
    return schema, chain


def _leaf_options(
    schema: list[dict[str, Any]], values: dict[str, Any], ctx: OptionContext, focused: str | None
) -> list[dict[str, Any]]:
    by_name = {o["name"]: o for o in schema}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise SandboxError(f"/{ctx.command} has no option(s) {unknown}; synced options: {sorted(by_name)}")
    if focused is None:
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
        if missing:
            hint = LOCATION_HINT if set(missing) & LOCATION_KEYWORDS else ""
            raise SandboxError(f"/{ctx.command} is missing required option(s) {missing}{hint}")
    result = []
    for spec in schema:
        if spec["name"] not in values:
            continue
        option: dict[str, Any] = {"name": spec["name"], "type": spec["type"]}
        if spec["name"] == focused:
            if not spec.get("autocomplete"):
                raise SandboxError(f"/{ctx.command} option {focused!r} does not have autocomplete enabled")
            # Discord sends what the user has typed so far, as text, whatever the option's type.
            option.update(value=str(values[spec["name"]]), focused=True)
        else:
            option["value"] = convert(spec, values[spec["name"]], ctx)
        result.append(option)
    return result


def convert(spec: dict[str, Any], value: Any, ctx: OptionContext) -> Any:
    """One option value as Discord's client would send it, or SandboxError if the client couldn't."""
    kind = spec["type"]
    if kind in (STRING, INTEGER, NUMBER):
        return _scalar(spec, value, ctx)
    if kind == BOOLEAN and isinstance(value, bool):
        return value
    if kind in (USER, MENTIONABLE) and isinstance(value, (Member, User)):
        return _resolve_user(value, ctx)
    if kind in (ROLE, MENTIONABLE) and isinstance(value, Role):
        ctx.add("roles", value.id, payloads.role(value))
        return str(value.id)
    if kind == CHANNEL and isinstance(value, Channel):
        return _resolve_channel(spec, value, ctx)
    if kind == ATTACHMENT and isinstance(value, SandboxFile):
        return _resolve_attachment(value, ctx)
    raise _wrong_type(spec, value, ctx)


def _wrong_type(spec: dict[str, Any], value: Any, ctx: OptionContext) -> SandboxError:
    expected = TYPE_NAMES.get(spec["type"], str(spec["type"]))
    return SandboxError(f"/{ctx.command} option {spec['name']!r} takes a {expected}, got {value!r}")


def _scalar(spec: dict[str, Any], value: Any, ctx: OptionContext) -> Any:
    kind = spec["type"]
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {STRING: isinstance(value, str), INTEGER: numeric and isinstance(value, int), NUMBER: numeric}[kind]
    if not ok:
        raise _wrong_type(spec, value, ctx)
    choices = spec.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise SandboxError(f"/{ctx.command} option {spec['name']!r}: {value!r} is not one of the choices {choices}")
    _check_bounds(spec, value, ctx)
    return value


def _check_bounds(spec: dict[str, Any], value: Any, ctx: OptionContext) -> None:
    measured = len(value) if isinstance(value, str) else value
    low = spec.get("min_length") if isinstance(value, str) else spec.get("min_value")
    high = spec.get("max_length") if isinstance(value, str) else spec.get("max_value")
    if (low is not None and measured < low) or (high is not None and measured > high):
        raise SandboxError(f"/{ctx.command} option {spec['name']!r}: {value!r} is outside [{low}, {high}]")


def _resolve_user(value: Member | User, ctx: OptionContext) -> str:
    user = value.user if isinstance(value, Member) else value
    ctx.add("users", user.id, payloads.user(user))
    guild = ctx.channel.guild
    member = guild.member(user.id) if guild else None
    if member is not None:
        ctx.add("members", user.id, payloads.member(member, with_user=False, channel=ctx.channel))
    return str(user.id)


def _resolve_channel(spec: dict[str, Any], channel: Channel, ctx: OptionContext) -> str:
    allowed = spec.get("channel_types")
    if allowed and int(channel.type) not in allowed:
        raise SandboxError(f"/{ctx.command} option {spec['name']!r} only accepts channel types {allowed}")
    permissions = ctx.invoker.permissions_in(channel) if ctx.invoker else 0
    ctx.add("channels", channel.id, payloads.resolved_channel(channel, permissions))
    return str(channel.id)


def _resolve_attachment(file: SandboxFile, ctx: OptionContext) -> str:
    stored = ctx.store.store_file(ctx.channel.id, file.name, file.data, file.content_type)
    ctx.add("attachments", stored.id, payloads.attachment(stored))
    return str(stored.id)
