"""The bot as a child process, as an operator runs it: a clean environment and everything it prints."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
# Bounds that only keep a hung child from hanging the suite; nothing asserts on how fast it is.
READY_WITHIN = 20.0
EXIT_WITHIN = 15.0


def clean_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any bot setting (they would leak into the child), plus `settings`."""
    env = {key: value for key, value in os.environ.items() if key not in Settings.model_fields}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.update(settings)
    return env


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """The bot's child process with everything it printed (stdout and stderr together)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output = bytearray()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, *args: str, env: dict[str, str]) -> Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args,
            cwd=REPO_ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.output += chunk

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    async def wait(self, within: float) -> int:
        """The exit code, once everything printed has been read."""
        code = await asyncio.wait_for(self.proc.wait(), within)
        await self.reader
        return code

    async def finish(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


Spawn = Callable[..., Awaitable[Process]]
"""Starts `python -m bot` with the given arguments and settings (the process tests' `spawn` fixture)."""
