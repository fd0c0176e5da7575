"""The arena cap `run` applies: accepted by glibc, refused quietly elsewhere."""

from __future__ import annotations

import platform

from bot.memory import limit_malloc_arenas


def test_glibc_accepts_the_arena_cap() -> None:
    accepted = limit_malloc_arenas()
    assert accepted is (platform.libc_ver()[0] == "glibc")
