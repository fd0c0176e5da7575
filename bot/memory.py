"""Fewer glibc heaps: the bot's threads (aiosqlite's, the drawing pool's) each got one that kept freed memory."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

M_ARENA_MAX = -8
"""mallopt's parameter number for the most arenas (malloc.h); what the MALLOC_ARENA_MAX variable sets."""
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's arenas (call before threads start); False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    with contextlib.suppress(OSError, AttributeError):
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, arenas))
    return False
