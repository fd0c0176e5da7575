"""The application commands the bot synced, global and per guild, with stable ids like Discord's."""

from __future__ import annotations

from typing import Any

from .schema_check import CHAT_INPUT, check_commands
from .world import World


class CommandRegistry:
    """Stores what PUT /applications/{app}/commands (and the guild variant) last accepted."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self._ids: dict[tuple[int | None, int, str], int] = {}
        self.syncs = 0

    def overwrite(self, guild_id: int | None, body: Any) -> list[dict[str, Any]]:
        """Validate and replace the command list; raises ApiError 50035 like Discord."""
        check_commands(body)
        stored = [self._stored(guild_id, command) for command in body]
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        self.syncs += 1
        return stored

    def listing(self, guild_id: int | None) -> list[dict[str, Any]]:
        return self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])

    def lookup(self, name: str, guild_id: int | None, kind: int = CHAT_INPUT) -> dict[str, Any] | None:
        """Guild commands shadow global ones of the same name, as in Discord's client."""
        scopes = ([self.listing(guild_id)] if guild_id is not None else []) + [self.global_commands]
        for commands in scopes:
            for command in commands:
                if command["name"] == name and command["type"] == kind:
                    return command
        return None

    def _stored(self, guild_id: int | None, command: dict[str, Any]) -> dict[str, Any]:
        kind = command.get("type", CHAT_INPUT)
        key = (guild_id, kind, command["name"])
        command_id = self._ids.setdefault(key, self.world.ids.next())
        stored = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            "name_localizations": None,
            "description_localizations": None,
            **command,
            "id": str(command_id),
            "application_id": str(self.world.application_id),
            "version": str(self.world.ids.next()),
            "type": kind,
        }
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored
