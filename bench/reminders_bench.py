"""Reminders benchmark: computing and sending the daily reminders of 10,000 learners in 100 cohorts at once.

Usage (from the repository root):

    .venv/bin/python -m bench.reminders_bench                     # SQLite, 10,000 learners in 100 cohorts
    .venv/bin/python bench/reminders_bench.py --learners 2000 --cohorts 20
    .venv/bin/python -m bench.reminders_bench --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Prints a markdown table (one column per database) to stdout and progress to stderr. Exits 1 if a
correctness check fails (a reminder missing, sent twice, sent to someone it should not go to, or a ping
that could reach anyone but its own learners); timings never fail it. Not collected by pytest.

What it measures, on a fresh database migrated with bot.db.migrate.upgrade_to_head:

a. N learners (bulk-inserted memberships) in M cohorts on one server, one channel each, every cohort in
   week 1 and every learner's daily reminder due at the same moment (18:00 UTC: the worst case, all at
   once). Their settings are mixed: 15% `channel` delivery, 5% `off`, 10% with their own timezone
   (Europe/London, UTC in March), 1% with DMs closed (the bot does not know yet), and 20% checked in
   today. The real bot runs against a Sandbox; the ManualClock is moved to 18:00 and
   - ReminderService.plan() (who is due: the recipients) is timed alone, median of --runs;
   - ReminderRunner.run_due() is timed once: claims in the ledger, DMs, channel pings, ledger updates.
     DM pacing is OFF here, to measure the bot itself (the sandbox has no global rate limit);
   - run_due() again (a restart-style sweep with nothing new) and a quiet minute sweep are timed.
   Requests to the sandbox are counted and every learner's DMs and pings are checked.
b. Pacing: P learners due at once with the production pacer (40 requests/s) to show the rate held
   against Discord's global limit of 50/s (measured from the sandbox's request log).

SQL statements are counted with a `before_cursor_execute` listener. `--postgres URL` WIPES the public
schema of that database (taking the test suite's advisory lock first).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import discord
from sqlalchemy import func, insert, select

from bench.common import (
    Checks,
    Databases,
    Table,
    bundled_versions,
    check_postgres_option,
    insert_plan,
    monday_morning,
    ms,
    progress,
    repeat,
    run_on_backends,
    same_minute_cohorts,
    timed,
    wired,
)
from bot.clock import ManualClock
from bot.db.models import CheckIn, Delivery, DeliveryState, LearnerSettings, Membership, MembershipStatus
from bot.harness import RunningBot, start_bot
from bot.pacing import DISCORD_SAFE_RATE, Pacer
from bot.sandbox import Member, Sandbox, World
from bot.schedule.reminder_rules import DAILY_REMINDER

SEED = 20260302
MESSAGES_ROUTE = "/channels/{channel_id}/messages"
DAILY = "Daily reminder for"


# The server and its learners.


class Population:
    """Who is who: the sandbox members per cohort and what each one should get."""

    def __init__(self) -> None:
        self.channels: list[Any] = []
        self.members: list[tuple[int, Member]] = []  # (cohort index, member)
        self.channel_delivery: set[int] = set()
        self.off: set[int] = set()
        self.own_zone: set[int] = set()
        self.dms_closed: set[int] = set()
        self.checked_in: set[int] = set()

    def expected_dm(self) -> set[int]:
        return {m.id for _, m in self.members} - self.channel_delivery - self.off - self.checked_in - self.dms_closed

    def expected_ping(self) -> set[int]:
        return (self.channel_delivery | self.dms_closed) - self.off - self.checked_in


def build_world(cohorts: int, learners: int) -> tuple[World, Any, Population]:
    rng = random.Random(SEED)
    world = World(bot_name="StudyBot")
    guild = world.add_guild("Bench Study Group", channels=())
    people = Population()
    people.channels = [guild.add_text_channel(f"cohort-{i}") for i in range(cohorts)]
    for i in range(learners):
        member = guild.add_member(f"learner{i:05d}")
        people.members.append((i % cohorts, member))
        roll = rng.random()
        if roll < 0.15:
            people.channel_delivery.add(member.id)
        elif roll < 0.20:
            people.off.add(member.id)
        elif roll < 0.21:
            member.dms_closed = True
            people.dms_closed.add(member.id)
        if rng.random() < 0.10:
            people.own_zone.add(member.id)
        if rng.random() < 0.20:
            people.checked_in.add(member.id)
    return world, guild, people


async def seed(url: str, guild: Any, people: Population, opens: datetime, clock: ManualClock) -> float:
    """Cohorts (week 1 opens at `opens`), memberships, settings and today's check-ins, in bulk."""
    started = time.perf_counter()
    async with wired(url, clock) as (_engine, sessions, services):
        versions = await bundled_versions(sessions, services.catalog)
        ids = await insert_plan(
            sessions, same_minute_cohorts(versions, guild.id, [c.id for c in people.channels], opens)
        )
        joined = opens - timedelta(hours=1)
        rows = [
            {"cohort_id": ids[index], "guild_id": guild.id, "user_id": member.id, "display_name": member.name,
             "status": MembershipStatus.ACTIVE, "joined_at": joined, "left_at": None}
            for index, member in people.members
        ]
        settings = []
        for _, member in people.members:
            delivery = "channel" if member.id in people.channel_delivery else "off" if member.id in people.off else "dm"
            zone = "Europe/London" if member.id in people.own_zone else None
            if delivery != "dm" or zone is not None:
                settings.append({"guild_id": guild.id, "user_id": member.id, "timezone": zone,
                                 "reminder_delivery": delivery, "reminder_hour": 18, "dms_closed": False,
                                 "updated_at": joined})
        async with sessions.begin() as session:
            membership_ids = list((await session.scalars(
                insert(Membership).returning(Membership.id, sort_by_parameter_order=True), rows
            )).all())
            if settings:
                await session.execute(insert(LearnerSettings), settings)
            checkins = [
                {"membership_id": membership_ids[i], "local_date": opens.date(), "minutes": 30, "note": None,
                 "created_at": opens + timedelta(hours=2)}
                for i, (_, member) in enumerate(people.members) if member.id in people.checked_in
            ]
            if checkins:
                await session.execute(insert(CheckIn), checkins)
    return time.perf_counter() - started


# a. Everyone due at once.


async def daily_burst(dbs: Databases, cohorts: int, learners: int, runs: int, table: Table, checks: Checks) -> None:
    col = dbs.backend
    opens = monday_morning() + timedelta(hours=1)  # week 1 opens Monday 09:00 UTC
    moment = opens.replace(hour=18)
    clock = ManualClock(moment - timedelta(hours=1))
    world, guild, people = build_world(cohorts, learners)
    progress(f"[{col}] seeding {learners:,} learners in {cohorts} cohorts ...")
    url = await dbs.fresh("reminders")
    seed_seconds = await seed(url, guild, people, opens, clock)

    sb = Sandbox(world)
    await sb.start()
    try:
        with sb.point_discord_here():
            progress(f"[{col}] starting the bot (it posts week 1 of every cohort first) ...")
            running = await start_bot(sb, database_url=url, clock=clock)
            try:
                await measure_burst(running, sb, clock, moment, runs, people, table, checks, col)
            finally:
                await running.stop()
    finally:
        await sb.stop()
    table.add(f"a. seed: {learners:,} learners, {cohorts} cohorts (bulk insert)", col, ms(seed_seconds))


async def measure_burst(
    running: RunningBot, sb: Sandbox, clock: ManualClock, moment: datetime, runs: int,
    people: Population, table: Table, checks: Checks, col: str,
) -> None:
    bot = running.bot
    bot.port.pace = Pacer(None)  # the bot's own speed; part b shows the production pacing
    clock.set(moment)
    progress(f"[{col}] timing plan() (who is due) ...")
    plan, planning = await repeat(lambda: bot.reminders.plan(moment), runs, bot.engine)
    by_dm = sum(1 for r in plan.reminders if r.by_dm)

    progress(f"[{col}] sending {len(plan.reminders):,} reminders ...")
    before = len(sb.requests)
    with bucket_sweeps() as sweeps:
        report, seconds, statements = await timed(bot.reminder_runner.run_due, bot.engine)
    made = sb.requests[before:]
    again, again_seconds, again_statements = await timed(
        lambda: bot.reminders.run_due(moment, since=None), bot.engine
    )
    clock.set(moment + timedelta(minutes=1))
    quiet, quiet_seconds, quiet_statements = await timed(bot.reminder_runner.run_due, bot.engine)
    async with bot.sessions() as session:
        ledger = dict((await session.execute(
            select(Delivery.state, func.count()).where(Delivery.kind == DAILY_REMINDER).group_by(Delivery.state)
        )).all())

    dm_sends = [r for r in made if r.method == "POST" and r.path.endswith("/messages")
                and r.path not in {f"/channels/{c.id}/messages" for c in people.channels}]
    opens = sum(1 for r in made if r.method == "POST" and r.path == "/users/@me/channels")
    channel_posts = [r for r in made if r.method == "POST"
                     and r.path in {f"/channels/{c.id}/messages" for c in people.channels}]
    errors = [r for r in made if r.status >= 400]
    dm_received = collections.Counter(
        user_id for user_id in (m.id for _, m in people.members)
        for message in sb.dms_to(user_id) if DAILY in message.content
    )
    pinged = collections.Counter()
    bad_pings = 0
    for request in channel_posts:
        users = {int(u) for u in request.json.get("allowed_mentions", {}).get("users", [])}
        named = {int(part[2:-1]) for part in request.json["content"].split() if part.startswith("<@")}
        bad_pings += users != named or len(request.json["content"]) > 2000
        pinged.update(users)

    expected_dm, expected_ping = people.expected_dm(), people.expected_ping()
    checks.expect(set(dm_received) == expected_dm and max(dm_received.values(), default=1) == 1,
                  f"DMs: {len(dm_received)} learners got one, expected {len(expected_dm)} (or someone got two)")
    checks.expect(set(pinged) == expected_ping and max(pinged.values(), default=1) == 1,
                  f"pings: {len(pinged)} learners pinged, expected {len(expected_ping)} (or someone twice)")
    checks.expect(bad_pings == 0, f"{bad_pings} channel messages pinged someone they did not name, or were too long")
    checks.expect(again.sent == 0 and quiet.sent == 0, f"a second sweep sent {again.sent}, a quiet one {quiet.sent}")
    closed = len(people.dms_closed - people.checked_in)
    checks.expect(report.dms_refused == closed, f"{report.dms_refused} refused DMs remembered, expected {closed}")
    refused = sum(1 for r in errors if r.error_code == 50007)
    checks.expect(len(errors) == refused, f"{len(errors) - refused} requests refused other than closed DMs")

    recipients = len(plan.reminders)
    table.add("a. learners due at 18:00 (DM / channel ping) after skipping off and checked-in", col,
              f"{recipients:,} ({by_dm:,} / {recipients - by_dm:,})")
    table.add("a. compute recipients: plan(), median", col, f"{ms(planning.median)}, {planning.statements_each} SQL")
    table.add("a. claim + send + record: run_due() (DM pacing off)", col, ms(seconds))
    table.add("a.   SQL statements in run_due() (plan included)", col, f"{statements:,}")
    table.add("a.   of which discord.py scanning its rate-limit buckets (one per DM channel)", col,
              f"{ms(sweeps.seconds)} ({sweeps.calls:,} scans)")
    table.add("a.   reminders per second", col, f"{report.sent / seconds:,.0f}")
    table.add("a.   requests: DM channel opens + DMs + channel messages", col,
              f"{opens:,} + {len(dm_sends):,} + {len(channel_posts):,}")
    table.add("a.   DMs refused (50007) → channel fallback, remembered", col, f"{report.dms_refused}")
    table.add("a.   learners pinged / channel messages for them", col,
              f"{report.pinged:,} / {report.channel_messages:,}")
    table.add("a. run_due() again at once, nothing new (as after a restart)", col,
              f"{ms(again_seconds)}, {again_statements} SQL, {again.sent} sent")
    table.add("a. the next minute's sweep, nothing due", col,
              f"{ms(quiet_seconds)}, {quiet_statements} SQL, {quiet.sent} sent")
    table.add("a. ledger rows sent / failed", col,
              f"{ledger.get(DeliveryState.SENT, 0):,} / {ledger.get(DeliveryState.FAILED, 0):,}")
    requests = opens + len(dm_sends) + len(channel_posts)
    table.add(f"a. the same {requests:,} requests at the production pace ({DISCORD_SAFE_RATE:.0f}/s)", col,
              f"≥ {requests / DISCORD_SAFE_RATE:,.0f} s (computed)")


@dataclass
class BucketSweeps:
    calls: int = 0
    seconds: float = 0.0


@contextlib.contextmanager
def bucket_sweeps() -> Iterator[BucketSweeps]:
    """Time discord.py's HTTPClient._try_clear_expired_ratelimits: each new rate-limit bucket (every DM
    channel has its own) scans all buckets of the last 5 minutes, so a burst of new DM channels costs
    time quadratic in their number. Measurement only: the method itself runs unchanged."""
    found = BucketSweeps()
    original = discord.http.HTTPClient._try_clear_expired_ratelimits

    def timed_sweep(self: discord.http.HTTPClient) -> None:
        started = time.perf_counter()
        try:
            original(self)
        finally:
            found.calls += 1
            found.seconds += time.perf_counter() - started

    discord.http.HTTPClient._try_clear_expired_ratelimits = timed_sweep  # type: ignore[method-assign]
    try:
        yield found
    finally:
        discord.http.HTTPClient._try_clear_expired_ratelimits = original  # type: ignore[method-assign]


# b. The production pacing.


async def paced(dbs: Databases, learners: int, table: Table, checks: Checks) -> None:
    col = dbs.backend
    opens = monday_morning() + timedelta(hours=1)
    moment = opens.replace(hour=18)
    clock = ManualClock(moment - timedelta(hours=1))
    world, guild, people = build_world(1, learners)
    people.channel_delivery.clear()
    people.off.clear()
    people.checked_in.clear()
    people.own_zone.clear()
    people.dms_closed.clear()
    for _, member in people.members:
        member.dms_closed = False
    progress(f"[{col}] {learners} DMs at the production pace ...")
    url = await dbs.fresh("paced")
    await seed(url, guild, people, opens, clock)
    sb = Sandbox(world)
    await sb.start()
    try:
        with sb.point_discord_here():
            running = await start_bot(sb, database_url=url, clock=clock)
            try:
                clock.set(moment)
                before = len(sb.requests)
                started = time.perf_counter()
                report = await running.bot.reminder_runner.run_due()
                seconds = time.perf_counter() - started
                made = sb.requests[before:]
            finally:
                await running.stop()
    finally:
        await sb.stop()
    times = sorted(r.time for r in made)
    busiest = max((sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times)), default=0)
    checks.expect(report.dms == learners, f"paced run sent {report.dms} DMs of {learners}")
    checks.expect(busiest <= 50, f"{busiest} requests in one second: over Discord's global limit")
    table.add(f"b. {learners} DMs paced at {DISCORD_SAFE_RATE:.0f} requests/s: time, requests", col,
              f"{seconds:,.1f} s, {len(made)}")
    table.add("b.   most requests in any one second (Discord's global limit: 50)", col, str(busiest))


# Entry point.


async def main(args: argparse.Namespace) -> int:
    async def backend(dbs: Databases, args: argparse.Namespace, table: Table, failures: list[str]) -> None:
        checks = Checks(failures)
        await daily_burst(dbs, args.cohorts, args.learners, args.runs, table, checks)
        await paced(dbs, args.paced, table, checks)

    detail = f"{args.learners:,} learners in {args.cohorts} cohorts, plan() median of {args.runs} runs"
    return await run_on_backends("Reminders benchmark", args, backend, detail)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reminders_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=10_000, help="learners, spread evenly over the cohorts")
    parser.add_argument("--cohorts", type=int, default=100, help="cohorts, one channel each")
    parser.add_argument("--paced", type=int, default=400, help="DMs sent at the production pace in part b")
    parser.add_argument("--runs", type=int, default=5, help="runs per median of plan()")
    parser.add_argument("--postgres", metavar="URL", help="also run on postgresql+asyncpg://... (its schema is wiped)")
    args = parser.parse_args(argv)
    if min(args.learners, args.cohorts, args.paced, args.runs) < 1:
        parser.error("--learners, --cohorts, --paced and --runs must be at least 1")
    check_postgres_option(parser, args.postgres)
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(parse_args())))
