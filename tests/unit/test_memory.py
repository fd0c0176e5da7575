"""The process's memory settings: the arena cap `run` applies, and the freeze of what start-up built."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

from bot.memory import limit_malloc_arenas


def test_glibc_accepts_the_arena_cap() -> None:
    accepted = limit_malloc_arenas()
    assert accepted is (platform.libc_ver()[0] == "glibc")


def test_the_freeze_leaves_start_up_out_of_later_collections_but_frees_its_garbage_first() -> None:
    # In a child process: a freeze is for the life of the process (`python -m bot run` does it once caught up).
    script = textwrap.dedent("""
        import gc, weakref
        from bot.memory import freeze_what_start_built

        class Node: pass
        kept = [Node() for _ in range(1000)]   # what start-up built and holds
        cycle = Node(); cycle.me = cycle         # start-up's garbage: a cycle nobody holds
        gone = weakref.ref(cycle); del cycle
        freeze_what_start_built()
        assert gone() is None, "garbage was frozen instead of freed"
        assert gc.get_freeze_count() >= len(kept)
        before = gc.get_freeze_count()
        later = Node(); later.me = later; del later
        assert gc.collect() >= 1                 # what comes later is still collected
        assert gc.get_freeze_count() == before
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
