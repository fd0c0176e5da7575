"""The operators' HTTP endpoints: /healthz and /readyz on HEALTH_PORT, Prometheus /metrics on METRICS_PORT."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from bot.health import DATABASE_ANSWER_WITHIN, readiness_problems
from bot.services.backlog import ledger_counts, overdue_work
from bot.telemetry.metrics import Metrics

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)

LISTEN_ON = "0.0.0.0"  # probes and Prometheus usually come from outside the container


class PortUnavailable(Exception):
    """A configured port cannot be listened on; the message names the setting and why."""


class OpsServer:
    """Listens before anything else starts, so /healthz answers while the bot still waits for Discord."""

    def __init__(
        self,
        metrics: Metrics,
        current_bot: Callable[[], CohortBot | None],
        *,
        health_port: int | None,
        metrics_port: int | None,
        max_backlog: int,
    ) -> None:
        self._metrics = metrics
        self._current_bot = current_bot
        self._max_backlog = max_backlog
        self._ports: dict[int, list[web.RouteDef]] = {}
        if health_port is not None:
            self._ports.setdefault(health_port, []).extend(
                [web.get("/healthz", self._healthz), web.get("/readyz", self._readyz)]
            )
        if metrics_port is not None:
            self._ports.setdefault(metrics_port, []).append(web.get("/metrics", self._metrics_page))
        self._names = {health_port: "HEALTH_PORT", metrics_port: "METRICS_PORT"}
        self._runners: list[web.AppRunner] = []

    async def start(self) -> None:
        try:
            for port, routes in self._ports.items():
                app = web.Application()
                app.add_routes(routes)
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                self._runners.append(runner)
                try:
                    await web.TCPSite(runner, LISTEN_ON, port).start()
                except OSError as exc:
                    why = os.strerror(exc.errno) if exc.errno else str(exc)
                    raise PortUnavailable(f"{self._names[port]}={port}: cannot listen there ({why})") from None
                log.info("serving %s on port %d", ", ".join(sorted(r.path for r in routes)), port)
        except PortUnavailable:
            await self.stop()
            raise

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="alive\n")

    async def _readyz(self, _request: web.Request) -> web.Response:
        problems = await readiness_problems(self._current_bot(), self._max_backlog)
        if problems:
            return web.Response(status=503, text="not ready: " + "; ".join(problems) + "\n")
        return web.Response(text="ready\n")

    async def _metrics_page(self, _request: web.Request) -> web.Response:
        bot = self._current_bot()
        if bot is not None and hasattr(bot, "runner"):
            await self._refresh(bot)
        return web.Response(body=self._metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _refresh(self, bot: CohortBot) -> None:
        """The database-derived gauges; when the database does not answer they keep their last values."""
        if bot.runner.last_run_at is not None:
            self._metrics.last_sweep.set(bot.runner.last_run_at.timestamp())
        try:
            async with asyncio.timeout(DATABASE_ANSWER_WITHIN):
                counts = await ledger_counts(bot.sessions)
                backlog = await overdue_work(bot.sessions, bot.clock.now(), bot.settings.ownership)
        except (TimeoutError, OSError, SQLAlchemyError) as exc:
            # /readyz reports the database; a scrape still serves every in-process metric.
            log.warning("metrics: the database did not answer (%s); its gauges keep their last values", exc)
            return
        self._metrics.set_ledger(counts, backlog)
