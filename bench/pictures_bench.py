"""Pictures benchmark: rendering the progress card and the stats chart, /cohort stats on a 1,000-member cohort,
and /progress with its card under 50 interactions in flight, through the sandbox.

Usage (from the repository root):

    .venv/bin/python -m bench.pictures_bench                          # SQLite
    .venv/bin/python -m bench.pictures_bench --save docs              # also write the pictures it made
    .venv/bin/python -m bench.pictures_bench --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Prints a markdown table to stdout and progress to stderr. Exits 1 if a correctness check fails (a reply
without its picture, a statement count that grows with the history, a Discord error); timings never fail it.
Not part of the test run.

The database is bench/progress_bench.py's seed (`ml-ai-expert`, 67 weeks, 45 weeks in) with --members in
the sandbox's cohort, plus a first review for every decided version (a random 1-72 hours after it came in).
The card is rendered for a learner at the roadmap's last week (33 checkpoints, 469 study days). Event-loop
lag is the longest a 1 ms ticker waited while 20 cards were drawn, inline or with asyncio.to_thread.
`--postgres URL` WIPES that database's schema.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from bench.common import (
    Databases,
    Table,
    check_postgres_option,
    monday_morning,
    ms,
    opened,
    run_on_backends,
)
from bench.progress_bench import BIG, ROADMAP, SEED, Measured, progress, seed
from bench.submissions_bench import in_flight
from bot.clock import ManualClock
from bot.db.models import Review, ReviewDecision, Submission, SubmissionStatus, SubmissionVersion
from bot.db.statements import counting_statements
from bot.harness import build_study_server, start_bot
from bot.render.card import CardCell, CardFacts, NextTier, render_card
from bot.render.drawing import png
from bot.render.stats_chart import render_chart
from bot.render.stats_csv import stats_csv
from bot.roadmap import RoadmapRegistry
from bot.sandbox import Reply, Sandbox
from bot.services.progress import WeekState
from bot.services.streaks import Streak

RENDERS = 50


def long_card() -> CardFacts:
    """A learner at the last week of the 67-week roadmap: every checkpoint drawn, 469 days of study."""
    roadmap = RoadmapRegistry.load().get(ROADMAP)
    assert roadmap is not None
    rng = random.Random(SEED)
    states = (WeekState.APPROVED,) * 6 + (WeekState.MISSING, WeekState.CHANGES_REQUESTED, WeekState.PENDING)
    cells = tuple(CardCell(m.label, rng.choice(states), rng.random() < 0.1) for m in roadmap.modules)
    start = date(2025, 1, 6)
    days = 7 * roadmap.total_weeks
    study = {start + timedelta(days=d): rng.choice((0, 20, 45, 90, 150)) for d in range(days) if rng.random() < 0.6}
    return CardFacts(
        name="Ada Lovelace", cohort=BIG, week=roadmap.total_weeks, total_weeks=roadmap.total_weeks, cells=cells,
        start=start, today=start + timedelta(days=days - 1), zone="Europe/Berlin", study=study,
        paused=frozenset(start + timedelta(days=d) for d in range(100, 110)), daily=Streak(12, 41),
        weekly=Streak(3, 9), earned=("Prerequisites", "Foundations"), next_tier=NextTier("Practitioner", 5, 8),
    )


def timed_renders(draw: Callable[[], bytes], count: int = RENDERS) -> tuple[float, int]:
    """Median seconds of `count` draws (PNG encoding included) and the PNG's size."""
    seconds, size = [], 0
    for _ in range(count):
        started = time.perf_counter()
        size = len(draw())
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), size


async def loop_lag(work: Callable[[], Awaitable[None]]) -> float:
    """The longest a 1 ms ticker on the event loop was held up while `work` ran."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - before - 0.001)

    task = asyncio.create_task(ticker())
    await work()
    done.set()
    await task
    return worst


async def add_reviews(url: str, cohort_name: str) -> int:
    """A first review for every decided version of the cohort, a random 1-72 hours after it came in."""
    rng = random.Random(SEED)
    async with opened(url) as (_, sessions), sessions.begin() as session:
        rows = (await session.execute(
            select(SubmissionVersion.id, SubmissionVersion.version, SubmissionVersion.submitted_at,
                   Submission.current_version, Submission.status)
            .join(Submission, Submission.id == SubmissionVersion.submission_id)
            .where(Submission.cohort_id == 1)
        )).all()
        reviews = []
        for version_id, version, at, current, status in rows:
            if version == current and status is SubmissionStatus.PENDING:
                continue
            approved = version == current and status is SubmissionStatus.APPROVED
            reviews.append({
                "submission_version_id": version_id, "reviewer_id": 1, "feedback": None,
                "decision": ReviewDecision.APPROVED if approved else ReviewDecision.CHANGES_REQUESTED,
                "decided_at": at + timedelta(hours=rng.uniform(1, 72)),
            })
        for chunk in range(0, len(reviews), 20_000):
            await session.execute(insert(Review), reviews[chunk:chunk + 20_000])
    return len(reviews)


async def run_backend(dbs: Databases, args: argparse.Namespace, table: Table, failures: list[str]) -> None:
    col = dbs.backend
    now = monday_morning()
    server = build_study_server(learner_names=())
    big = [server.guild.add_member(f"m{k:04d}") for k in range(args.members)]
    progress(f"[{col}] seeding a {args.members:,}-member cohort ...")
    url = await dbs.fresh("pictures")
    seeded = await seed(url, server, big, [], 1, args.members, now)
    reviews = await add_reviews(url, BIG)
    table.add("seed: members / submissions / versions / reviews", col,
              f"{seeded.members:,} / {seeded.submissions:,} / {seeded.versions:,} / {reviews:,}")
    sb = Sandbox(server.world, response_timeout=60.0)
    await sb.start()
    try:
        with sb.point_discord_here():
            running = await start_bot(sb, database_url=url, clock=ManualClock(now))
            bot = running.bot
            try:
                progress(f"[{col}] /cohort stats ...")
                stats_calls = Measured([], [])
                reply: Reply | None = None
                for _ in range(5):
                    with counting_statements(bot.engine) as counter:
                        started = time.perf_counter()
                        reply = await sb.slash("cohort stats", user=server.moderator, cohort=BIG)
                        stats_calls.seconds.append(time.perf_counter() - started)
                    stats_calls.statements.append(counter.count)
                    if len(reply.attachments) != 2 or reply.errors:
                        failures.append(f"/cohort stats: {reply!r}")
                        return
                computed = []
                for _ in range(5):
                    started = time.perf_counter()
                    stats = await bot.stats.stats(server.guild.id, BIG)
                    computed.append(time.perf_counter() - started)
                table.add(f"`/cohort stats` ({args.members:,} members), median of 5; SQL statements", col,
                          f"{ms(stats_calls.median)}; {stats_calls.sql}")
                table.add("… of which the numbers (`StatsService.stats`), median of 5", col,
                          ms(statistics.median(computed)))
                chart, chart_size = timed_renders(lambda: png(render_chart(stats)))
                table.add(f"… the chart, drawn + PNG (median of {RENDERS}); size", col,
                          f"{ms(chart)}; {chart_size / 1024:.0f} KiB")
                csv_time, csv_size = timed_renders(lambda: stats_csv(stats))
                table.add("… the CSV; size", col, f"{ms(csv_time)}; {csv_size / 1024:.1f} KiB")

                progress(f"[{col}] /progress with its card, sequential and {args.in_flight} in flight ...")
                sequential = Measured([], [])
                for i in range(args.calls // 4):
                    started = time.perf_counter()
                    answer = await sb.slash("progress", user=big[i])
                    sequential.seconds.append(time.perf_counter() - started)
                    if not answer.attachments:
                        failures.append(f"/progress without a card: {answer!r}")
                        return
                table.add(f"`/progress` with its card, one at a time, median / p99 ({args.calls // 4} calls)", col,
                          f"{ms(sequential.median)} / {ms(sequential.p99)}")

                def carded(i: int, reply: Reply) -> str | None:
                    message = reply.followups[0] if reply.followups else reply.message
                    return None if message is not None and message.attachments else "no card"

                with counting_statements(bot.engine) as counter:
                    burst, wall = await in_flight(
                        args.calls, args.in_flight, lambda i: sb.slash("progress", user=big[i % len(big)]), carded,
                        failures,
                    )
                if burst.seconds:
                    table.add(f"`/progress`, {args.in_flight} in flight, bot-side median / p99 ({args.calls} calls)",
                              col, f"{ms(burst.median)} / {ms(burst.p99)}")
                    table.add("… throughput; SQL statements each", col,
                              f"{args.calls / wall:,.0f}/s; {counter.count / args.calls:.1f}")
                if args.save and reply is not None:
                    args.save.mkdir(parents=True, exist_ok=True)
                    (args.save / "stats-chart.png").write_bytes(reply.attachments[0].data)
                    card_reply = await sb.slash("progress", user=big[0])
                    (args.save / "progress-card.png").write_bytes(card_reply.attachments[0].data)
            finally:
                await running.stop()
    finally:
        await sb.stop()


async def card_rows(table: Table, col: str) -> None:
    facts = long_card()
    card, size = timed_renders(lambda: png(render_card(facts)))
    table.add(f"progress card, 67-week roadmap: drawn + PNG (median of {RENDERS}); size", col,
              f"{ms(card)}; {size / 1024:.0f} KiB")

    async def inline() -> None:
        for _ in range(20):
            png(render_card(facts))
            await asyncio.sleep(0)

    async def threaded() -> None:
        for _ in range(20):
            await asyncio.to_thread(lambda: png(render_card(facts)))

    table.add("event-loop lag while 20 cards are drawn: inline / asyncio.to_thread", col,
              f"{ms(await loop_lag(inline))} / {ms(await loop_lag(threaded))}")


async def main(args: argparse.Namespace) -> int:
    async def backend(dbs: Databases, args: argparse.Namespace, table: Table, failures: list[str]) -> None:
        if dbs.backend == "SQLite":  # rendering needs no database: once is enough
            await card_rows(table, dbs.backend)
        await run_backend(dbs, args, table, failures)

    return await run_on_backends("Pictures benchmark", args, backend)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pictures_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000, help="members of the cohort")
    parser.add_argument("--calls", type=int, default=200, help="/progress calls in flight (a quarter one at a time)")
    parser.add_argument("--in-flight", type=int, default=50, help="interactions injected at once")
    parser.add_argument("--save", type=Path, help="write the chart and a card of this run as PNGs in this folder")
    parser.add_argument("--postgres", metavar="URL", help="also run on postgresql+asyncpg://... (its schema is wiped)")
    args = parser.parse_args(argv)
    if args.members < 4 or args.calls < 4 or args.in_flight < 1:
        parser.error("need --members >= 4, --calls >= 4 and --in-flight >= 1")
    check_postgres_option(parser, args.postgres)
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
