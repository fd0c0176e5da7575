"""Shards benchmark: the same load on 1 bot process (6 shards) and on 3 (2 shards each), one PostgreSQL.

Usage (from the repository root; several processes need PostgreSQL, and the schema of that database is WIPED):

    .venv/bin/python -m bench.shards_bench --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench
    .venv/bin/python -m bench.shards_bench --postgres URL --servers 12 --cohorts 2 --learners 20 --calls 300

Each bot process is an OS process of its own (`bot/harness_processes.py`, shared with the process tests) running
the real bot (`make_bot`, the one wiring) against one sandbox in this process, with a ManualClock the benchmark moves
by message, so the same weeks and reminders fall due in both runs. The load, for each layout:

1. **week openings and reminders**: 4 weeks, each one's Monday 09:00 (the week posts and threads), Monday 18:00
   (daily reminders) and Saturday 09:00 (weekly reminders) swept by every process at once; the deliveries per second
   and the p99 of one moment's sweep (from the order to the last process's outbox being settled). DMs are paced as
   in production, each process at its share of the bot's global rate limit, so that is what bounds it;
   `--unpaced` measures the bot's own speed instead;
2. **50 interactions in flight**: `/roadmap` and `/progress` by learners of every server, each to the process of its
   server's shard; calls per second and the p99 from dispatch to the settled answer.

The sandbox (this process) serves every process, so it is part of what is measured, the same in both layouts.
Exits 1 when a week or reminder is missing or doubled, or an interaction fails.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Databases, Table, check_postgres_option, machine_line, progress
from bot.harness import StudyServer, build_sharded_servers
from bot.harness_processes import Processes
from bot.sandbox import Reply, Sandbox

COUNT = 6
LAYOUTS = {"1 process": [tuple(range(COUNT))], "3 processes": [(0, 1), (2, 3), (4, 5)]}
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WEEK_1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEKS = 4
DAILY, WEEKLY = "Daily reminder for **", "checkpoint **"
STUCK_AFTER = 60.0


@dataclass
class Result:
    sweeps: list[float] = field(default_factory=list)
    delivered: int = 0
    calls: list[float] = field(default_factory=list)
    calls_wall: float = 0.0
    failed_calls: int = 0
    failures: list[str] = field(default_factory=list)


# The world and the load.


async def set_up(sandbox: Sandbox, servers: list[StudyServer], cohorts: int) -> None:
    """Cohorts and their learners, through the bot's own commands (not measured)."""
    for server in servers:
        for c in range(cohorts):
            channel = server.extra[f"cohort-{c}"] if c else server.cohort_channel
            reply = await sandbox.slash(
                "cohort create", user=server.moderator, guild=server.guild, channel=server.cohort_channel,
                name=f"Cohort {c}", roadmap="ml-ai-study-guide", start="2026-03-02", options={"channel": channel},
            )
            assert reply.content.startswith("Created"), reply.content
        for n, learner in enumerate(server.learners):
            reply = await sandbox.slash("join", user=learner, guild=server.guild, channel=server.cohort_channel,
                                        cohort=f"Cohort {n % cohorts}")
            assert "Welcome" in reply.content, reply.content


async def weeks_and_reminders(processes: Processes, result: Result) -> None:
    for week in range(WEEKS):
        opening = WEEK_1 + timedelta(weeks=week)
        for at in (opening, opening + timedelta(hours=9), opening + timedelta(days=5)):
            started = time.perf_counter()
            await processes.all("sweep", at.isoformat())
            result.sweeps.append(time.perf_counter() - started)


def check_deliveries(sandbox: Sandbox, servers: list[StudyServer], result: Result) -> None:
    for server in servers:
        for channel in [server.cohort_channel, *server.extra.values()]:
            titles = [m.embeds[0]["title"] for m in sandbox.messages_in(channel) if m.embeds]
            result.delivered += len(titles)
            if len(titles) != WEEKS or len(set(titles)) != WEEKS:
                result.failures.append(f"{server.guild.name} #{channel.name}: weeks posted {titles}")
        for learner in server.learners:
            texts = [m.content for m in sandbox.dms_to(learner)]
            got = Counter(DAILY in t for t in texts)[True], Counter(WEEKLY in t for t in texts)[True]
            result.delivered += sum(got)
            if got != (WEEKS, WEEKS):
                result.failures.append(f"{learner.name}: {got[0]} daily and {got[1]} weekly reminders, not {WEEKS}")


async def interactions(
    sandbox: Sandbox, servers: list[StudyServer], calls: int, in_flight: int, result: Result
) -> None:
    people = [(server, learner) for server in servers for learner in server.learners]
    queue = iter(range(calls))

    async def one(i: int) -> Reply:
        server, learner = people[i % len(people)]
        command = "roadmap" if i % 2 else "progress"
        return await sandbox.slash(command, user=learner, guild=server.guild, channel=server.cohort_channel)

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            try:
                reply = await asyncio.wait_for(one(i), STUCK_AFTER)
            except Exception as exc:  # a lost answer is a result to count, not a crash
                result.failed_calls += 1
                result.failures.append(f"call #{i}: {exc}")
                continue
            if reply.errors:  # 10062: answered after Discord's 3 seconds
                result.failed_calls += 1
                result.failures.append(f"call #{i}: Discord errors {reply.errors}")
                continue
            result.calls.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    result.calls_wall = time.perf_counter() - started


async def run_layout(dbs: Databases, name: str, args: argparse.Namespace) -> Result:
    url = await dbs.fresh(name.replace(" ", "-"))
    world, servers = build_sharded_servers(
        args.servers, COUNT, args.learners, channels=tuple(f"cohort-{c}" for c in range(1, args.cohorts))
    )
    sandbox = Sandbox(world)
    await sandbox.start()
    sandbox.gateway.max_concurrency = COUNT
    sandbox.response_timeout = STUCK_AFTER
    processes = Processes(LAYOUTS[name], sandbox.url, url, count=COUNT, start=START, paced=not args.unpaced)
    result = Result()
    try:
        await processes.ready()
        progress(f"{name}: connected, setting up {args.servers * args.cohorts} cohorts")
        await set_up(sandbox, servers, args.cohorts)
        await processes.all("settle")
        progress(f"{name}: {WEEKS} weeks of posts and reminders")
        await weeks_and_reminders(processes, result)
        check_deliveries(sandbox, servers, result)
        progress(f"{name}: {args.calls} interactions, {args.in_flight} in flight")
        await interactions(sandbox, servers, args.calls, args.in_flight, result)
    finally:
        await processes.stop()
        await sandbox.stop()
    return result


def p99(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[98]


async def main(args: argparse.Namespace) -> int:
    table = Table(list(LAYOUTS))
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cohort-bench-") as folder:
        async with Databases(Path(folder), args.postgres) as dbs:
            for name in LAYOUTS:
                result = await run_layout(dbs, name, args)
                failures += [f"{name}: {f}" for f in result.failures]
                table.add("posts and reminders delivered", name, f"{result.delivered:,}")
                table.add("deliveries per second (sweeps)", name, f"{result.delivered / sum(result.sweeps):,.1f}")
                table.add("one moment's sweep, median", name, f"{statistics.median(result.sweeps) * 1000:,.0f} ms")
                table.add("one moment's sweep, p99", name, f"{p99(result.sweeps) * 1000:,.0f} ms")
                table.add("interactions per second", name, f"{len(result.calls) / result.calls_wall:,.1f}")
                table.add("interaction median", name, f"{statistics.median(result.calls) * 1000:,.0f} ms")
                table.add("interaction p99", name, f"{p99(result.calls) * 1000:,.0f} ms")
                table.add("interactions late (over 3 s) or lost", name, f"{result.failed_calls}")
    machine = await machine_line(args.postgres)
    print(f"Shards benchmark — {machine}; {args.servers} servers × {args.cohorts} cohorts × "
          f"{args.learners} learners, {COUNT} shards, {args.in_flight} interactions in flight"
          f"{', DMs unpaced' if args.unpaced else ''}.\n")
    print(table.render())
    if failures:
        print("\nFAILED CHECKS:\n" + "\n".join(f"- {f}" for f in failures[:20]))
        return 1
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", required=True, help="postgresql+asyncpg:// URL (its schema is wiped)")
    parser.add_argument("--servers", type=int, default=12)
    parser.add_argument("--cohorts", type=int, default=2, help="cohorts per server")
    parser.add_argument("--learners", type=int, default=20, help="learners per server")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--unpaced", action="store_true",
                        help="no DM pacing: the bot's own speed instead of Discord's global rate limit")
    args = parser.parse_args(argv)
    check_postgres_option(parser, args.postgres)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
