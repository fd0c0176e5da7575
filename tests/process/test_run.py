"""`python -m bot run` as shipped, in a subprocess against a sandbox: it syncs, answers, stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import signal

import pytest

from bot.sandbox import Sandbox
from tests.processes import EXIT_WITHIN, READY_WITHIN, Process


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_run_syncs_answers_and_exits_cleanly_on_a_stop_signal(
    sandbox: Sandbox, bot_process: Process, signum: signal.Signals
):
    proc = bot_process.proc

    def ready_or_dead() -> bool:
        return proc.returncode is not None or bool(sandbox.synced_commands() and sandbox.gateway.connected)

    await sandbox.until(ready_or_dead, READY_WITHIN, "the bot process to sync its commands and connect")
    assert proc.returncode is None, f"the bot exited early ({proc.returncode}):\n{bot_process.text}"
    assert {"cohort", "join", "leave", "roadmap"} <= {c["name"] for c in sandbox.synced_commands()}

    reply = await sandbox.slash("cohort list")
    assert reply.ephemeral
    assert "No cohorts yet" in (reply.content or ""), reply

    proc.send_signal(signum)
    code = await asyncio.wait_for(proc.wait(), EXIT_WITHIN)
    await bot_process.reader
    output = bot_process.text
    assert code == 0, output
    assert "stopping" in output
    assert "synced" in output, f"the log is captured (INFO lines), so its silence below means something:\n{output}"
    assert "Traceback" not in output, output
    assert sandbox.token not in output
    assert not sandbox.gateway.connected, "the gateway connection was closed"


async def test_sigterm_while_start_is_retrying_discord_still_exits_cleanly(sandbox: Sandbox, bot_process: Process):
    proc = bot_process.proc
    # discord.py retries a 500 after 1, 3, 5... seconds: the stop arrives while the start is waiting.
    sandbox.fail_next("PUT", "/applications/{app_id}/commands", times=5, status=500)

    def refused_or_dead() -> bool:
        return proc.returncode is not None or bool(sandbox.requests_to("PUT", "/applications/{app_id}/commands"))

    await sandbox.until(refused_or_dead, READY_WITHIN, "the bot process to try syncing its commands")
    assert proc.returncode is None, f"the bot exited early ({proc.returncode}):\n{bot_process.text}"
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), EXIT_WITHIN)
    await bot_process.reader
    output = bot_process.text
    assert code == 0, output
    assert "Traceback" not in output, output
