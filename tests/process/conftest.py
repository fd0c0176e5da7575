"""Fixtures for `python -m bot` as a child process: a sandbox in this process, and children that are always reaped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.harness import StudyServer, build_study_server, start_sandbox
from bot.sandbox import Sandbox
from tests.processes import REPO_ROOT, Process, Spawn, clean_env


@pytest.fixture
def server() -> StudyServer:
    return build_study_server()


@pytest_asyncio.fixture
async def sandbox(server: StudyServer) -> AsyncIterator[Sandbox]:
    """A sandbox in this process; discord.py is not patched here, the child points itself at it."""
    sb = await start_sandbox(server)
    try:
        yield sb
    finally:
        await sb.stop()


@pytest_asyncio.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start `python -m bot ARGS` with a SQLite file in tmp_path and the given settings; every child is killed."""
    if (REPO_ROOT / ".env").exists():
        pytest.skip(f"{REPO_ROOT / '.env'} exists: the child would read its settings (and maybe a real token)")
    children: list[Process] = []

    async def start(*args: str, **settings: str) -> Process:
        env = clean_env(**{"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db", **settings})
        child = await Process.start(*args, env=env)
        children.append(child)
        return child

    yield start
    for child in children:
        await child.finish()


@pytest_asyncio.fixture
async def bot_process(sandbox: Sandbox, spawn: Spawn) -> Process:
    return await spawn("run", DISCORD_SANDBOX_URL=sandbox.url)
