"""Shared pieces of the benchmarks: fresh databases, bulk seeding, SQL counting, timing and the result table.

Not a benchmark itself; see bench/schedule_bench.py for the entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import CohortBot
from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade_to_head
from bot.db.models import Cohort, CohortAdvance, CohortPause, CohortStatus, Delivery, DeliveryState
from bot.db.statements import counting_statements
from bot.discord_port import BotDiscordPort
from bot.roadmap import Roadmap, RoadmapRegistry
from bot.schedule.planner import EventKind, ScheduleEvent, Timeline, current_week, week_openings
from bot.services.catalog import RoadmapCatalog
from bot.services.parsing import name_key
from bot.services.posting import WEEK_POST, ScheduledCohort
from bot.wiring import Services, build_services

T = TypeVar("T")

# The same lock key as tests/conftest.py: a benchmark pointed at the shared test database waits its turn
# instead of dropping the tables under a running test session.
POSTGRES_TEST_LOCK = 0x636F686F7274
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)
POST_HOURS = (7, 8, 9, 12, 17, 18, 19, 20)
SEED = 20260302


# Progress and checks.


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Checks:
    """Correctness checks along the way, noted in `failures` (run_on_backends' list); any makes the exit code 1."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures

    def expect(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failures.append(what)
            progress(f"CHECK FAILED: {what}")
        return ok


# Databases.


class Databases:
    """Hands out empty, migrated databases: SQLite files in a folder, or a reset PostgreSQL schema."""

    def __init__(self, folder: Path, postgres_url: str | None = None) -> None:
        self.folder = folder
        self.postgres_url = postgres_url
        self._guard: Any = None
        self._guard_engine: AsyncEngine | None = None

    @property
    def backend(self) -> str:
        return "PostgreSQL" if self.postgres_url else "SQLite"

    async def __aenter__(self) -> Databases:
        if self.postgres_url:
            self._guard_engine = create_engine(self.postgres_url)
            self._guard = await self._guard_engine.connect()
            await self._guard.execute(text("SET lock_timeout = '300s'"))
            await self._guard.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRES_TEST_LOCK})
            await self._guard.commit()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._guard is not None:
            await self._guard.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRES_TEST_LOCK})
            await self._guard.commit()
            await self._guard.close()
        if self._guard_engine is not None:
            await self._guard_engine.dispose()

    async def fresh(self, name: str) -> str:
        """The URL of an empty database with every migration applied (PostgreSQL: the public schema is wiped)."""
        if self.postgres_url:
            url = self.postgres_url
            await self._guard.execute(text("DROP SCHEMA public CASCADE"))
            await self._guard.execute(text("CREATE SCHEMA public"))
            await self._guard.commit()
        else:
            url = f"sqlite+aiosqlite:///{self.folder / name}.db"
        engine = create_engine(url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()
        return url


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    engine = create_engine(url)
    try:
        yield engine, session_factory(engine)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def wired(
    url: str, clock: Clock, registry: RoadmapRegistry | None = None
) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession], Services]]:
    """The bot's services on `url`, wired as the bot wires them, with the Discord port of a bot never connected
    (what is timed here sends nothing); the scheduler is not started."""
    async with opened(url) as (engine, sessions):
        never_started = CohortBot(Settings(DATABASE_URL=url), clock=clock)
        services = build_services(sessions, clock, BotDiscordPort(never_started), registry=registry)
        try:
            yield engine, sessions, services
        finally:
            await services.close()


# Counting SQL statements.


async def machine_line(postgres_url: str | None) -> str:
    """The machine a table was measured on: CPU, cores, Python, SQLite (and PostgreSQL when it ran)."""
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )
    return machine + (f", PostgreSQL {await server_version(postgres_url)}" if postgres_url else "")


async def server_version(url: str) -> str:
    """PostgreSQL's version, for the table's machine line."""
    async with opened(url) as (engine, _sessions), engine.connect() as connection:
        return str(await connection.scalar(text("SHOW server_version")))


def check_postgres_option(parser: argparse.ArgumentParser, url: str | None) -> None:
    """Refuse a --postgres value that is not an asyncpg URL, as argparse refuses a bad option."""
    if url and not url.startswith("postgresql+asyncpg://"):
        parser.error("--postgres needs a postgresql+asyncpg:// URL")


# Timing.


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def statements_each(self) -> int:
        return round(statistics.median(self.statements))


async def timed(call: Callable[[], Awaitable[T]], engine: AsyncEngine | type[Engine] = Engine) -> tuple[T, float, int]:
    """Run `call` once: its result, wall seconds and SQL statements issued."""
    with counting_statements(engine) as counter:
        started = time.perf_counter()
        result = await call()
        elapsed = time.perf_counter() - started
    return result, elapsed, counter.count


async def repeat(
    call: Callable[[], Awaitable[T]], runs: int, engine: AsyncEngine | type[Engine] = Engine
) -> tuple[T, Timing]:
    timing = Timing()
    result: Any = None
    for _ in range(runs):
        result, elapsed, statements = await timed(call, engine)
        timing.seconds.append(elapsed)
        timing.statements.append(statements)
    return result, timing


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


# Seeding.


@dataclass(frozen=True)
class SeededVersion:
    id: int
    roadmap: Roadmap


async def bundled_versions(sessions: async_sessionmaker[AsyncSession], catalog: RoadmapCatalog) -> list[SeededVersion]:
    """Snapshot every bundled roadmap the way the first cohort on it would (guild 0 = bundled)."""
    found = []
    async with sessions.begin() as session:
        for choice in await catalog.choices(0):
            version = await catalog.version_for_new_cohort(session, 0, choice.id)
            found.append(SeededVersion(version.id, catalog.parse(version)))
    return found


@dataclass
class SeedPlan:
    """What to insert; counts are kept for the report."""

    cohorts: list[dict[str, Any]] = field(default_factory=list)
    pauses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    advances: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    timelines: list[Timeline] = field(default_factory=list)
    """The planner's input per cohort, for timing the planner on its own."""

    @property
    def pause_count(self) -> int:
        return sum(len(v) for v in self.pauses.values())

    @property
    def advance_count(self) -> int:
        return sum(len(v) for v in self.advances.values())


def spread_cohorts(count: int, versions: list[SeededVersion], now: datetime, *, guilds: int = 50) -> SeedPlan:
    """`count` active cohorts over the bundled roadmaps, ten zones and start dates in the last 20 weeks.

    About one in five had a pause (resumed since) and one in ten was advanced by a moderator; every one
    still has weeks to go at `now`, so nothing completes and each gets a job.
    """
    rng = random.Random(SEED)
    plan = SeedPlan()
    today = now.date()
    for i in range(count):
        seeded = versions[i % len(versions)]
        weeks_left_margin = 3
        max_weeks_ago = max(0, min(20, seeded.roadmap.total_weeks - weeks_left_margin))
        start = today - timedelta(days=rng.randint(0, max_weeks_ago * 7))
        zone = ZONES[rng.randrange(len(ZONES))]
        post_time = clock_time(POST_HOURS[rng.randrange(len(POST_HOURS))], rng.choice((0, 30)))
        created = datetime.combine(start - timedelta(days=7), clock_time(12), UTC)
        elapsed_days = (today - start).days
        events: list[ScheduleEvent] = []
        pauses: list[dict[str, Any]] = []
        advances: list[dict[str, Any]] = []
        if elapsed_days > 14 and rng.random() < 0.2:
            paused = datetime.combine(start + timedelta(days=rng.randint(1, elapsed_days - 12)), clock_time(15), UTC)
            resumed = paused + timedelta(days=rng.randint(1, 10), hours=2)
            pauses.append({"paused_at": paused, "resumed_at": resumed, "paused_by": 1})
            events += [ScheduleEvent(EventKind.PAUSE, paused), ScheduleEvent(EventKind.RESUME, resumed)]
        if elapsed_days > 7 and rng.random() < 0.1:
            at = now - timedelta(days=rng.randint(1, min(elapsed_days - 1, 6)), hours=3)
            timeline = Timeline(start, post_time, zone, seeded.roadmap.total_weeks, tuple(events))
            to_week = current_week(week_openings(timeline), at) + 1
            if to_week <= seeded.roadmap.total_weeks - 1:
                advances.append({"at": at, "to_week": to_week, "advanced_by": 1})
                events.append(ScheduleEvent(EventKind.ADVANCE, at, to_week))
        timeline = Timeline(start, post_time, zone, seeded.roadmap.total_weeks, tuple(events))
        end = week_openings(timeline).get(seeded.roadmap.total_weeks + 1)
        if end is None or end <= now:
            raise AssertionError(f"seed cohort {i} would have ended; the spread needs more weeks left")
        name = f"Cohort {i:05d}"
        plan.cohorts.append({
            "guild_id": 100_000_000_000_000_000 + i % guilds,
            "name": name,
            "name_key": name_key(name),
            "roadmap_id": seeded.roadmap.id,
            "roadmap_version_id": seeded.id,
            "timezone": zone,
            "start_date": start,
            "post_time": post_time,
            "channel_id": 200_000_000_000_000_000 + i,
            "review_channel_id": None,
            "role_id": None,
            "status": CohortStatus.ACTIVE,
            "enrollment_open": True,
            "created_by": 1,
            "created_at": created,
            "ended_at": None,
        })
        plan.timelines.append(timeline)
        if pauses:
            plan.pauses[i] = pauses
        if advances:
            plan.advances[i] = advances
    return plan


def same_minute_cohorts(
    versions: list[SeededVersion], guild_id: int, channel_ids: list[int], opens: datetime
) -> SeedPlan:
    """One cohort per channel, every week 1 opening at `opens` (UTC), over the bundled roadmaps."""
    plan = SeedPlan()
    created = opens - timedelta(days=1)
    for i, channel_id in enumerate(channel_ids):
        seeded = versions[i % len(versions)]
        name = f"Burst {i:04d}"
        plan.cohorts.append({
            "guild_id": guild_id,
            "name": name,
            "name_key": name_key(name),
            "roadmap_id": seeded.roadmap.id,
            "roadmap_version_id": seeded.id,
            "timezone": "UTC",
            "start_date": opens.date(),
            "post_time": opens.time().replace(tzinfo=None),
            "channel_id": channel_id,
            "review_channel_id": None,
            "role_id": None,
            "status": CohortStatus.ACTIVE,
            "enrollment_open": True,
            "created_by": 1,
            "created_at": created,
            "ended_at": None,
        })
    return plan


async def insert_plan(sessions: async_sessionmaker[AsyncSession], plan: SeedPlan) -> list[int]:
    """Bulk ORM inserts (executemany / insertmanyvalues); returns the cohort ids in plan order."""
    async with sessions.begin() as session:
        ids = list(
            (
                await session.scalars(
                    insert(Cohort).returning(Cohort.id, sort_by_parameter_order=True), plan.cohorts
                )
            ).all()
        )
        pauses = [{**row, "cohort_id": ids[i]} for i, rows in plan.pauses.items() for row in rows]
        advances = [{**row, "cohort_id": ids[i]} for i, rows in plan.advances.items() for row in rows]
        if pauses:
            await session.execute(insert(CohortPause), pauses)
        if advances:
            await session.execute(insert(CohortAdvance), advances)
    return ids


async def mark_due_weeks_sent(
    sessions: async_sessionmaker[AsyncSession], scheduled: list[ScheduledCohort], now: datetime
) -> int:
    """Write a `sent` ledger row for every week post due by `now`, as if the bot had posted them all."""
    rows = []
    for item in scheduled:
        for module in item.roadmap.modules:
            opened = item.openings.get(module.week)
            if opened is None or opened > now:
                break
            rows.append({
                "kind": WEEK_POST,
                "subject": f"cohort:{item.cohort.id}",
                "period": f"week-{module.week}",
                "cohort_id": item.cohort.id,
                "state": DeliveryState.SENT,
                "attempts": 1,
                "late": False,
                "channel_id": item.cohort.channel_id,
                "message_id": 300_000_000_000_000_000 + len(rows),
                "due_at": opened,
                "claimed_at": opened,
                "sent_at": opened,
            })
    if rows:
        async with sessions.begin() as session:
            await session.execute(insert(Delivery), rows)
    return len(rows)


async def count_rows(sessions: async_sessionmaker[AsyncSession], query: Any) -> int:
    async with sessions() as session:
        return len((await session.execute(query)).all())


def sent_week_posts() -> Any:
    return select(Delivery.id).where(Delivery.kind == WEEK_POST, Delivery.state == DeliveryState.SENT)


def monday_morning() -> datetime:
    """2026-03-02 08:00 UTC, the e2e tests' clock start."""
    return datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# The table.


@dataclass
class Table:
    """Rows of (section, metric, value per backend), printed as a markdown table."""

    backends: list[str]
    rows: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def add(self, metric: str, backend: str, value: str) -> None:
        if metric not in self._index:
            self._index[metric] = len(self.rows)
            self.rows.append((metric, {}))
        self.rows[self._index[metric]][1][backend] = value

    def render(self) -> str:
        header = ["Measurement", *self.backends]
        body = [[metric, *(values.get(b, "") for b in self.backends)] for metric, values in self.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

        def line(cells: list[str]) -> str:
            padded = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
            return "| " + " | ".join(padded) + " |"

        rule = "|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|"
        return "\n".join([line(header), rule, *(line(cells) for cells in body)])


# Running a benchmark.

BackendRun = Callable[["Databases", argparse.Namespace, "Table", list[str]], Awaitable[None]]


async def run_on_backends(title: str, args: argparse.Namespace, run_backend: BackendRun, detail: str = "") -> int:
    """Run on SQLite (and PostgreSQL with --postgres), print the machine (and `detail`), the table and any
    failed check."""
    table = Table(["SQLite"] + (["PostgreSQL"] if args.postgres else []))
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cohort-bench-") as folder:
        for postgres_url in [None, args.postgres] if args.postgres else [None]:
            async with Databases(Path(folder), postgres_url) as dbs:
                await run_backend(dbs, args, table, failures)
    machine = await machine_line(args.postgres)
    print(f"{title} — {machine}{f'; {detail}' if detail else ''}.\n")
    print(table.render())
    if failures:
        shown = failures[:20] + ([f"... and {len(failures) - 20} more"] if len(failures) > 20 else [])
        print("\nFAILED CHECKS:\n" + "\n".join(f"- {f}" for f in shown))
        return 1
    return 0
