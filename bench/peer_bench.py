"""Peer review benchmark: assigning reviewers when a week closes, for cohorts of 10, 100 and 1,000 members.

Usage (from the repository root):

    .venv/bin/python -m bench.peer_bench                       # SQLite, 10 / 100 / 1,000 members, 3 peers each
    .venv/bin/python -m bench.peer_bench --members 10 100 1000 5000 --reviewers 2
    .venv/bin/python -m bench.peer_bench --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench

Prints a markdown table (one column per cohort size and database) to stdout. Exits 1 if a check fails (a
submission without its peers, a self-review, a reviewer outside the week's submitters, an unbalanced load, a
second sweep that assigns again); timings never fail it. Not collected by pytest.

For each size, on a fresh migrated database, the real services (`PeerReviewService` over `CohortService`):
a cohort of N members who all handed in week 1 (bulk-inserted) is swept once its deadline passes (the first
round: N x reviewers assignments and one DM owed per reviewer), then swept again with nothing to do (the
usual minute). Week 2 is handed in by everyone and assigned avoiding week 1's pairs; then 10% of week 2's
reviewers let their deadline pass while the rest review, and the sweep passes those on. The outbox is not
drained (only its rows are written). SQL statements are counted with a `before_cursor_execute` listener.
`--postgres URL` WIPES the public schema of that database (taking the test suite's advisory lock first).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.common import Databases, Table, check_postgres_option, ms, run_on_backends, timed, wired
from bot.clock import ManualClock
from bot.db.models import (
    Membership,
    MembershipStatus,
    OutboxMessage,
    PeerAssignment,
    PeerReview,
    PeerState,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
)
from bot.services.cohorts import NewCohort
from bot.services.peer_review import PEER_ASSIGNED

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
DEADLINE_1 = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
GUILD = 1


async def seed_members(sessions: async_sessionmaker[AsyncSession], cohort_id: int, count: int) -> list[int]:
    async with sessions.begin() as session:
        rows = [
            {
                "cohort_id": cohort_id, "guild_id": GUILD, "user_id": 10_000 + i, "display_name": f"m{i}",
                "status": MembershipStatus.ACTIVE, "joined_at": START, "left_at": None,
            }
            for i in range(count)
        ]
        return list((await session.scalars(insert(Membership).returning(Membership.id), rows)).all())


async def hand_in(
    sessions: async_sessionmaker[AsyncSession], cohort_id: int, members: list[int], week: int, at: datetime
) -> None:
    async with sessions.begin() as session:
        rows = [
            {
                "cohort_id": cohort_id, "membership_id": m, "week": week, "status": SubmissionStatus.PENDING,
                "current_version": 1, "created_at": at, "updated_at": at,
            }
            for m in members
        ]
        ids = list((await session.scalars(insert(Submission).returning(Submission.id), rows)).all())
        await session.execute(
            insert(SubmissionVersion),
            [{"submission_id": s, "version": 1, "link": f"https://example.org/{s}", "late": False,
              "submitted_at": at} for s in ids],
        )


async def week_assignments(sessions: async_sessionmaker[AsyncSession], week: int) -> list[tuple]:
    async with sessions() as session:
        rows = await session.execute(
            select(PeerAssignment.id, PeerAssignment.reviewer_id, Submission.membership_id, PeerAssignment.state)
            .join(Submission, Submission.id == PeerAssignment.submission_id)
            .where(PeerAssignment.week == week)
        )
        return list(rows.all())


def check_round(rows: list[tuple], members: list[int], reviewers: int, label: str, failures: list[str]) -> None:
    k = min(reviewers, len(members) - 1)
    per_author = Counter(author for _, _, author, _ in rows)
    per_reviewer = Counter(reviewer for _, reviewer, _, _ in rows)
    if any(per_author[m] != k for m in members):
        failures.append(f"{label}: a submission without exactly {k} peers")
    if any(reviewer == author for _, reviewer, author, _ in rows):
        failures.append(f"{label}: a self-review")
    if set(per_reviewer) - set(members):
        failures.append(f"{label}: a reviewer who did not hand in")
    if per_reviewer and max(per_reviewer.values()) - min(per_reviewer.values()) > 1:
        failures.append(f"{label}: loads {min(per_reviewer.values())}-{max(per_reviewer.values())}")


async def run_size(dbs: Databases, size: int, reviewers: int, table: Table, failures: list[str]) -> None:
    column = dbs.backend
    label = f"{size:,} members"
    url = await dbs.fresh(f"peer-{size}")
    clock = ManualClock(START)
    async with wired(url, clock) as (engine, sessions, services):
        services.outbox.shutdown()  # owed rows are written, not delivered: this measures assignment alone
        cohorts, peer = services.cohorts, services.peer
        view = await cohorts.create(
            NewCohort(GUILD, "Bench", "ml-ai-study-guide", "2026-03-02", channel_id=2, created_by=1)
        )
        await peer.configure(GUILD, "Bench", reviewers, False, 3, by=1)
        await services.runner.settle()  # the schedule run a new cohort starts is not part of what is counted
        members = await seed_members(sessions, view.id, size)
        await hand_in(sessions, view.id, members, 1, START + timedelta(days=1))

        clock.set(DEADLINE_1 + timedelta(minutes=1))
        report, seconds, statements = await timed(peer.sweep, engine)
        table.add(f"{label} · week 1 closes: assignments made", column, f"{report.assigned:,}")
        table.add(f"{label} · week 1 closes: SQL statements", column, str(statements))
        table.add(f"{label} · week 1 closes: time", column, ms(seconds))
        check_round(await week_assignments(sessions, 1), members, reviewers, f"{label} week 1 ({column})", failures)
        async with sessions() as session:
            owed_dms = select(OutboxMessage.id).where(OutboxMessage.kind == PEER_ASSIGNED)
            dms = len((await session.scalars(owed_dms)).all())
        if dms != size:
            failures.append(f"{label} ({column}): {dms} reviewer DMs owed for {size} reviewers")

        clock.set(DEADLINE_1 + timedelta(minutes=2))
        again, seconds, statements = await timed(peer.sweep, engine)
        table.add(f"{label} · a minute later (nothing to do): SQL statements", column, str(statements))
        table.add(f"{label} · a minute later (nothing to do): time", column, ms(seconds))
        if again.assigned or again.closed:
            failures.append(f"{label} ({column}): the second sweep changed {again.assigned + again.closed} assignments")

        await hand_in(sessions, view.id, members, 2, DEADLINE_1 + timedelta(days=1))
        clock.set(DEADLINE_1 + WEEK + timedelta(minutes=1))
        _, seconds, statements = await timed(peer.sweep, engine)
        week_2 = await week_assignments(sessions, 2)
        check_round(week_2, members, reviewers, f"{label} week 2 ({column})", failures)
        met = {frozenset((r, a)) for _, r, a, _ in await week_assignments(sessions, 1)}
        repeats = sum(frozenset((r, a)) in met for _, r, a, _ in week_2)
        table.add(f"{label} · week 2 closes: SQL statements", column, str(statements))
        table.add(f"{label} · week 2 closes: time", column, ms(seconds))
        table.add(f"{label} · week 2: pairs repeated from week 1", column, f"{repeats} of {len(week_2):,}")

        lapsing = {assignment_id for i, (assignment_id, *_rest) in enumerate(week_2) if i % 10 == 0}
        async with sessions.begin() as session:
            done = [a for a, *_rest in week_2 if a not in lapsing]
            await session.execute(
                update(PeerAssignment).where(PeerAssignment.id.in_(done)).values(state=PeerState.DONE)
            )
            await session.execute(
                insert(PeerReview),
                [{"assignment_id": a, "version": 1, "verdicts": ["met"], "submitted_at": clock.now()} for a in done],
            )
        clock.set(DEADLINE_1 + WEEK + timedelta(days=3, minutes=2))
        passed, seconds, statements = await timed(peer.sweep, engine)
        table.add(f"{label} · 10% lapse, passed on: reassigned", column, f"{passed.assigned:,} of {passed.closed:,}")
        table.add(f"{label} · 10% lapse, passed on: SQL statements", column, str(statements))
        table.add(f"{label} · 10% lapse, passed on: time", column, ms(seconds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--reviewers", type=int, default=3, choices=(1, 2, 3))
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    check_postgres_option(parser, args.postgres)

    async def run_backend(dbs: Databases, args: argparse.Namespace, table: Table, failures: list[str]) -> None:
        for size in args.members:
            await run_size(dbs, size, args.reviewers, table, failures)

    title = f"Peer review assignment, {args.reviewers} peers per submission"
    return asyncio.run(run_on_backends(title, args, run_backend))


if __name__ == "__main__":
    sys.exit(main())
