"""Injected failures: the next N matching requests get a 5xx, a 429 or any Discord error, or are held back."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from aiohttp import web

from .errors import json_response

TEMPLATE_FIELD = re.compile(r"\{[^/{}]+\}")


def compile_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """A regex as-is, or a route template whose {fields} match one path segment each."""
    if isinstance(pattern, re.Pattern):
        return pattern
    if TEMPLATE_FIELD.search(pattern):
        parts = TEMPLATE_FIELD.split(pattern)
        return re.compile("[^/]+".join(re.escape(part) for part in parts))
    return re.compile(pattern)


def matches(rule_method: str, pattern: re.Pattern[str], method: str, path: str) -> bool:
    """rule_method "*" matches any method; the pattern must match the whole API-relative path."""
    return rule_method.upper() in ("*", method.upper()) and pattern.fullmatch(path) is not None


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int
    retry_after: float
    code: int
    message: str | None


@dataclass
class Hold:
    """The next matching request waits until `release` is set: a Discord that is slow for as long as a test likes."""

    method: str
    pattern: re.Pattern[str]
    release: asyncio.Event
    taken: bool = False


class FaultInjector:
    """Rules are consumed in the order they were added."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.holds: list[Hold] = []

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    async def wait_if_held(self, method: str, path: str) -> None:
        for hold in self.holds:
            if not hold.taken and matches(hold.method, hold.pattern, method, path):
                hold.taken = True
                await hold.release.wait()
                return

    def take(self, method: str, path: str) -> web.Response | None:
        for fault in self.faults:
            if fault.times > 0 and matches(fault.method, fault.pattern, method, path):
                fault.times -= 1
                return _response(fault)
        return None


def _response(fault: Fault) -> web.Response:
    if fault.status == 429:
        # discord.py retries a 429 only when it carries a Via header and a JSON retry_after.
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False}
        headers = {"Via": "1.1 google", "Retry-After": str(max(1, round(fault.retry_after))),
                   "X-RateLimit-Scope": "user"}
        return json_response(body, 429, headers)
    message = fault.message or f"{fault.status}: injected failure"
    return json_response({"code": fault.code, "message": message}, fault.status)
