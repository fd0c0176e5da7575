"""Schedule benchmark: rebuilding the schedule for many cohorts, and many week openings due at one minute.

Usage (from the repository root):

    .venv/bin/python -m bench.schedule_bench                      # SQLite, 1,000 cohorts, 100 posts
    .venv/bin/python bench/schedule_bench.py --cohorts 5000 --posts 200
    .venv/bin/python -m bench.schedule_bench --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Prints a markdown table (one column per database) to stdout and progress to stderr. Exits 1 if a
correctness check fails (a post missing or sent twice, a job missing, something sent at start-up);
timings never fail it. Not part of the test run: nothing here is collected by pytest.

What it measures, each on a fresh database migrated with bot.db.migrate.upgrade_to_head:

a. Start-up with N active cohorts (bulk-inserted over the bundled roadmaps, ten zones, start dates in
   the last 20 weeks, about 20% with a resumed pause and 10% advanced): PostingService.scheduled_cohorts(),
   ScheduleRunner.rebuild() and ScheduleRunner.run_due() with nothing due (the catch-up sweep that runs
   every minute), with the services built as bot/app.py builds them; then a full bot start-up
   (bot.harness.start_bot against a Sandbox) with every due week already in the ledger as sent.
b. M cohorts, one channel each, all opening week 1 at the same minute: the real bot started against a
   Sandbox, the ManualClock moved past the minute, `runner.run_due()` timed until every post and thread
   exists; requests to the sandbox counted and every channel checked for exactly one post and one thread.

Wall times are medians of --runs runs unless marked "first". SQL statements are counted with a
`before_cursor_execute` listener. `--postgres URL` WIPES the public schema of that database (taking the
test suite's advisory lock first, so it never collides with a test run on the same database).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.common import (
    Checks,
    Databases,
    Table,
    Timing,
    bundled_versions,
    check_postgres_option,
    count_rows,
    insert_plan,
    mark_due_weeks_sent,
    monday_morning,
    ms,
    progress,
    repeat,
    run_on_backends,
    same_minute_cohorts,
    sent_week_posts,
    spread_cohorts,
    timed,
    wired,
)
from bot.clock import ManualClock
from bot.harness import build_study_server, start_bot
from bot.roadmap import RoadmapRegistry
from bot.sandbox import Sandbox, World
from bot.schedule.planner import week_openings

T = TypeVar("T")
POSTS_ROUTE = "/channels/{channel_id}/messages"
THREADS_ROUTE = r"/channels/\d+/messages/\d+/threads"


# a. Start-up with many cohorts.


async def startup_times(url: str, now: datetime, runs: int) -> tuple[float, int, Timing, int, int]:
    """First start (syncs commands), then `runs` restarts: (first s, first SQL, restarts, jobs, posts sent)."""
    server = build_study_server()
    sb = Sandbox(server.world)
    await sb.start()
    restarts = Timing()
    jobs = 0
    try:
        with sb.point_discord_here():

            async def start():
                return await start_bot(sb, database_url=url, clock=ManualClock(now))

            running, first, first_statements = await timed(start)
            await running.stop()
            for _ in range(runs):
                running, seconds, statements = await timed(start)
                jobs = running.bot.runner.job_count()
                await running.stop()
                restarts.seconds.append(seconds)
                restarts.statements.append(statements)
    finally:
        await sb.stop()
    posts = len(sb.requests_to("POST", POSTS_ROUTE))
    return first, first_statements, restarts, jobs, posts


async def many_cohorts(dbs: Databases, cohorts: int, runs: int, table: Table, checks: Checks) -> None:
    col = dbs.backend
    now = monday_morning()

    progress(f"[{col}] start-up on an empty database ...")
    empty_url = await dbs.fresh("empty")
    _, _, empty, _, _ = await startup_times(empty_url, now, runs)

    progress(f"[{col}] seeding {cohorts} cohorts ...")
    url = await dbs.fresh("many")
    clock = ManualClock(now)
    registry = RoadmapRegistry.load()
    async with wired(url, clock, registry) as (engine, sessions, services):
        versions = await bundled_versions(sessions, services.catalog)
        plan = spread_cohorts(cohorts, versions, now)
        _, seed_seconds, _ = await timed(lambda: insert_plan(sessions, plan), engine)

    # The services exactly as the bot wires them (a fresh catalog: its parse cache starts cold).
    async with wired(url, clock, registry) as (engine, sessions, services):
        posting, runner = services.posting, services.runner
        services.scheduler.start()
        progress(f"[{col}] timing scheduled_cohorts / rebuild / run_due ...")
        scheduled, cold_seconds, cold_statements = await timed(posting.scheduled_cohorts, engine)
        _, load = await repeat(posting.scheduled_cohorts, runs, engine)
        jobs, rebuild = await repeat(settled(runner.rebuild), runs, engine)
        planner = await planner_only(plan.timelines, runs)
        sent_rows = await mark_due_weeks_sent(sessions, scheduled, now)
        report, sweep = await repeat(settled(runner.run_due), runs, engine)
    checks.expect(len(scheduled) == cohorts, f"scheduled_cohorts() returned {len(scheduled)} of {cohorts}")
    checks.expect(jobs == cohorts, f"rebuild() scheduled {jobs} jobs for {cohorts} cohorts")
    checks.expect(not (report.posted or report.failed or report.completed), f"nothing was due, yet: {report}")

    progress(f"[{col}] timing bot start-up with {cohorts} cohorts ...")
    first, first_statements, restarts, started_jobs, posts = await startup_times(url, now, runs)
    checks.expect(started_jobs == cohorts, f"the started bot had {started_jobs} jobs for {cohorts} cohorts")
    checks.expect(posts == 0, f"{posts} posts were sent at start-up although nothing was due")

    n = f"{cohorts:,}"
    table.add(f"a. seed: {n} cohorts, pauses / advances (bulk ORM insert)", col,
              f"{ms(seed_seconds)}, {plan.pause_count} / {plan.advance_count}")
    table.add("a. ledger rows marked sent (weeks already posted)", col, f"{sent_rows:,}")
    table.add("a. scheduled_cohorts(), first call (parse + openings caches cold)", col,
              f"{ms(cold_seconds)}, {cold_statements} SQL")
    table.add("a. scheduled_cohorts(), median", col, f"{ms(load.median)}, {load.statements_each} SQL")
    table.add(f"a.   of which planner week_openings() ×{n}", col, ms(planner))
    table.add("a. runner.rebuild(), median", col, f"{ms(rebuild.median)}, {rebuild.statements_each} SQL")
    table.add("a. jobs scheduled", col, f"{jobs:,}")
    table.add("a. runner.run_due(), nothing due (catch-up sweep each minute)", col,
              f"{ms(sweep.median)}, {sweep.statements_each} SQL")
    table.add("a. bot start-up, empty database, median", col, f"{ms(empty.median)}, {empty.statements_each} SQL")
    table.add(f"a. bot start-up, {n} cohorts, first (syncs commands)", col, f"{ms(first)}, {first_statements} SQL")
    table.add(f"a. bot start-up, {n} cohorts, restart median", col,
              f"{ms(restarts.median)}, {restarts.statements_each} SQL")
    table.add("a. posts sent at start-up (nothing due)", col, str(posts))


def settled(call: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """`call`, then one turn of the loop, so APScheduler's wake-up per added job is inside the timing."""

    async def run() -> T:
        result = await call()
        await asyncio.sleep(0)
        return result

    return run


async def planner_only(timelines: list, runs: int) -> float:
    """The pure planner on the same cohorts, without the database: median seconds for all of them."""
    timing = Timing()
    for _ in range(runs):
        started = time.perf_counter()
        for timeline in timelines:
            week_openings(timeline)
        timing.seconds.append(time.perf_counter() - started)
    return timing.median


# b. Many week openings at the same minute.


async def same_minute(dbs: Databases, posts: int, table: Table, checks: Checks) -> None:
    col = dbs.backend
    start = monday_morning()
    opens = start + timedelta(hours=1)
    progress(f"[{col}] {posts} week openings at {opens:%H:%M} UTC ...")
    url = await dbs.fresh("burst")
    world = World(bot_name="StudyBot")
    guild = world.add_guild("Bench Study Group", channels=())
    channels = [guild.add_text_channel(f"cohort-{i}") for i in range(posts)]
    channel_ids = {c.id for c in channels}
    clock = ManualClock(start)
    async with wired(url, clock) as (_engine, sessions, services):
        versions = await bundled_versions(sessions, services.catalog)
        await insert_plan(sessions, same_minute_cohorts(versions, guild.id, [c.id for c in channels], opens))

    sb = Sandbox(world)
    await sb.start()
    try:
        with sb.point_discord_here():
            running = await start_bot(sb, database_url=url, clock=clock)
            try:
                early = len(sb.requests_to("POST", POSTS_ROUTE))
                before = len(sb.requests)
                clock.set(opens + timedelta(minutes=1))
                report, seconds, statements = await timed(running.bot.runner.run_due, running.bot.engine)
                await running.bot.runner.settle()
                made = sb.requests[before:]
                ledger_sent = await count_rows(running.bot.sessions, sent_week_posts())
                jobs = running.bot.runner.job_count()
            finally:
                await running.stop()
    finally:
        await sb.stop()

    bot_id = world.bot.id
    openings_per_channel = collections.Counter(
        c.id for c in channels for m in sb.messages_in(c) if m.author_id == bot_id and "is open." in m.content
    )
    threads_per_channel = collections.Counter(t.parent_id for t in guild.threads if t.parent_id in channel_ids)
    messages = sum(len(sb.messages_in(c)) for c in channels)
    post_count = sum(openings_per_channel.values())
    thread_count = sum(threads_per_channel.values())
    duplicates = sum(n - 1 for n in openings_per_channel.values() if n > 1) + sum(
        n - 1 for n in threads_per_channel.values() if n > 1
    )
    missing = sum(1 for c in channels if openings_per_channel[c.id] == 0 or threads_per_channel[c.id] == 0)
    message_posts = sum(1 for r in made if r.method == "POST" and r.path.endswith("/messages"))
    thread_posts = sum(1 for r in made if r.method == "POST" and r.path.endswith("/threads"))
    errors = sum(1 for r in made if r.status >= 400)

    checks.expect(early == 0, f"{early} posts went out before the minute")
    checks.expect(len(report.posted) == posts, f"run_due reported {len(report.posted)} posts of {posts}")
    checks.expect(post_count == posts, f"{post_count} week posts in the channels, expected {posts}")
    checks.expect(thread_count == posts, f"{thread_count} threads, expected {posts}")
    checks.expect(duplicates == 0 and missing == 0, f"{duplicates} duplicates, {missing} channels incomplete")
    checks.expect(ledger_sent == posts, f"{ledger_sent} ledger rows sent, expected {posts}")
    checks.expect(errors == 0, f"{errors} requests were refused by the sandbox")

    table.add(f"b. run_due() for {posts} openings at one minute, total", col, ms(seconds))
    table.add("b. posts per second", col, f"{posts / seconds:,.1f}")
    table.add("b. time per post (claim, send, thread, mark sent)", col, ms(seconds / posts))
    table.add("b. requests to the sandbox (messages + threads + other)", col,
              f"{len(made)} ({message_posts} + {thread_posts} + {len(made) - message_posts - thread_posts})")
    table.add("b. SQL statements during the run", col, f"{statements:,} ({statements / posts:.1f} per post)")
    table.add("b. week posts / threads / messages in channels", col, f"{post_count} / {thread_count} / {messages}")
    table.add("b. ledger rows sent / jobs afterwards", col, f"{ledger_sent} / {jobs}")
    table.add("b. duplicates", col, str(duplicates))


# Entry point.


async def main(args: argparse.Namespace) -> int:
    async def backend(dbs: Databases, args: argparse.Namespace, table: Table, failures: list[str]) -> None:
        checks = Checks(failures)
        await many_cohorts(dbs, args.cohorts, args.runs, table, checks)
        await same_minute(dbs, args.posts, table, checks)

    detail = f"wall times are medians of {args.runs} runs unless marked first"
    return await run_on_backends("Schedule benchmark", args, backend, detail)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.schedule_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", type=int, default=1000, help="active cohorts for the start-up part (a)")
    parser.add_argument("--posts", type=int, default=100, help="week openings due at the same minute (b)")
    parser.add_argument("--runs", type=int, default=5, help="runs per median")
    parser.add_argument("--postgres", metavar="URL", help="also run on postgresql+asyncpg://... (its schema is wiped)")
    args = parser.parse_args(argv)
    if args.cohorts < 1 or args.posts < 1 or args.runs < 1:
        parser.error("--cohorts, --posts and --runs must be at least 1")
    check_postgres_option(parser, args.postgres)
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.client").addFilter(lambda record: "voice will NOT" not in record.getMessage())
    sys.exit(asyncio.run(main(parse_args())))
