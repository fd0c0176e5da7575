"""One hook on discord.py's HTTP session (its `http_trace` option): Discord's 429s and 5xx, interaction answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp

from bot.telemetry.metrics import Metrics

API_PREFIX = re.compile(r"^/api/v\d+")
NAMED_SEGMENT = re.compile(r"^[a-z@][a-z@-]*$")
# These carry an id and then a secret token in the path; neither may become a label.
TOKEN_ROUTES = frozenset({"webhooks", "interactions"})
INTERACTION_CALLBACK = "interactions/callback"
MAX_FAMILY_SEGMENTS = 3

ResponseListener = Callable[[str, int], None]


def route_family(path: str) -> str:
    """/api/v10/channels/123/messages/456 → channels/messages: few values, no ids, no tokens."""
    segments = [s for s in API_PREFIX.sub("", path).split("/") if s]
    if segments and segments[0] in TOKEN_ROUTES:
        segments = segments[:1] + segments[3:]
    named = [s for s in segments if NAMED_SEGMENT.match(s)]
    return "/".join(named[:MAX_FAMILY_SEGMENTS]) or "other"


def http_trace(metrics: Metrics, on_response: ResponseListener) -> aiohttp.TraceConfig:
    """A trace config for `discord.Client(http_trace=...)`: counts errors, passes every answer's family and status on.

    The callbacks run in the task that made the request, so `on_response` sees that task's context.
    """

    async def on_request_end(
        _session: aiohttp.ClientSession, _context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        family = route_family(params.url.path)
        status = params.response.status
        if status == 429 or status >= 500:
            metrics.discord_errors.labels(family, str(status)).inc()
        on_response(family, status)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace
