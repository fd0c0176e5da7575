"""Submissions benchmark: /submit and the Approve click, 50 in flight, against a large database, through the sandbox.

Usage (from the repository root):

    .venv/bin/python -m bench.submissions_bench                   # SQLite, 100 cohorts, 10,000 members
    .venv/bin/python -m bench.submissions_bench --calls 100       # quicker
    .venv/bin/python -m bench.submissions_bench --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Prints a markdown table (one column per database) to stdout and progress to stderr. Exits 1 if a
correctness check fails (a /submit not answered "Submitted", a review message missing, a click that did
not approve, a learner not told, a Discord error); timings never fail it. Not part of the test run.

The database is bench/progress_bench.py's (100 cohorts on `ml-ai-expert` 45 weeks in, 10,000 members with
20 checkpoints each: 200,000 submissions), seeded by its `seed`. In the sandbox's cohort, --calls /submit
commands are injected --in-flight at a time by different learners, each for an open week they have not
submitted yet (so each stores a new submission and posts a review message); then the moderator clicks
Approve on those review messages, --in-flight at a time. Latency is bot-side: from injecting the
interaction to the moment the sandbox stored the bot's answer (the /submit followup; the click's edit of
the review message). SQL statements per command are all the bot's statements in a phase over its
commands (for the clicks, up to the last learner's notice). `--postgres URL` WIPES that database's schema.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bench.common import (
    Databases,
    Table,
    check_postgres_option,
    monday_morning,
    ms,
    run_on_backends,
)
from bench.progress_bench import (
    CHECKPOINTS_EACH,
    ROADMAP,
    WEEKS_AGO,
    Measured,
    progress,
    seed,
)
from bot.clock import ManualClock
from bot.db.models import Submission, SubmissionStatus
from bot.db.statements import counting_statements
from bot.harness import StudyServer, build_study_server, start_bot
from bot.roadmap import RoadmapRegistry
from bot.sandbox import Member, Message, Reply, Sandbox, SandboxError
from bot.schedule.planner import Timeline, week_openings

LINK = "https://github.com/learner/checkpoint"


def open_unsubmitted_weeks(now: datetime) -> list[int]:
    """Weeks of the seeded cohort that have opened by `now` and that no seeded member has submitted."""
    roadmap = RoadmapRegistry.load().get(ROADMAP)
    assert roadmap is not None
    start = (now - timedelta(weeks=WEEKS_AGO)).date()
    openings = week_openings(Timeline(start, clock_time(9, 0), "UTC", roadmap.total_weeks, ()))
    return [m.week for m in roadmap.modules[CHECKPOINTS_EACH:] if openings[m.week] <= now]


def answered_at(reply: Reply) -> datetime | None:
    """When the sandbox stored the bot's answer: the first followup (which fills a deferral's "thinking…"
    placeholder, an edit), else the response message, edited for a click's update."""
    message = reply.followups[0] if reply.followups else reply.message
    if message is None:
        return None
    return message.edited_at or message.created_at


async def in_flight(calls: int, batch: int, inject: Callable[[int], Awaitable[Reply]],
                    ok: Callable[[int, Reply], str | None], failures: list[str]) -> tuple[Measured, float]:
    """Run `inject(i)` for every i, `batch` at a time; bot-side seconds per call and the wall time of all."""
    measured = Measured([], [])

    async def one(i: int) -> None:
        injected = datetime.now(UTC)
        reply = await inject(i)
        problem = ok(i, reply) or ("; ".join(map(str, reply.errors)) if reply.errors else None)
        answered = answered_at(reply)
        if problem or answered is None:
            failures.append(f"call {i}: {problem or 'no answer stored'} ({reply!r})")
            return
        measured.seconds.append((answered - injected).total_seconds())

    started = time.perf_counter()
    for first in range(0, calls, batch):
        await asyncio.gather(*(one(i) for i in range(first, min(first + batch, calls))))
    return measured, time.perf_counter() - started


def decision_of(message: Message) -> str:
    fields = message.embeds[0].get("fields", []) if message.embeds else []
    return next((f["value"] for f in fields if f["name"] == "Decision"), "")


async def count_status(sessions: object, status: SubmissionStatus | None = None) -> int:
    query = select(func.count()).select_from(Submission)
    if status is not None:
        query = query.where(Submission.status == status)
    async with sessions() as session:  # type: ignore[operator]
        return int(await session.scalar(query) or 0)


async def time_submissions(sb: Sandbox, server: StudyServer, learners: list[Member], weeks: list[int],
                           args: argparse.Namespace, bot: object, col: str, table: Table,
                           failures: list[str]) -> None:
    engine, sessions = bot.engine, bot.sessions  # type: ignore[attr-defined]
    n, calls, batch = len(learners), args.calls, args.in_flight
    mod = server.moderator
    before = await count_status(sessions)
    pending_before = await count_status(sessions, SubmissionStatus.PENDING)

    def submit(i: int) -> Awaitable[Reply]:
        return sb.slash("submit", user=learners[i % n], week=weeks[i // n], link=f"{LINK}/{i}")

    def submitted(i: int, reply: Reply) -> str | None:
        text = reply.followups[0].content if reply.followups else (reply.content or "")
        return None if text.startswith("Submitted") else f"/submit answered {text!r}"

    progress(f"[{col}] {calls} /submit, {batch} in flight ...")
    with counting_statements(engine) as counter:
        subs, wall = await in_flight(calls, batch, submit, submitted, failures)
    stored = await count_status(sessions) - before
    reviews = [m for m in sb.messages_in(server.review_channel) if m.embeds and not decision_of(m)]
    if stored != calls or len(reviews) != calls:
        failures.append(f"/submit: {calls} calls stored {stored} submissions and posted {len(reviews)} reviews")
    if subs.seconds:
        table.add(f"`/submit week: link:`, bot-side median / p99 ({len(subs.seconds)} calls)", col,
                  f"{ms(subs.median)} / {ms(subs.p99)}")
    table.add("… throughput; SQL statements each", col, f"{calls / wall:,.0f}/s; {counter.count / calls:.1f}")

    def click(i: int) -> Awaitable[Reply]:
        return sb.click(reviews[i], "Approve", user=mod)

    def approved(i: int, reply: Reply) -> str | None:
        decision = decision_of(reviews[i])
        return None if decision.startswith(f"Approved by <@{mod.id}>") else f"review decision {decision!r}"

    def dms() -> int:
        return sum("was approved" in dm.content for m in learners for dm in sb.dms_to(m))

    told_before = dms()
    progress(f"[{col}] {len(reviews)} Approve clicks, {batch} in flight ...")
    with counting_statements(engine) as counter:
        clicks, wall = await in_flight(len(reviews), batch, click, approved, failures)
        try:
            await sb.until(lambda: dms() - told_before >= len(reviews), within=60, what="every learner told")
        except SandboxError as exc:
            failures.append(f"clicks: {exc}")
    now_approved = pending_before + calls - await count_status(sessions, SubmissionStatus.PENDING)
    if now_approved != len(reviews) or dms() - told_before != len(reviews):
        failures.append(f"clicks: {len(reviews)} clicks approved {now_approved}, told {dms() - told_before}")
    if clicks.seconds:
        table.add(f"Approve click, bot-side median / p99 ({len(clicks.seconds)} clicks)", col,
                  f"{ms(clicks.median)} / {ms(clicks.p99)}")
    table.add("… throughput; SQL statements each (learner's notice included)", col,
              f"{len(reviews) / wall:,.0f}/s; {counter.count / max(1, len(reviews)):.1f}")


async def run_backend(dbs: Databases, args: argparse.Namespace, table: Table, failures: list[str]) -> None:
    col = dbs.backend
    now = monday_morning()
    server = build_study_server(learner_names=())
    learners = [server.guild.add_member(f"m{k:03d}") for k in range(max(1, args.members // args.cohorts))]
    weeks = open_unsubmitted_weeks(now)
    if args.calls > len(learners) * len(weeks):
        raise SystemExit(f"--calls: at most {len(learners) * len(weeks)} new submissions possible")
    progress(f"[{col}] seeding {args.cohorts} cohorts, {args.members:,} members ...")
    url = await dbs.fresh("submissions")
    seeded = await seed(url, server, learners, [], args.cohorts, args.members, now)
    table.add("seed: cohorts / members / submissions", col,
              f"{seeded.cohorts:,} / {seeded.members:,} / {seeded.submissions:,}")
    sb = Sandbox(server.world, response_timeout=60.0)
    await sb.start()
    try:
        with sb.point_discord_here():
            running = await start_bot(sb, database_url=url, clock=ManualClock(now))
            # The review channel's pace (5, then 1 a second) would measure Discord's limit, not the bot.
            running.bot.outbox.lane_rate = None
            try:
                await time_submissions(sb, server, learners, weeks, args, running.bot, col, table, failures)
            finally:
                await running.stop()
    finally:
        await sb.stop()


async def main(args: argparse.Namespace) -> int:
    return await run_on_backends(
        f"Submissions benchmark ({args.in_flight} interactions in flight, bot-side latency)", args, run_backend
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.submissions_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", type=int, default=100, help="cohorts in the database")
    parser.add_argument("--members", type=int, default=10_000, help="members, spread evenly over the cohorts")
    parser.add_argument("--calls", type=int, default=400, help="/submit calls (then as many Approve clicks)")
    parser.add_argument("--in-flight", type=int, default=50, help="interactions injected at once")
    parser.add_argument("--postgres", metavar="URL", help="also run on postgresql+asyncpg://... (its schema is wiped)")
    args = parser.parse_args(argv)
    if args.cohorts < 1 or args.members < args.cohorts or args.calls < 2 or args.in_flight < 1:
        parser.error("need --cohorts >= 1, --members >= --cohorts, --calls >= 2 and --in-flight >= 1")
    check_postgres_option(parser, args.postgres)
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.client").addFilter(lambda record: "voice will NOT" not in record.getMessage())
    sys.exit(asyncio.run(main(parse_args())))
