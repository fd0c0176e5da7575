"""`python -m bot run`: ports first, then Discord and the database with retries, until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import discord

from bot import event_loop
from bot.app import CohortBot, make_bot
from bot.config import Settings
from bot.logs import configure_logging
from bot.memory import limit_malloc_arenas
from bot.ops_http import OpsServer, PortUnavailable
from bot.telemetry.metrics import Metrics
from bot.unavailable import Unavailable

log = logging.getLogger("bot.startup")

FIRST_RETRY = 1.0
MAX_RETRY = 300.0
"""Each attempt identifies with the gateway at most once: at one every 5 minutes a day of failures costs at most
288 of Discord's 1,000 daily identifies, and the process stays up, so a restart policy never loops it faster."""
STOP_WITHIN = 8.0
"""Closing is bounded so the process is gone within 10 s of SIGTERM; what it owed stays in the database."""

BAD_TOKEN = (
    "Discord rejected the token in DISCORD_TOKEN (401 Unauthorized): reset it in the developer portal "
    "(Bot, Reset Token), put the new one in DISCORD_TOKEN and start again. Not retrying."
)


def retry_delays(first: float = FIRST_RETRY, cap: float = MAX_RETRY) -> Iterator[float]:
    """1, 2, 4 ... seconds, then every `cap` seconds for as long as it takes."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, cap)


class Current:
    """The bot of the current attempt, for the health and metrics endpoints (None between attempts)."""

    bot: CohortBot | None = None


def run_bot(settings: Settings) -> int:
    """Run until SIGINT or SIGTERM; returns the exit code (2 when retrying could never help)."""
    limit_malloc_arenas()
    configure_logging(settings)
    if settings.DISCORD_SANDBOX_URL:
        from bot.sandbox import point_discord_at

        point_discord_at(settings.DISCORD_SANDBOX_URL)
    token = settings.DISCORD_TOKEN.get_secret_value() if settings.DISCORD_TOKEN else "sandbox-token"
    try:
        return event_loop.run(serve(settings, token))
    except Exception:
        # Through the log, so a collector reading LOG_FORMAT=json gets the traceback as one record.
        log.exception("the bot stopped on an unexpected error")
        return 1


async def serve(settings: Settings, token: str) -> int:
    metrics = Metrics()
    current = Current()
    ops = OpsServer(
        metrics, lambda: current.bot, health_port=settings.HEALTH_PORT, metrics_port=settings.METRICS_PORT,
        max_backlog=settings.READY_MAX_BACKLOG,
    )
    try:
        await ops.start()
    except PortUnavailable as exc:
        log.error("%s; choose a free port between 1 and 65535", exc)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await _attempts(settings, token, metrics, current, stop)
    finally:
        await ops.stop()


async def _attempts(settings: Settings, token: str, metrics: Metrics, current: Current, stop: asyncio.Event) -> int:
    delays = retry_delays()
    attempt = 0
    while True:
        attempt += 1
        delay = next(delays)
        current.bot = make_bot(settings, metrics=metrics, pace_starts=True, freeze_start=True)
        try:
            await _run_until_stopped(current.bot, token, stop)
            return 0
        except discord.LoginFailure:
            log.error(BAD_TOKEN)
            return 2
        except Unavailable as exc:
            log.error("%s; retrying in %g s (attempt %d)", exc, delay, attempt)
        finally:
            current.bot = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
            log.info("stopped while waiting to retry")
            return 0


async def _run_until_stopped(bot: CohortBot, token: str, stop: asyncio.Event) -> None:
    running = asyncio.create_task(bot.start(token), name="bot")
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not stopping.done():
            running.result()  # start() ended on its own: raise what ended it
            return
        log.info("stopping")
        # Cancel first: a start still logging in or syncing would otherwise fail on the closed
        # HTTP session (a traceback and exit 1 for an ordinary stop).
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    finally:
        stopping.cancel()
        await _close(bot)


async def _close(bot: CohortBot) -> None:
    """One bounded close: a second close() after a cut-short first would wait on the same hang again."""
    try:
        await asyncio.wait_for(bot.close(), STOP_WITHIN)
    except TimeoutError:
        log.warning("closing took over %g s; exiting anyway (unsent work stays owed in the database)", STOP_WITHIN)
