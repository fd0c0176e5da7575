"""Uploads benchmark: how long each hostile roadmap takes to be refused or accepted, and what the event loop feels.

Usage (from the repository root):

    .venv/bin/python -m bench.uploads_bench              # every file in bench/hostile_roadmaps.py, 5 runs each
    .venv/bin/python -m bench.uploads_bench --runs 20

For each file: its size, the outcome, the median time of the whole check in this process (the time it
would hold the event loop if it ran there), the median time through the bot's worker processes as an
upload sees it, and the longest the event loop waited meanwhile (a 1 ms ticker runs during the worker
check). Prints a markdown table; exits 1 if a file is not refused or accepted as expected (timings
never fail it). Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import platform
import statistics
import sys
import time

from bench.hostile_roadmaps import HOSTILE, Hostile
from bot.errors import RoadmapInvalid
from bot.roadmap_check import check_roadmap_bytes
from bot.roadmap_worker import RoadmapChecker


def outcome(file: Hostile, data: bytes) -> tuple[bool, str]:
    """Whether the file met its expectation, and a short description of what happened."""
    try:
        roadmap = check_roadmap_bytes(data, file.name)
    except RoadmapInvalid as exc:
        shown = exc.problems[0].split(": ", 1)[1]
        more = f" (+{len(exc.problems) - 1:,} more)" if len(exc.problems) > 1 else ""
        return (not file.accepted and file.expect in exc.message), f"refused: {shown[:70]}{more}"
    return file.accepted and roadmap.id == file.expect, f"accepted: {len(roadmap.modules)} modules"


def in_process_ms(data: bytes, name: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(RoadmapInvalid):
            check_roadmap_bytes(data, name)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def ticker(stop: asyncio.Event) -> float:
    """The longest an `asyncio.sleep(0.001)` overslept until `stop` is set, in seconds."""
    worst = 0.0
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        worst = max(worst, time.perf_counter() - before - 0.001)
    return worst


async def through_worker_ms(checker: RoadmapChecker, data: bytes, name: str, runs: int) -> tuple[float, float]:
    """Median time of `checker.check` and the longest event-loop lag seen by a 1 ms ticker meanwhile."""
    times = []
    worst_lag = 0.0
    for _ in range(runs):
        stop = asyncio.Event()
        ticking = asyncio.create_task(ticker(stop))
        started = time.perf_counter()
        with contextlib.suppress(RoadmapInvalid):
            await checker.check(data, name)
        times.append((time.perf_counter() - started) * 1000)
        stop.set()
        worst_lag = max(worst_lag, await ticking * 1000)
    return statistics.median(times), worst_lag


async def main(runs: int) -> int:
    checker = RoadmapChecker()
    with contextlib.suppress(RoadmapInvalid):
        await checker.check(HOSTILE[0].build(), "warm-up")  # starts the worker processes
    rows = []
    failed = []
    try:
        for file in HOSTILE:
            data = file.build()
            ok, what = outcome(file, data)
            if not ok:
                failed.append(f"{file.name}: {what}")
            local = in_process_ms(data, file.name, runs)
            worker, lag = await through_worker_ms(checker, data, file.name, runs)
            rows.append(f"| {file.name} | {len(data):,} | {what} | {local:.1f} | {worker:.1f} | {lag:.1f} |")
    finally:
        await checker.close()
    print(f"Python {platform.python_version()}, {platform.machine()}, median of {runs} runs\n")
    print("| file | bytes | outcome | check in-process (ms) | through the worker (ms) | worst loop lag (ms) |")
    print("|---|---:|---|---:|---:|---:|")
    print("\n".join(rows))
    for failure in failed:
        print(f"UNEXPECTED {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    sys.exit(asyncio.run(main(parser.parse_args().runs)))
