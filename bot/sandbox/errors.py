"""Discord-shaped API errors and the sandbox's own test-facing error."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

MESSAGES = {
    0: "404: Not Found",
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10007: "Unknown Member",
    10008: "Unknown Message",
    10011: "Unknown Role",
    10013: "Unknown User",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    10070: "Unknown Guild Scheduled Event",
    20012: "You are not authorized to perform this action on this application",
    40005: "Request entity too large",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50005: "Cannot edit a message authored by another user",
    50006: "Cannot send an empty message",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
    50024: "Cannot execute action on this channel type",
    50027: "Invalid Webhook Token",
    50033: "Invalid Recipient(s)",
    50035: "Invalid Form Body",
    160004: "A thread has already been created for this message",
}


class SandboxError(AssertionError):
    """A test asked the sandbox for something Discord's client would never send, or the bot never answered."""


class ApiError(Exception):
    """An error response the sandbox sends back to the bot, with Discord's JSON body."""

    def __init__(self, status: int, code: int, message: str | None = None, errors: dict[str, Any] | None = None):
        self.status = status
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        self.errors = errors
        super().__init__(f"{status} {code} {self.message}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def invalid_form(errors: dict[str, Any]) -> ApiError:
    return ApiError(400, 50035, errors=errors)


def not_found(code: int) -> ApiError:
    return ApiError(404, code)


def forbidden(code: int) -> ApiError:
    return ApiError(403, code)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """discord.py parses a body as JSON only when Content-Type is exactly application/json (no charset)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def no_content() -> web.Response:
    return web.Response(status=204)


class FormErrors:
    """Collects Discord's nested `errors` object: {"field": {"0": {"name": {"_errors": [...]}}}}."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.tree:
            raise invalid_form(self.tree)
