"""The bot process's event loop: uvloop where installed, asyncio's own where not."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bot import event_loop


async def loop_class() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_the_bot_runs_on_uvloop_where_it_is_installed() -> None:
    pytest.importorskip("uvloop")  # installed with the bot everywhere but Windows
    assert event_loop.run(loop_class()).startswith("uvloop")


def test_without_uvloop_the_bot_runs_on_asyncios_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as on Windows: importing it fails
    assert event_loop.run(loop_class()).startswith("asyncio")
