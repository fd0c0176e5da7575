"""Interaction callbacks, followups and original-response edits, with Discord's timing rules."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import payloads
from .bodies import BODY, Body
from .errors import ApiError, FormErrors, json_response, no_content, not_found
from .limits import check_choices, check_message, check_modal
from .records import EPHEMERAL, LOADING, Message
from .store import SETTABLE_FLAGS
from .world import Channel, Member, User

if TYPE_CHECKING:
    from .server import Sandbox

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
PONG, CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
# Which callback types Discord accepts for each interaction type.
ALLOWED_RESPONSES = {
    PING: {PONG},
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, MODAL},
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}
CHAT_INPUT_COMMAND_MESSAGE = 20


@dataclass(eq=False)
class InteractionRecord:
    """One injected interaction and everything the bot did with its token."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    created: float
    channel: Channel
    user: User
    source_message: Message | None = None
    response_type: int | None = None
    original: Message | None = None
    original_edited: bool = False
    followups: list[Message] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    errors: list[ApiError] = field(default_factory=list)

    @property
    def invoker(self) -> Member | User:
        guild = self.channel.guild
        member = guild.member(self.user.id) if guild else None
        return member or self.user


class InteractionRoutes:
    """REST handlers under /interactions and /webhooks, backed by the interaction records."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.by_id: dict[int, InteractionRecord] = {}
        self.by_token: dict[str, InteractionRecord] = {}

    def register(self, record: InteractionRecord) -> None:
        self.by_id[record.id] = record
        self.by_token[record.token] = record

    def routes(self, api: str) -> list[web.RouteDef]:
        message = api + "/webhooks/{app_id}/{token}/messages/{message_id}"
        return [
            web.post(api + "/interactions/{interaction_id}/{token}/callback", self.callback),
            web.post(api + "/webhooks/{app_id}/{token}", self.followup),
            web.get(message, self.get_message),
            web.patch(message, self.edit_message),
            web.delete(message, self.delete_message),
        ]

    @contextlib.contextmanager
    def _tracking(self, record: InteractionRecord) -> Iterator[None]:
        """Remember refusals on the record so a waiting test sees them instead of timing out."""
        try:
            yield
        except ApiError as error:
            record.errors.append(error)
            self.sb.notifier.bump()
            raise

    async def callback(self, request: web.Request) -> web.Response:
        record = self.by_id.get(_int(request.match_info["interaction_id"]))
        if record is None or record.token != request.match_info["token"]:
            raise not_found(10062)
        body = request[BODY]
        with self._tracking(record):
            asked = body.fields.get("type")
            if record.response_type is not None:
                raise ApiError(400, 40060)
            if time.monotonic() - record.created > self.sb.interaction_deadline:
                raise not_found(10062)
            kind = self._response_type(record, asked)
            message = await self._respond(record, kind, Body(body.fields.get("data") or {}, body.files))
        record.response_type = kind
        self.sb.notifier.bump()
        if "with_response" not in request.query:
            return no_content()
        return json_response(_callback_body(record, kind, message))

    def _response_type(self, record: InteractionRecord, kind: Any) -> int:
        """The response type asked for, once it is one this interaction may answer with."""
        allowed = set(ALLOWED_RESPONSES.get(record.type, set()))
        if record.type == MODAL_SUBMIT and record.source_message is None:
            allowed -= {DEFERRED_UPDATE, UPDATE_MESSAGE}
        if kind not in allowed:
            form = FormErrors()
            form.add(("type",), "INTERACTION_RESPONSE_TYPE_INVALID",
                     f"Response type {kind} is not valid for interaction type {record.type}")
            form.raise_if_any()
        return int(kind)

    async def _respond(self, record: InteractionRecord, kind: int, data: Body) -> Message | None:
        if kind == CHANNEL_MESSAGE:
            check_message(data.fields, creating=True, has_files=bool(data.files))
            record.original = await self._create(record, data)
        elif kind == DEFERRED_MESSAGE:
            thinking = Body({"flags": data.fields.get("flags") or 0})
            record.original = await self._create(record, thinking, extra_flags=LOADING)
        elif kind in (DEFERRED_UPDATE, UPDATE_MESSAGE):
            record.original = record.source_message
            if kind == UPDATE_MESSAGE and record.original is not None:
                check_message(data.fields, creating=False, has_files=bool(data.files))
                await self._edit(record, record.original, data)
        elif kind == AUTOCOMPLETE_RESULT:
            check_choices(data.fields)
            record.choices = data.fields.get("choices") or []
        elif kind == MODAL:
            check_modal(data.fields)
            record.modal = data.fields
        return record.original if kind in (CHANNEL_MESSAGE, DEFERRED_MESSAGE, UPDATE_MESSAGE) else None

    async def _create(self, record: InteractionRecord, body: Body, *, extra_flags: int = 0) -> Message:
        is_command = record.type == APPLICATION_COMMAND and record.original is None
        message = self.sb.store.create(
            record.channel,
            self.sb.world.bot,
            body,
            extra_flags=extra_flags,
            allowed_flags=SETTABLE_FLAGS | EPHEMERAL,
            type=CHAT_INPUT_COMMAND_MESSAGE if is_command else 0,
            webhook_id=self.sb.world.application_id,
            interaction_metadata=_metadata(record),
        )
        await self.sb.announce(message, "MESSAGE_CREATE")
        return message

    async def _edit(self, record: InteractionRecord, message: Message, body: Body) -> None:
        self.sb.store.edit(message, body)
        if message is record.original:
            record.original_edited = True
        await self.sb.announce(message, "MESSAGE_UPDATE")

    def _webhook_record(self, request: web.Request) -> InteractionRecord:
        record = self.by_token.get(request.match_info["token"])
        right_app = _int(request.match_info["app_id"]) == self.sb.world.application_id
        # Until the interaction is acknowledged its webhook does not exist.
        if record is None or not right_app or record.response_type is None:
            raise not_found(10015)
        if time.monotonic() - record.created > self.sb.followup_lifetime:
            raise ApiError(401, 50027)
        return record

    async def followup(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        body = request[BODY]
        with self._tracking(record):
            check_message(body.fields, creating=True, has_files=bool(body.files))
            original = record.original
            if record.response_type == DEFERRED_MESSAGE and original is not None and original.loading:
                # Discord's documented (deprecated) rule: the first followup after a deferral
                # fills the "thinking…" message instead of creating a new one.
                await self._edit(record, original, body)
                message = original
            else:
                message = await self._create(record, body)
        record.followups.append(message)
        self.sb.notifier.bump()
        if request.query.get("wait", "").lower() not in ("1", "true"):
            return no_content()
        return json_response(payloads.message(message))

    def _message(self, record: InteractionRecord, message_id: str) -> Message:
        if message_id == "@original":
            found = record.original
        else:
            wanted = _int(message_id)
            found = next((m for m in [record.original, *record.followups] if m is not None and m.id == wanted), None)
        if found is None or found.deleted:
            raise not_found(10008)
        return found

    async def get_message(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        with self._tracking(record):
            message = self._message(record, request.match_info["message_id"])
        return json_response(payloads.message(message))

    async def edit_message(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        body = request[BODY]
        with self._tracking(record):
            message = self._message(record, request.match_info["message_id"])
            check_message(body.fields, creating=False, has_files=bool(body.files))
            await self._edit(record, message, body)
        return json_response(payloads.message(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        record = self._webhook_record(request)
        with self._tracking(record):
            message = self._message(record, request.match_info["message_id"])
        self.sb.store.delete(message)
        return no_content()


def _int(text: str) -> int:
    return int(text) if text.isdigit() else -1


def _metadata(record: InteractionRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(record.id),
        "type": record.type,
        "user": payloads.user(record.user),
        "authorizing_integration_owners": record.payload.get("authorizing_integration_owners", {}),
    }
    if record.source_message is not None:
        data["interacted_message_id"] = str(record.source_message.id)
    return data


def _callback_body(record: InteractionRecord, kind: int, message: Message | None) -> dict[str, Any]:
    """The `?with_response=1` answer discord.py 2.7 parses into InteractionCallbackResponse."""
    interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
    resource: dict[str, Any] = {"type": kind}
    if message is not None:
        interaction.update(
            response_message_id=str(message.id),
            response_message_loading=bool(message.flags & LOADING),
            response_message_ephemeral=message.ephemeral,
        )
        resource["message"] = payloads.message(message)
    return {"interaction": interaction, "resource": resource}
