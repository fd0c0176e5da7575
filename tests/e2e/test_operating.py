"""What operators see of a running bot: /metrics counting interactions and Discord errors, /readyz, the log line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url

from bot.clock import ManualClock
from bot.db.models import Delivery, DeliveryState, OutboxState
from bot.discord_connections import KEEP_IDLE_SECONDS
from bot.harness import RunningBot, StudyServer, start_bot
from bot.ops_http import OpsServer
from bot.sandbox import Sandbox
from bot.services.outbox import owe
from tests.processes import free_port

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SETTLE_WITHIN = 5.0


async def serve_ops(bot: RunningBot, *, max_backlog: int = 100) -> tuple[OpsServer, str]:
    port = free_port()
    server = OpsServer(bot.bot.metrics, lambda: bot.bot, health_port=port, metrics_port=port, max_backlog=max_backlog)
    await server.start()
    return server, f"http://127.0.0.1:{port}"


@pytest_asyncio.fixture
async def ops(bot: RunningBot) -> AsyncIterator[str]:
    """HEALTH_PORT and METRICS_PORT on one port for the running bot; yields its base URL."""
    server, url = await serve_ops(bot)
    try:
        yield url
    finally:
        await server.stop()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def scrape(base: str) -> Samples:
    status, text = await get(base + "/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def until_counted(base: str, name: str, minimum: float, **labels: str) -> Samples:
    """The counters move when an interaction's handling has ended, a moment after its reply arrived."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_WITHIN
    while True:
        samples = await scrape(base)
        if value(samples, name, **labels) >= minimum or loop.time() > deadline:
            return samples
        await asyncio.sleep(0.02)


async def test_metrics_count_answered_refused_and_late_interactions_and_discord_errors(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, ops: str
):
    answered = await sandbox.slash("cohort list", user=server.moderator)
    assert "No cohorts yet" in (answered.content or "")
    refused = await sandbox.slash("cohort info", cohort="Nonexistent", user=server.moderator)
    assert "no cohort named 'Nonexistent'" in (refused.content or "")

    window, sandbox.interaction_deadline = sandbox.interaction_deadline, 0.0  # Discord has given up before the answer
    late = await sandbox.slash("cohort list", user=server.moderator)
    assert [error.code for error in late.errors][:1] == [10062]
    sandbox.interaction_deadline = window

    sandbox.fail_next("POST", "/interactions/{id}/{token}/callback", status=429)
    sandbox.fail_next("POST", "/interactions/{id}/{token}/callback", status=503)
    retried = await sandbox.slash("cohort list", user=server.moderator)
    assert "No cohorts yet" in (retried.content or ""), "discord.py retried both"

    samples = await until_counted(ops, "cohort_interactions_total", 2, command="cohort list", outcome="answered")
    interactions = "cohort_interactions_total"
    assert value(samples, interactions, command="cohort list", outcome="answered") == 2
    assert value(samples, interactions, command="cohort info", outcome="refused") == 1
    assert value(samples, interactions, command="cohort list", outcome="late") == 1
    assert value(samples, interactions, command="cohort info", outcome="apology") == 0
    assert value(samples, "cohort_interaction_first_response_seconds_count", command="cohort list") == 3, (
        "the late answer has its latency too; the 429 and 503 were retried, not answers"
    )
    errors = "cohort_discord_http_errors_total"
    assert value(samples, errors, route="interactions/callback", status="429") == 1
    assert value(samples, errors, route="interactions/callback", status="503") == 1
    assert not any(sandbox.token in str(labels) for _, labels in samples)


async def test_each_interaction_is_one_log_line_without_what_was_typed(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="bot.interactions")
    await sandbox.slash("cohort info", cohort="Secret plans", user=server.moderator)
    await sandbox.until(lambda: caplog.records, SETTLE_WITHIN, "the interaction line")
    [record] = [r for r in caplog.records if r.name == "bot.interactions"]
    assert record.getMessage().startswith(
        f"interaction command=cohort info guild={server.guild.id} outcome=refused duration_ms="
    )
    assert "Secret" not in record.getMessage()


async def test_readyz_is_ready_and_healthz_alive(bot: RunningBot, ops: str):
    assert await get(ops + "/healthz") == (200, "alive\n")
    assert await get(ops + "/readyz") == (200, "ready\n")


async def test_readyz_turns_unready_on_a_backlog_and_metrics_show_it(bot: RunningBot, clock: ManualClock):
    server, base = await serve_ops(bot, max_backlog=0)
    try:
        async with bot.bot.sessions.begin() as session:
            claimed = clock.now() - timedelta(minutes=20)
            session.add(Delivery(kind="week_post", subject="cohort:1", period="week:1", state=DeliveryState.FAILED,
                                 attempts=3, due_at=claimed, claimed_at=claimed))
        status, text = await get(base + "/readyz")
        assert status == 503
        assert "1 items owed for over 15 minutes (deliveries 1), more than READY_MAX_BACKLOG=0" in text
        samples = await scrape(base)
        assert value(samples, "cohort_backlog", kind="deliveries") == 1
        assert value(samples, "cohort_backlog", kind="tier_awards") == 0
        assert value(samples, "cohort_deliveries", kind="week_post", state="failed") == 1
        assert value(samples, "cohort_deliveries_sent") == 0
        assert value(samples, "cohort_scheduler_last_sweep_timestamp_seconds") == clock.now().timestamp()
    finally:
        await server.stop()


async def test_outbox_messages_owed_for_over_15_minutes_are_a_backlog(bot: RunningBot, clock: ManualClock):
    server, base = await serve_ops(bot, max_backlog=1)
    try:
        async with bot.bot.sessions.begin() as session:
            for age, state in [(20, OutboxState.PENDING), (30, OutboxState.SENDING), (40, OutboxState.SENT),
                               (50, OutboxState.DROPPED), (10, OutboxState.PENDING)]:
                row = owe(session, clock, "nobody_handles_this", {}, f"lane:{age}", guild_id=None)
                row.state, row.created_at = state, clock.now() - timedelta(minutes=age)
        status, text = await get(base + "/readyz")
        assert status == 503
        assert "2 items owed for over 15 minutes (outbox 2), more than READY_MAX_BACKLOG=1" in text
        samples = await scrape(base)
        assert value(samples, "cohort_backlog", kind="outbox") == 2
        assert value(samples, "cohort_backlog", kind="deliveries") == 0
    finally:
        await server.stop()


class StallingProxy:
    """A TCP relay to the database that can stop passing bytes on, as a hung network or server would."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for pipe in self._pipes:
            pipe.cancel()
        if self._server is not None:
            self._server.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        pipes = {asyncio.create_task(self._pipe(reader, upstream_writer)),
                 asyncio.create_task(self._pipe(upstream_reader, writer))}
        self._pipes |= pipes
        await asyncio.wait(pipes)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()


async def test_readyz_turns_unready_while_the_database_stops_answering(
    sandbox: Sandbox, database_url: str, clock: ManualClock
):
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        pytest.skip("a SQLite file has no server or network that could stop answering")
    proxy = StallingProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=await proxy.start()).render_as_string(hide_password=False)
    bot = await start_bot(sandbox, database_url=proxied, clock=clock)
    server, base = await serve_ops(bot)
    try:
        assert await get(base + "/readyz") == (200, "ready\n")
        proxy.flowing.clear()
        status, text = await get(base + "/readyz")
        assert status == 503
        assert text == "not ready: the database did not answer within 2 s\n"
        proxy.flowing.set()
        assert await get(base + "/readyz") == (200, "ready\n"), "ready again once the database answers"
    finally:
        proxy.flowing.set()
        await server.stop()
        await bot.stop()
        await proxy.stop()


async def test_readyz_turns_unready_when_the_gateway_is_lost(sandbox: Sandbox, bot: RunningBot, ops: str):
    assert await get(ops + "/readyz") == (200, "ready\n")
    await sandbox.stop()  # Discord gone: the socket closes and reconnecting fails
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_WITHIN
    status, text = await get(ops + "/readyz")
    while status == 200 and loop.time() < deadline:
        await asyncio.sleep(0.05)
        status, text = await get(ops + "/readyz")
    assert status == 503
    assert "gateway" in text, text


async def test_connections_to_discord_stay_open_across_a_quiet_spell(bot: RunningBot, sandbox: Sandbox):
    """aiohttp's default keep-alive (15 s) closed them between bursts; the bot keeps them `KEEP_IDLE_SECONDS`."""
    connector = bot.bot.http.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    assert connector._keepalive_timeout == KEEP_IDLE_SECONDS  # aiohttp has no public reader for it
    reply = await sandbox.slash("roadmap")  # answered whether or not the asker is in a cohort
    assert reply.content or reply.embeds, "the bot answers through it"
    assert not connector.closed
