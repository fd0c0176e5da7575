"""Progress benchmark: /progress, /leaderboard and /checkin against a large database, through the sandbox.

Usage (from the repository root):

    .venv/bin/python -m bench.progress_bench                     # SQLite, 100 cohorts, 10,000 members
    .venv/bin/python -m bench.progress_bench --calls 50          # quicker
    .venv/bin/python -m bench.progress_bench --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Prints a markdown table (one column per database) to stdout and progress to stderr. Exits 1 if a
correctness check fails (a command did not answer, or a command's SQL statement count differs between a
small and a large history); timings never fail it. Not part of the test run.

The database, bulk-inserted on a fresh migrated schema: --cohorts cohorts on the `ml-ai-expert` roadmap
(33 modules), started 45 weeks before the clock, with --members members spread evenly over them, each
with 20 submitted checkpoints (70% approved, 20% pending, 10% sent back; a fifth with a second version;
some late), 30 check-ins over the last 45 days, an extension for one in ten, and a granted tier award
for those whose first tier's checkpoints are all approved; then ANALYZE, as autovacuum would. One of
the cohorts lives in the sandbox's server with real sandbox members: the commands are timed there, as
learners would run them (the real bot, discord.py and the sandbox's HTTP and gateway in the loop). A
second cohort there, "Small", has three members with one check-in and one submission each: the same
commands run against it show that the number of SQL statements does not depend on the history (counted
with a `before_cursor_execute` listener on the bot's engine). `--postgres URL` WIPES the public schema of that database.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text

from bench.common import (
    Databases,
    Table,
    bundled_versions,
    check_postgres_option,
    mark_due_weeks_sent,
    monday_morning,
    ms,
    progress,
    run_on_backends,
    wired,
)
from bot.clock import ManualClock
from bot.db.models import (
    AwardStatus,
    CheckIn,
    Cohort,
    CohortStatus,
    Extension,
    Membership,
    MembershipStatus,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    TierAward,
)
from bot.db.statements import counting_statements
from bot.harness import StudyServer, build_study_server, start_bot
from bot.roadmap import RoadmapRegistry
from bot.sandbox import Member, Reply, Sandbox
from bot.schedule.planner import Timeline, week_openings
from bot.services.parsing import name_key
from bot.services.streak_book import StreakBook

ROADMAP = "ml-ai-expert"
WEEKS_AGO = 45
CHECKPOINTS_EACH = 20
CHECK_INS_EACH = 30
SEED = 20260302
BIG = "Bench"
SMALL = "Small"
ID_TABLES = ("memberships", "submissions", "submission_versions", "checkins", "extensions", "tier_awards")


@dataclass
class Seeded:
    cohorts: int = 0
    members: int = 0
    submissions: int = 0
    versions: int = 0
    check_ins: int = 0
    awards: int = 0
    seconds: float = 0.0


class Rows:
    """Row dicts per model, with explicit ids so nothing needs RETURNING (PostgreSQL sequences are set after)."""

    def __init__(self) -> None:
        self.rows: dict[type, list[dict[str, Any]]] = {m: [] for m in (
            Membership, Submission, SubmissionVersion, CheckIn, Extension, TierAward)}

    def add(self, model: type, **values: Any) -> int:
        rows = self.rows[model]
        values.setdefault("id", len(rows) + 1)
        rows.append(values)
        return values["id"]


def cohort_row(name: str, guild_id: int, channel_id: int, version_id: int, start: Any,
               status: CohortStatus, review_channel_id: int | None = None) -> dict[str, Any]:
    return {
        "guild_id": guild_id, "name": name, "name_key": name_key(name), "roadmap_id": ROADMAP,
        "roadmap_version_id": version_id, "timezone": "UTC", "start_date": start, "post_time": clock_time(9, 0),
        "channel_id": channel_id, "review_channel_id": review_channel_id, "role_id": None, "status": status,
        "enrollment_open": True, "created_by": 1, "created_at": datetime.combine(start, clock_time(8), UTC)
        - timedelta(days=1), "ended_at": None,
    }


def member_history(rows: Rows, rng: random.Random, membership_id: int, cohort_id: int, openings: dict[int, datetime],
                   modules: list, prerequisite_weeks: set[int], now: datetime, checkpoints: int,
                   check_ins: int = CHECK_INS_EACH) -> None:
    approved = set()
    for module in modules[:checkpoints]:
        opened_at = openings[module.week]
        roll = rng.random()
        status = (SubmissionStatus.APPROVED if roll < 0.7 else
                  SubmissionStatus.PENDING if roll < 0.9 else SubmissionStatus.CHANGES_REQUESTED)
        versions = 2 if rng.random() < 0.2 else 1
        at = opened_at + timedelta(hours=rng.randint(2, 24 * 8 * module.weeks))  # some after the deadline
        submission_id = rows.add(
            Submission, cohort_id=cohort_id, membership_id=membership_id, week=module.week, status=status,
            current_version=versions, review_channel_id=None, review_message_id=None, created_at=at, updated_at=at,
        )
        for version in range(1, versions + 1):
            due = openings.get(module.last_week + 1)
            moment = at + timedelta(hours=6 * (version - 1))
            rows.add(SubmissionVersion, submission_id=submission_id, version=version, link="https://example.org/w",
                     notes=None, late=bool(due and moment > due), submitted_at=moment)
        if status is SubmissionStatus.APPROVED:
            approved.add(module.week)
    rows.rows[Membership][membership_id - 1]["approved"] = len(approved)  # as moderators' approvals keep it
    for day in sorted(rng.sample(range(1, WEEKS_AGO), check_ins)):
        moment = now - timedelta(days=day, hours=rng.randint(0, 10))
        rows.add(CheckIn, membership_id=membership_id, local_date=moment.date(), minutes=rng.choice((20, 45, 90)),
                 note=None, created_at=moment)
    if rng.random() < 0.1:
        rows.add(Extension, membership_id=membership_id, week=modules[checkpoints].week, days=3, granted_by=1,
                 created_at=now - timedelta(days=2))
    if prerequisite_weeks <= approved:
        rows.add(TierAward, membership_id=membership_id, tier_key="prerequisites", status=AwardStatus.GRANTED,
                 role_id=1, attempts=1, last_error=None, earned_at=now - timedelta(days=30),
                 granted_at=now - timedelta(days=30))


async def seed(url: str, server: StudyServer, big: list[Member], small: list[Member], cohorts: int, members: int,
               now: datetime) -> Seeded:
    rng = random.Random(SEED)
    registry = RoadmapRegistry.load()
    clock = ManualClock(now)
    report = Seeded()
    started = time.perf_counter()
    async with wired(url, clock, registry) as (engine, sessions, services):
        catalog = services.catalog
        version = next(v for v in await bundled_versions(sessions, catalog) if v.roadmap.id == ROADMAP)
        roadmap = version.roadmap
        start = (now - timedelta(weeks=WEEKS_AGO)).date()
        openings = week_openings(Timeline(start, clock_time(9, 0), "UTC", roadmap.total_weeks, ()))
        modules = list(roadmap.modules)
        first_tier = {m.week for m in roadmap.tier_modules(roadmap.tiers[0])}
        guild, channel, review = server.guild, server.cohort_channel, server.review_channel
        cohort_rows = [cohort_row(BIG, guild.id, channel.id, version.id, start, CohortStatus.ACTIVE, review.id),
                       cohort_row(SMALL, guild.id, channel.id, version.id, start, CohortStatus.ACTIVE, review.id)]
        cohort_rows += [
            cohort_row(f"Filler {i:03d}", 500_000_000_000_000_000 + i, 600_000_000_000_000_000 + i, version.id,
                       start, CohortStatus.COMPLETED)
            for i in range(2, cohorts + 1)
        ]
        rows = Rows()
        async with sessions.begin() as session:
            ids = list((await session.scalars(
                insert(Cohort).returning(Cohort.id, sort_by_parameter_order=True), cohort_rows)).all())
        big_id, small_id, fillers = ids[0], ids[1], ids[2:]
        per_cohort = members // cohorts
        joined = now - timedelta(weeks=WEEKS_AGO)

        def enrol(cohort_id: int, guild_id: int, user_id: int, name: str) -> int:
            return rows.add(Membership, cohort_id=cohort_id, guild_id=guild_id, user_id=user_id, display_name=name,
                            status=MembershipStatus.ACTIVE, joined_at=joined, left_at=None)

        for member in big:
            m = enrol(big_id, guild.id, member.id, member.name)
            member_history(rows, rng, m, big_id, openings, modules, first_tier, now, CHECKPOINTS_EACH)
        for member in small:
            m = enrol(small_id, guild.id, member.id, member.name)
            member_history(rows, rng, m, small_id, openings, modules, first_tier, now, 1, check_ins=0)
            rows.add(CheckIn, membership_id=m, local_date=now.date(), minutes=30, note=None, created_at=now)
        for n, cohort_id in enumerate(fillers):
            for k in range(per_cohort):
                user_id = 700_000_000_000_000_000 + n * 10_000 + k
                m = enrol(cohort_id, cohort_rows[n + 2]["guild_id"], user_id, f"learner {n}-{k}")
                member_history(rows, rng, m, cohort_id, openings, modules, first_tier, now, CHECKPOINTS_EACH)
        progress(f"  inserting {sum(len(r) for r in rows.rows.values()):,} rows ...")
        async with sessions.begin() as session:
            for model, values in rows.rows.items():
                for chunk in range(0, len(values), 20_000):
                    await session.execute(insert(model), values[chunk:chunk + 20_000])
            if engine.dialect.name == "postgresql":
                for table in ID_TABLES:
                    sequence = f"pg_get_serial_sequence('{table}', 'id')"
                    await session.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
        # The kept streaks a bot that ran through that history would have (its start-up correction would find
        # them holding), before the statistics: PostgreSQL plans the boards by them.
        await StreakBook(sessions, clock).correct()
        async with sessions.begin() as session:
            # Fresh planner statistics after the bulk load, as autovacuum (or SQLite's optimize) would give.
            await session.execute(text("ANALYZE"))
        # Every week already due counts as posted, so the bot starts quietly (as after months of running).
        await mark_due_weeks_sent(sessions, await services.posting.scheduled_cohorts(), now)
    report.seconds = time.perf_counter() - started
    report.cohorts = len(ids)
    report.members = len(rows.rows[Membership])
    report.submissions = len(rows.rows[Submission])
    report.versions = len(rows.rows[SubmissionVersion])
    report.check_ins = len(rows.rows[CheckIn])
    report.awards = len(rows.rows[TierAward])
    return report


@dataclass
class Measured:
    seconds: list[float]
    statements: list[int]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.seconds, n=100)[98] if len(self.seconds) > 1 else self.seconds[0]

    @property
    def sql(self) -> str:
        counts = sorted(set(self.statements))
        return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


async def measure(engine: Any, calls: int, command: Callable[[int], Awaitable[Reply]],
                  ok: Callable[[Reply], bool], failures: list[str], what: str) -> Measured:
    measured = Measured([], [])
    for i in range(calls):
        with counting_statements(engine) as counter:
            started = time.perf_counter()
            reply = await command(i)
            measured.seconds.append(time.perf_counter() - started)
        measured.statements.append(counter.count)
        if not ok(reply):
            failures.append(f"{what}: unexpected answer {reply!r}")
            break
    return measured


def has_embed(title: str) -> Callable[[Reply], bool]:
    return lambda reply: bool(reply.embeds) and reply.embeds[0].get("title", "").startswith(title)


async def run_backend(dbs: Databases, args: argparse.Namespace, table: Table, failures: list[str]) -> None:
    col = dbs.backend
    now = monday_morning()
    server = build_study_server(learner_names=())
    big = [server.guild.add_member(f"m{k:03d}") for k in range(max(1, args.members // args.cohorts))]
    small = [server.guild.add_member(f"s{k}") for k in range(3)]
    progress(f"[{col}] seeding {args.cohorts} cohorts, {args.members:,} members ...")
    url = await dbs.fresh("progress")
    seeded = await seed(url, server, big, small, args.cohorts, args.members, now)
    table.add("seed: cohorts / members", col, f"{seeded.cohorts:,} / {seeded.members:,}")
    table.add("seed: submissions / versions", col, f"{seeded.submissions:,} / {seeded.versions:,}")
    table.add("seed: check-ins / tier awards", col, f"{seeded.check_ins:,} / {seeded.awards:,}")
    table.add("seed: bulk insert, total", col, ms(seeded.seconds))

    sb = Sandbox(server.world, response_timeout=30.0)
    await sb.start()
    try:
        with sb.point_discord_here():
            running = await start_bot(sb, database_url=url, clock=ManualClock(now))
            engine = running.bot.engine
            try:
                progress(f"[{col}] timing {args.calls} calls per command ...")
                n = len(big)
                commands: list[tuple[str, str, Callable[[int], Awaitable[Reply]], Callable[[Reply], bool]]] = [
                    ("/progress", BIG, lambda i: sb.slash("progress", user=big[i % n]), has_embed("Progress")),
                    ("/progress (moderator, member:)", BIG,
                     lambda i: sb.slash("progress", user=server.moderator, member=big[i % n]), has_embed("Progress")),
                    ("/leaderboard by:streak", BIG, lambda i: sb.slash("leaderboard", user=big[i % n]),
                     has_embed("Leaderboard")),
                    ("/leaderboard by:approved", BIG,
                     lambda i: sb.slash("leaderboard", user=big[i % n], by="approved"), has_embed("Leaderboard")),
                    ("/checkin", BIG, lambda i: sb.slash("checkin", user=big[i % n], minutes=30),
                     lambda r: (r.content or "").startswith("Checked in")),
                ]
                # The first command on a cohort reads its roadmap version once (cached after): not timed.
                await sb.slash("progress", user=big[0])
                results = {}
                for name, _, command, ok in commands:
                    results[name] = await measure(engine, args.calls, command, ok, failures, name)
                    m = results[name]
                    table.add(f"{name}: median / p99 ({args.calls} calls, {n} members' cohort)", col,
                              f"{ms(m.median)} / {ms(m.p99)}")
                progress(f"[{col}] statements for a small history ...")
                s = len(small)
                small_commands = [
                    ("/progress", lambda i: sb.slash("progress", user=small[i % s])),
                    ("/progress (moderator, member:)",
                     lambda i: sb.slash("progress", user=server.moderator, member=small[i % s])),
                    ("/leaderboard by:streak", lambda i: sb.slash("leaderboard", user=small[i % s])),
                    ("/leaderboard by:approved", lambda i: sb.slash("leaderboard", user=small[i % s], by="approved")),
                    ("/checkin", lambda i: sb.slash("checkin", user=small[i % s], minutes=30)),
                ]
                for name, command in small_commands:
                    ok = commands[[c[0] for c in commands].index(name)][3]
                    few = await measure(engine, 3, command, ok, failures, f"{name} (small)")
                    large = results[name]
                    if few.sql != large.sql:
                        failures.append(f"{name}: {few.sql} statements for a small history, {large.sql} for a large")
                    table.add(f"{name}: SQL statements, small / large history", col, f"{few.sql} / {large.sql}")
            finally:
                await running.stop()
    finally:
        await sb.stop()


async def main(args: argparse.Namespace) -> int:
    return await run_on_backends(
        "Progress benchmark (latency of the whole interaction through the sandbox)", args, run_backend
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.progress_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", type=int, default=100, help="cohorts in the database")
    parser.add_argument("--members", type=int, default=10_000, help="members, spread evenly over the cohorts")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per command")
    parser.add_argument("--postgres", metavar="URL", help="also run on postgresql+asyncpg://... (its schema is wiped)")
    args = parser.parse_args(argv)
    if args.cohorts < 1 or args.members < args.cohorts or args.calls < 2:
        parser.error("need --cohorts >= 1, --members >= --cohorts and --calls >= 2")
    check_postgres_option(parser, args.postgres)
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("discord.client").addFilter(lambda record: "voice will NOT" not in record.getMessage())
    sys.exit(asyncio.run(main(parse_args())))
