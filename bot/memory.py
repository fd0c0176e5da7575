"""The process's memory: fewer glibc heaps, and no full garbage collection walking what start-up built."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc

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


def freeze_what_start_built() -> None:
    """Leave what start-up built (modules, roadmaps, caches) out of every later collection.

    A full collection walked all of it: about 160 ms with the event loop stopped, several times a minute under a
    burst, which held every interaction in flight that long. Collected first, so no garbage is frozen with it."""
    gc.collect()
    gc.freeze()
