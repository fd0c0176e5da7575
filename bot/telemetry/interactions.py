"""Follows every interaction from arrival to the end of its handling: one log line and the interaction metrics.

discord.py starts the handling of an interaction (command tree, views, modals, listeners) as tasks
created while it parses INTERACTION_CREATE. Parsing inside a context that carries this interaction's
record gives each of those tasks the record (tasks copy the context they were created in), so the
error path and the HTTP hook can note what happened, and waiting for exactly those tasks tells when
the handling is over, whichever kind of interaction it was. The loop's task factory hands over the tasks
created during the parse (comparing `asyncio.all_tasks()` before and after walked every task of the
process twice per interaction: under a burst, hundreds).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import discord

from bot.telemetry.discord_http import INTERACTION_CALLBACK
from bot.telemetry.metrics import Metrics

log = logging.getLogger("bot.interactions")

ANSWER_WITHIN = 3.0
"""Discord drops a first answer that comes later than this (error 10062, "Unknown interaction")."""
GIVE_WAY_AT_MOST = 2.0
"""How long background work waits for the interactions awaiting their first answer (`answers_first`): long enough
to let a burst's answers go first, short enough that a learner's notice or a week's post is still prompt."""
TRACKED_TYPES = {2: "command", 3: "component", 5: "modal"}  # pings (1) and autocomplete (4) are not answers


class Outcome(StrEnum):
    ANSWERED = "answered"
    REFUSED = "refused"
    APOLOGY = "apology"
    LATE = "late"


@dataclass(eq=False)  # one per interaction, kept in a set by identity
class InteractionRecord:
    command: str
    guild_id: int | None
    started: float
    first_response: float | None = None
    late: bool = False
    outcome: Outcome | None = None

    def outcome_now(self) -> Outcome:
        if self.late or self.first_response is None:
            return Outcome.LATE  # the person saw "The application did not respond", whatever was meant
        return self.outcome or Outcome.ANSWERED


_current: contextvars.ContextVar[InteractionRecord | None] = contextvars.ContextVar("interaction", default=None)


def note_outcome(outcome: Outcome) -> None:
    """The error path says how the interaction in hand was answered (refused or apology)."""
    record = _current.get()
    if record is not None:
        record.outcome = outcome


def command_label(data: dict[str, Any]) -> str:
    """"cohort list" for a slash command; the custom id's prefix ("review") or the kind for components and modals."""
    inner = data.get("data") or {}
    if data.get("type") == 2:
        parts = [str(inner.get("name", "?"))]
        options = inner.get("options") or []
        # Subcommand groups (2) and subcommands (1) are part of the name; values never are.
        while options and options[0].get("type") in (1, 2):
            parts.append(str(options[0].get("name")))
            options = options[0].get("options") or []
        return " ".join(parts)
    kind = TRACKED_TYPES.get(int(data.get("type", 0)), "other")
    prefix, sep, _ = str(inner.get("custom_id", "")).partition(":")
    # Only ids the bot wrote itself have a "prefix:" form; random view ids would make a label per message.
    return f"{kind}:{prefix}" if sep else kind


class InteractionMonitor:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._watchers: set[asyncio.Task[None]] = set()
        self._started: list[asyncio.Future[Any]] | None = None
        """The tasks created while an interaction is being parsed (None between parses)."""
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        """Loops whose task factory this monitor wraps: once each, whatever wraps it later (another bot's)."""
        self._unanswered: set[InteractionRecord] = set()
        self._all_answered = asyncio.Event()
        self._all_answered.set()

    def install(self, client: discord.Client) -> None:
        """Wrap the client's INTERACTION_CREATE parser (discord.py 2.7's one entry for every interaction)."""
        parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
        original = parsers["INTERACTION_CREATE"]

        def parse(data: dict[str, Any]) -> None:
            if data.get("type") not in TRACKED_TYPES:
                original(data)
                return
            record = InteractionRecord(command_label(data), _guild_id(data), time.monotonic())
            self._awaits_answer(record)
            self._collect_tasks(asyncio.get_running_loop())
            self._started = []
            context_token = _current.set(record)
            try:
                original(data)
            finally:
                _current.reset(context_token)
                handlers, self._started = set(self._started), None
            watcher = asyncio.create_task(self._finish(record, handlers), name="interaction-watcher")
            self._watchers.add(watcher)
            watcher.add_done_callback(self._watchers.discard)

        parsers["INTERACTION_CREATE"] = parse

    def _collect_tasks(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wrap the loop's task factory (once per loop) so a task created during a parse is noted."""
        if loop in self._loops:
            return
        self._loops.add(loop)
        previous = loop.get_task_factory()

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Future[Any]:
            task = previous(loop, coro, **options) if previous else asyncio.Task(coro, loop=loop, **options)
            if self._started is not None:
                self._started.append(task)
            return task

        loop.set_task_factory(factory)

    def on_response(self, family: str, status: int) -> None:
        """From the HTTP hook: the first answer to the interaction whose handler made this request."""
        record = _current.get()
        if record is None or family != INTERACTION_CALLBACK or record.first_response is not None:
            return
        if status == 429 or status >= 500:
            return  # discord.py tries again; the answer is what Discord finally accepts or refuses
        record.first_response = time.monotonic()
        self._answered(record)
        if status == 404 or record.first_response - record.started > ANSWER_WITHIN:
            record.late = True

    async def answers_first(self) -> None:
        """Background work (the outbox's deliveries) waits here while an interaction awaits its first answer, at most
        `GIVE_WAY_AT_MOST`: under a burst the answers, which Discord drops after 3 s, get the event loop and the
        database first, and what the answers owe goes out right after."""
        if self._all_answered.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_answered.wait(), GIVE_WAY_AT_MOST)

    def _awaits_answer(self, record: InteractionRecord) -> None:
        self._unanswered.add(record)
        self._all_answered.clear()

    def _answered(self, record: InteractionRecord) -> None:
        self._unanswered.discard(record)
        if not self._unanswered:
            self._all_answered.set()

    async def _finish(self, record: InteractionRecord, handlers: set[asyncio.Future[Any]]) -> None:
        try:
            if handlers:
                await asyncio.wait(handlers)
        finally:
            self._answered(record)  # a handler that never answered, or failed to, is done waiting
        outcome = record.outcome_now()
        duration_ms = round((time.monotonic() - record.started) * 1000)
        self._metrics.interactions.labels(record.command, outcome).inc()
        if record.first_response is not None:
            self._metrics.first_response.labels(record.command).observe(record.first_response - record.started)
        log.info(
            "interaction command=%s guild=%s outcome=%s duration_ms=%d",
            record.command, record.guild_id, outcome, duration_ms,
            extra={"command": record.command, "guild_id": record.guild_id, "outcome": str(outcome),
                   "duration_ms": duration_ms},
        )


def _guild_id(data: dict[str, Any]) -> int | None:
    guild_id = data.get("guild_id")
    return int(guild_id) if guild_id else None
