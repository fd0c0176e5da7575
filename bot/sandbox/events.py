"""Guild scheduled events: list, create, read, edit and delete, refused the way Discord refuses them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .bodies import BODY
from .errors import ApiError, FormErrors, forbidden, invalid_form, json_response, no_content, not_found
from .world import ChannelType, Guild, Perm, utcnow

if TYPE_CHECKING:
    from .server import Sandbox

STAGE, VOICE, EXTERNAL = 1, 2, 3
SCHEDULED, ACTIVE, COMPLETED, CANCELLED = 1, 2, 3, 4
GUILD_ONLY = 2
UNKNOWN_EVENT = 10070
ENTITY_CHANNELS = {STAGE: ChannelType.STAGE, VOICE: ChannelType.VOICE}
# Discord's allowed status changes; a finished or cancelled event cannot be edited at all.
NEXT_STATUS = {SCHEDULED: {ACTIVE, CANCELLED}, ACTIVE: {COMPLETED}}
FIELDS = ("name", "description", "scheduled_start_time", "scheduled_end_time", "entity_type", "channel_id",
          "entity_metadata", "privacy_level", "status")


@dataclass(eq=False)
class ScheduledEvent:
    id: int
    guild_id: int
    creator_id: int
    name: str
    description: str | None
    start: dt.datetime
    end: dt.datetime | None
    entity_type: int
    channel_id: int | None
    location: str | None
    status: int = SCHEDULED
    edits: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id) if self.channel_id else None,
            "creator_id": str(self.creator_id),
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": self.start.isoformat(),
            "scheduled_end_time": self.end.isoformat() if self.end else None,
            "privacy_level": GUILD_ONLY,
            "status": self.status,
            "entity_type": self.entity_type,
            "entity_id": None,
            "entity_metadata": {"location": self.location} if self.entity_type == EXTERNAL else None,
            "image": None,
        }


class EventRoutes:
    """Every guild's scheduled events; `now` is the sandbox's idea of the present (tests move it)."""

    def __init__(self, sb: Sandbox, now: Callable[[], dt.datetime] = utcnow) -> None:
        self.sb = sb
        self.now = now
        self.by_guild: dict[int, dict[int, ScheduledEvent]] = {}

    def routes(self, api: str) -> list[web.RouteDef]:
        events = api + "/guilds/{guild_id}/scheduled-events"
        one = events + r"/{event_id:\d+}"
        return [
            web.get(events, self.list_events),
            web.post(events, self.create),
            web.get(one, self.get_event),
            web.patch(one, self.edit),
            web.delete(one, self.delete),
        ]

    def in_guild(self, guild: Guild) -> list[ScheduledEvent]:
        """Events not yet finished or cancelled, as Discord lists them."""
        return [e for e in self.by_guild.get(guild.id, {}).values() if e.status in (SCHEDULED, ACTIVE)]

    def remove(self, event: ScheduledEvent) -> None:
        """A moderator deletes the event by hand in Discord."""
        self.by_guild.get(event.guild_id, {}).pop(event.id, None)
        self.sb.notifier.bump()

    # Routes.

    def _guild(self, request: web.Request) -> Guild:
        guild = self.sb.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise not_found(10004)
        if not guild.bot_joined:
            raise forbidden(50001)
        if not guild.bot_member.guild_permissions & (Perm.MANAGE_EVENTS | Perm.CREATE_EVENTS):
            raise forbidden(50013)
        return guild

    def _event(self, request: web.Request, guild: Guild) -> ScheduledEvent:
        event = self.by_guild.get(guild.id, {}).get(int(request.match_info["event_id"]))
        if event is None:
            raise not_found(UNKNOWN_EVENT)
        return event

    async def list_events(self, request: web.Request) -> web.Response:
        return json_response([e.payload() for e in self.in_guild(self._guild(request))])

    async def get_event(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        return json_response(self._event(request, guild).payload())

    async def create(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        fields = request[BODY].fields
        if fields.get("privacy_level") != GUILD_ONLY:
            raise _invalid("privacy_level", "BASE_TYPE_CHOICES", "Value must be one of {2}.")
        event = ScheduledEvent(self.sb.world.ids.next(), guild.id, self.sb.world.bot.id, "", None, self.now(),
                               None, 0, None, None)
        self._apply(guild, event, fields, creating=True)
        self.by_guild.setdefault(guild.id, {})[event.id] = event
        self.sb.notifier.bump()
        return json_response(event.payload())

    async def edit(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        event = self._event(request, guild)
        fields = request[BODY].fields
        if event.status not in NEXT_STATUS:
            raise ApiError(400, 180000, "Cannot modify a finished event")
        status = fields.get("status")
        if status is not None and status != event.status and status not in NEXT_STATUS[event.status]:
            raise _invalid("status", "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION", "Invalid status transition.")
        self._apply(guild, event, fields, creating=False)
        if status is not None:
            event.status = status
        event.edits += 1
        self.sb.notifier.bump()
        return json_response(event.payload())

    async def delete(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        self.remove(self._event(request, guild))
        return no_content()

    def _apply(self, guild: Guild, event: ScheduledEvent, fields: dict[str, Any], *, creating: bool) -> None:
        """Validate the event as it would be after the change, then change it (all or nothing)."""
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise _invalid(sorted(unknown)[0], "UNKNOWN_FIELD", "This field is not accepted.")
        errors = FormErrors()
        name = fields.get("name", None if creating else event.name)
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        description = fields.get("description", event.description)
        if description is not None and len(description) > 1000:
            errors.add(("description",), "BASE_TYPE_MAX_LENGTH", "Must be 1000 or fewer in length.")
        entity_type = fields.get("entity_type", None if creating else event.entity_type)
        start = _time(fields, "scheduled_start_time", None if creating else event.start, errors)
        end = _time(fields, "scheduled_end_time", None if creating else event.end, errors)
        moving = creating or "scheduled_start_time" in fields
        if start is None:
            errors.add(("scheduled_start_time",), "BASE_TYPE_REQUIRED", "This field is required")
        elif moving and start <= self.now():
            errors.add(("scheduled_start_time",), "GUILD_SCHEDULED_EVENT_SCHEDULE_PAST",
                       "Cannot schedule event in the past.")
        if start is not None and end is not None and end <= start:
            errors.add(("scheduled_end_time",), "GUILD_SCHEDULED_EVENT_END_BEFORE_START",
                       "Cannot schedule event to end before starting.")
        channel_id, location = self._where(guild, event, fields, entity_type, end, errors)
        errors.raise_if_any()
        assert start is not None and isinstance(name, str) and isinstance(entity_type, int)
        event.name, event.description, event.start, event.end = name, description, start, end
        event.entity_type, event.channel_id, event.location = entity_type, channel_id, location

    def _where(
        self,
        guild: Guild,
        event: ScheduledEvent,
        fields: dict[str, Any],
        entity_type: Any,
        end: dt.datetime | None,
        errors: FormErrors,
    ) -> tuple[int | None, str | None]:
        raw_channel = fields.get("channel_id", event.channel_id)
        metadata = fields.get("entity_metadata", {"location": event.location} if event.location else None)
        if entity_type == EXTERNAL:
            location = (metadata or {}).get("location")
            if not isinstance(location, str) or not 1 <= len(location) <= 100:
                errors.add(("entity_metadata", "location"), "BASE_TYPE_BAD_LENGTH",
                           "Must be between 1 and 100 in length.")
            if end is None:
                errors.add(("scheduled_end_time",), "GUILD_SCHEDULED_EVENT_REQUIRED_END_TIME",
                           "An end time is required for external events.")
            if raw_channel is not None:
                errors.add(("channel_id",), "GUILD_SCHEDULED_EVENT_CHANNEL_NOT_ALLOWED",
                           "External events cannot have a channel.")
            return None, location
        if entity_type not in ENTITY_CHANNELS:
            errors.add(("entity_type",), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
            return None, None
        channel = guild.channels.get(int(raw_channel)) if raw_channel and str(raw_channel).isdigit() else None
        if channel is None or channel.type != ENTITY_CHANNELS[entity_type]:
            errors.add(("channel_id",), "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL",
                       "The channel must be a voice channel for voice events and a stage for stage events.")
            return None, None
        granted = self.sb.world.bot_permissions_in(channel)
        if not granted & Perm.VIEW_CHANNEL or not granted & Perm.CONNECT:
            raise forbidden(50013)
        return channel.id, None


def _time(fields: dict[str, Any], key: str, default: dt.datetime | None, errors: FormErrors) -> dt.datetime | None:
    if key not in fields:
        return default
    if fields[key] is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(fields[key])
    except (TypeError, ValueError):
        errors.add((key,), "DATE_TIME_TYPE_PARSE", "Could not parse the timestamp.")
        return None
    if moment.tzinfo is None:
        errors.add((key,), "DATE_TIME_TYPE_PARSE", "The timestamp needs a timezone.")
        return None
    return moment


def _invalid(key: str, code: str, message: str) -> ApiError:
    return invalid_form({key: {"_errors": [{"code": code, "message": message}]}})
