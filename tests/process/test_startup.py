"""Start-up as an operator meets it: one clear line per failure, exit 2 when retrying cannot help, retries otherwise."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.harness import StudyServer
from bot.sandbox import Sandbox
from bot.sandbox.errors import SandboxError
from tests.processes import EXIT_WITHIN, READY_WITHIN, REPO_ROOT, Process, Spawn, clean_env, free_port

USERS_ME = "/users/@me"


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if " ERROR " in line]


def created_files(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def until_printed(sandbox: Sandbox, child: Process, pattern: str, what: str) -> re.Match[str]:
    """Wait until the child printed a line matching `pattern` (or died, which fails with its output)."""
    regex = re.compile(pattern)

    def printed_or_dead() -> bool:
        return bool(regex.search(child.text)) or child.proc.returncode is not None

    # The sandbox's waiter is woken by its own traffic; poll as well, the child may be talking to nobody.
    async def poll() -> None:
        while not printed_or_dead():
            await asyncio.sleep(0.05)
            sandbox.notifier.bump()

    poller = asyncio.create_task(poll())
    try:
        await sandbox.until(printed_or_dead, READY_WITHIN, what)
    except SandboxError as exc:
        pytest.fail(f"{exc}; the bot printed:\n{child.text}")
    finally:
        poller.cancel()
    match = regex.search(child.text)
    assert match, f"the bot exited ({child.proc.returncode}) before {what}:\n{child.text}"
    return match


async def health(port: int, *args: str) -> tuple[int, str]:
    """`python -m bot health` as Docker's HEALTHCHECK runs it."""
    child = await Process.start("health", *args, env=clean_env(HEALTH_PORT=str(port)))
    try:
        return await child.wait(EXIT_WITHIN), child.text
    finally:
        await child.finish()


async def test_a_token_discord_rejects_is_one_line_and_exit_2_without_a_retry(sandbox: Sandbox, spawn: Spawn):
    sandbox.fail_next("GET", USERS_ME, status=401, message="401: Unauthorized")
    child = await spawn("run", DISCORD_SANDBOX_URL=sandbox.url)
    code = await child.wait(READY_WITHIN)
    assert code == 2, child.text
    [line] = error_lines(child.text)
    assert "Discord rejected the token in DISCORD_TOKEN" in line
    assert "Traceback" not in child.text
    assert sandbox.token not in child.text
    assert len(sandbox.requests_to("GET", USERS_ME)) == 1, "no retry: a rejected token never starts working"


async def test_discord_unreachable_at_first_is_retried_until_it_answers(server: StudyServer, spawn: Spawn):
    port, health_port = free_port(), free_port()
    sandbox = Sandbox(server.world, port=port)
    # Nothing listens on `port` until sandbox.start() below: the child's connections are refused.
    child = await spawn("run", DISCORD_SANDBOX_URL=sandbox.url, HEALTH_PORT=str(health_port))
    await until_printed(sandbox, child, r"retrying in 2 s \(attempt 2\)", "the second refused attempt")
    lines = error_lines(child.text)
    assert len(lines) == 2, child.text
    assert all("Discord is unreachable" in line and "Connect" in line for line in lines), lines
    assert "retrying in 1 s (attempt 1)" in lines[0]
    assert "Traceback" not in child.text

    alive, _ = await health(health_port, "--alive")
    ready, answer = await health(health_port)
    assert (alive, ready) == (0, 1), "alive while it waits for Discord, but not ready"
    assert "not ready" in answer and "not logged in" in answer, answer

    await sandbox.start()
    try:
        def connected() -> bool:
            return child.proc.returncode is not None or bool(sandbox.synced_commands() and sandbox.gateway.connected)

        await sandbox.until(connected, READY_WITHIN, "the retried start to connect")
        assert child.proc.returncode is None, child.text
        await until_printed(sandbox, child, "synced", "the start to finish")
        code, answer = await health(health_port)
        for _ in range(100):  # the first catch-up run may still be starting the schedulers' first sweep
            if code == 0:
                break
            await asyncio.sleep(0.1)
            code, answer = await health(health_port)
        assert code == 0, answer
        assert answer.strip() == "ready"
        child.proc.send_signal(signal.SIGTERM)
        assert await child.wait(EXIT_WITHIN) == 0, child.text
    finally:
        await sandbox.stop()
    assert "Traceback" not in child.text


async def test_database_unreachable_is_one_line_per_attempt_and_sigterm_stops_the_wait(sandbox: Sandbox, spawn: Spawn):
    db_port = free_port()
    child = await spawn(
        "run", DISCORD_SANDBOX_URL=sandbox.url, DATABASE_URL=f"postgresql+asyncpg://bot:s3cret@127.0.0.1:{db_port}/bot"
    )
    await until_printed(sandbox, child, r"attempt 2\)", "the second attempt")
    lines = error_lines(child.text)
    assert len(lines) == 2, child.text
    assert f"the database at postgresql+asyncpg://bot:***@127.0.0.1:{db_port}/bot is unreachable" in lines[0]
    assert "ConnectionRefusedError" in lines[0]
    assert "s3cret" not in child.text
    child.proc.send_signal(signal.SIGTERM)
    assert await child.wait(EXIT_WITHIN) == 0, child.text
    assert "Traceback" not in child.text


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT: Input should be 'text' or 'json'"),
        ("HEALTH_PORT", "70000", "HEALTH_PORT: Input should be less than or equal to 65535"),
        ("METRICS_PORT", "0", "METRICS_PORT: Input should be greater than or equal to 1"),
    ],
)
async def test_bad_settings_are_one_line_exit_2_and_nothing_started(
    sandbox: Sandbox, spawn: Spawn, tmp_path: Path, setting: str, value: str, says: str
):
    child = await spawn("run", DISCORD_SANDBOX_URL=sandbox.url, **{setting: value})
    assert await child.wait(EXIT_WITHIN) == 2
    assert child.text.strip() == f"configuration error: {says}"
    assert sandbox.requests == []
    assert not created_files(tmp_path), "no database was created"


@pytest.mark.parametrize("setting", ["HEALTH_PORT", "METRICS_PORT"])
async def test_a_port_in_use_is_one_line_exit_2_and_nothing_started(
    sandbox: Sandbox, spawn: Spawn, tmp_path: Path, setting: str
):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        child = await spawn("run", DISCORD_SANDBOX_URL=sandbox.url, **{setting: str(port)})
        assert await child.wait(EXIT_WITHIN) == 2
    [line] = error_lines(child.text)
    assert f"{setting}={port}: cannot listen there (Address already in use)" in line
    assert "Traceback" not in child.text
    assert sandbox.requests == []
    assert not created_files(tmp_path), "no database was created"


async def test_json_logs_are_one_object_per_line_with_the_interaction_fields(
    sandbox: Sandbox, server: StudyServer, spawn: Spawn
):
    child = await spawn("run", DISCORD_SANDBOX_URL=sandbox.url, LOG_FORMAT="json")
    await sandbox.until(lambda: sandbox.gateway.connected or child.proc.returncode is not None, READY_WITHIN,
                        "the bot to connect")
    await until_printed(sandbox, child, "synced", "the command sync")
    reply = await sandbox.slash("cohort info", cohort="Nope", user=server.moderator)
    assert "no cohort named 'Nope'" in (reply.content or "")
    await until_printed(sandbox, child, '"outcome": "refused"', "the interaction line")
    child.proc.send_signal(signal.SIGTERM)
    assert await child.wait(EXIT_WITHIN) == 0, child.text
    records = [json.loads(line) for line in child.text.splitlines() if line.strip()]
    assert all({"time", "level", "name", "message"} <= record.keys() for record in records)
    [line] = [r for r in records if r["name"] == "bot.interactions"]
    assert line["command"] == "cohort info"
    assert line["guild_id"] == server.guild.id
    assert line["outcome"] == "refused"
    assert isinstance(line["duration_ms"], int)
    assert "Nope" not in json.dumps(line), "what people typed is never logged"
    assert sandbox.token not in child.text


def test_health_without_health_port_says_how_to_turn_it_on():
    result = subprocess.run([sys.executable, "-m", "bot", "health"], cwd=REPO_ROOT, env=clean_env(),
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("HEALTH_PORT is not set")


async def test_losing_discord_while_running_is_one_line_per_reconnect(sandbox: Sandbox, spawn: Spawn):
    child = await spawn("run", DISCORD_SANDBOX_URL=sandbox.url)
    # Connected, not only synced: a stop in the middle of the gateway handshake would leave the socket hanging.
    await sandbox.until(lambda: sandbox.gateway.connected or child.proc.returncode is not None, READY_WITHIN,
                        "the bot to connect")
    assert child.proc.returncode is None, child.text
    # Stopping closes the listener at once, then waits for the child's open HTTP connections to end.
    stopping = asyncio.create_task(sandbox.stop())
    await until_printed(sandbox, child, "Attempting a reconnect", "a reconnect attempt")
    child.proc.send_signal(signal.SIGTERM)
    assert await child.wait(EXIT_WITHIN) == 0, child.text
    await stopping
    [line, *_] = [line for line in child.text.splitlines() if "Attempting a reconnect" in line]
    assert "Discord's gateway is unreachable (ClientConnectorError: Cannot connect to host" in line
    assert "Traceback" not in child.text


async def test_an_unexpected_failure_is_logged_once_and_exits_1_without_a_retry(
    sandbox: Sandbox, spawn: Spawn, tmp_path: Path
):
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("these are my notes, not a database\n" * 10)
    child = await spawn("run", DISCORD_SANDBOX_URL=sandbox.url, DATABASE_URL=f"sqlite+aiosqlite:///{not_a_database}",
                        LOG_FORMAT="json")
    assert await child.wait(READY_WITHIN) == 1, child.text
    records = [json.loads(line) for line in child.text.splitlines() if line.strip()]
    [failure] = [r for r in records if r["level"] == "ERROR"]
    assert failure["message"] == "the bot stopped on an unexpected error"
    assert "file is not a database" in failure["exc_info"]
    assert len(sandbox.requests_to("GET", USERS_ME)) == 1, "waiting would not turn the file into a database"
