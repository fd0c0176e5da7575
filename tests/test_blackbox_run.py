"""`python -m bot run` as shipped, in a subprocess against a sandbox: it syncs, answers, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.harness import StudyServer, build_study_server
from bot.sandbox import Sandbox

REPO_ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("DISCORD_TOKEN", "DATABASE_URL", "LOG_LEVEL", "DEV_GUILD_ID", "DISCORD_SANDBOX_URL")
# Bounds that only keep a hung child from hanging the suite; nothing asserts on how fast it is.
READY_WITHIN = 20.0
EXIT_WITHIN = 15.0


class Process:
    """The bot's child process with everything it printed (stdout and stderr together)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output = bytearray()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.output += chunk

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    async def finish(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


@pytest.fixture
def server() -> StudyServer:
    return build_study_server()


@pytest_asyncio.fixture
async def sandbox(server: StudyServer) -> AsyncIterator[Sandbox]:
    """A sandbox in this process; discord.py is not patched here, the child points itself at it."""
    sb = Sandbox(server.world)
    await sb.start()
    sb.default_guild = server.guild
    sb.default_channel = server.cohort_channel
    sb.default_user = server.moderator
    try:
        yield sb
    finally:
        await sb.stop()


@pytest_asyncio.fixture
async def bot_process(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Process]:
    if (REPO_ROOT / ".env").exists():
        pytest.skip(f"{REPO_ROOT / '.env'} exists: the child would read its settings (and maybe a real token)")
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env.update(
        DISCORD_SANDBOX_URL=sandbox.url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        cwd=REPO_ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    process = Process(proc)
    try:
        yield process
    finally:
        await process.finish()


async def test_run_syncs_answers_and_exits_cleanly_on_sigterm(sandbox: Sandbox, bot_process: Process):
    proc = bot_process.proc

    def ready_or_dead() -> bool:
        return proc.returncode is not None or bool(sandbox.synced_commands() and sandbox.gateway.connected)

    await sandbox.until(ready_or_dead, READY_WITHIN, "the bot process to sync its commands and connect")
    assert proc.returncode is None, f"the bot exited early ({proc.returncode}):\n{bot_process.text}"
    assert {"cohort", "join", "leave", "roadmap"} <= {c["name"] for c in sandbox.synced_commands()}

    reply = await sandbox.slash("cohort list")
    assert reply.ephemeral
    assert "No cohorts yet" in (reply.content or ""), reply

    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), EXIT_WITHIN)
    await bot_process.reader
    output = bot_process.text
    assert code == 0, output
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
