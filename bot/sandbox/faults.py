"""Injected failures: the next N matching requests get a 5xx, a 429, any Discord error or a lost answer, or are
held back; or, in chaos mode, any request may fail, at a seeded random rate."""

from __future__ import annotations

import asyncio
import enum
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

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


LOST = 0
"""A fault status meaning: the request is carried out, then the connection drops before the answer
(what a client sees as a timeout; a resend must not do it twice)."""


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int
    retry_after: float
    code: int
    message: str | None
    body: Any = None
    """Answer exactly this JSON with `status` (e.g. a malformed success), instead of an error body."""
    skip: int = 0
    """Let this many matching requests through first (e.g. fail only the second part of a post)."""


class Chaos(enum.Enum):
    SERVER_ERROR = 503
    RATE_LIMITED = 429
    LOST = LOST


@dataclass
class ChaosMonkey:
    """Fails any request at `rate`, drawing the kind of failure with a seeded generator (repeatable)."""

    seed: int
    rate: float
    kinds: tuple[Chaos, ...] = (Chaos.SERVER_ERROR, Chaos.RATE_LIMITED, Chaos.LOST)
    retry_after: float = 0.02
    injected: Counter[Chaos] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def draw(self, method: str, path: str) -> Fault | None:
        if self._random.random() >= self.rate:
            return None
        kind = self._random.choice(self.kinds)
        self.injected[kind] += 1
        return Fault(method, re.compile(re.escape(path)), 1, kind.value, self.retry_after, 0, "chaos")


@dataclass
class Hold:
    """The next matching request waits until `release` is set: a Discord that is slow for as long as a test likes."""

    method: str
    pattern: re.Pattern[str]
    release: asyncio.Event
    taken: bool = False


class FaultInjector:
    """Rules are consumed in the order they were added; chaos applies to whatever no rule took."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.holds: list[Hold] = []
        self.chaos: ChaosMonkey | None = None

    def add(self, fault: Fault) -> None:
        self.faults.append(fault)

    async def wait_if_held(self, method: str, path: str) -> None:
        for hold in self.holds:
            if not hold.taken and matches(hold.method, hold.pattern, method, path):
                hold.taken = True
                await hold.release.wait()
                return

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and matches(fault.method, fault.pattern, method, path):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                return fault
        return self.chaos.draw(method, path) if self.chaos is not None else None


def response(fault: Fault) -> web.Response:
    if fault.body is not None:
        return json_response(fault.body, fault.status)
    if fault.status == 429:
        # discord.py retries a 429 only when it carries a Via header and a JSON retry_after.
        body = {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False}
        headers = {"Via": "1.1 google", "Retry-After": str(max(1, round(fault.retry_after))),
                   "X-RateLimit-Scope": "user"}
        return json_response(body, 429, headers)
    message = fault.message or f"{fault.status}: injected failure"
    return json_response({"code": fault.code, "message": message}, fault.status)
