"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and enforce uniqueness."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.engine import create_engine, session_factory
from bot.db.migrate import alembic_config, script_heads, upgrade_to_head
from bot.db.models import (
    AwardStatus,
    Base,
    BotState,
    Cohort,
    CohortStatus,
    DailyStreak,
    Delivery,
    DeliveryState,
    Membership,
    MembershipStatus,
    RoadmapVersion,
    TierAward,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _schema_diff(connection: Connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _current_revision(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
        return [row[0] for row in rows]


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def test_upgrade_on_empty_database_matches_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == set()
        await upgrade_to_head(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(_table_names)
            diff = await connection.run_sync(_schema_diff)
        assert tables == {*Base.metadata.tables, "alembic_version"}
        assert diff == []
        assert await _current_revision(engine) == [_head()]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # several processes need PostgreSQL
async def test_processes_starting_together_on_an_empty_database_migrate_one_at_a_time(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        # Each on its own connection; bounded, since without the lock two DDL transactions can wait on each other.
        await asyncio.wait_for(asyncio.gather(*(upgrade_to_head(engine) for engine in engines)), 60)
        async with engines[0].connect() as connection:
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        assert set(versions) == script_heads() and len(versions) == 1
    finally:
        for engine in engines:
            await engine.dispose()


def test_the_heads_read_from_the_migration_files_are_alembics() -> None:
    assert script_heads() == {_head()}


def test_an_up_to_date_database_is_checked_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    upgrade = (
        "import asyncio, sys\n"
        "from bot.db.engine import create_engine\n"
        "from bot.db.migrate import upgrade_to_head\n"
        f"asyncio.run(upgrade_to_head(create_engine({url!r})))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    first, again = (
        subprocess.run([sys.executable, "-c", upgrade], capture_output=True, text=True, timeout=120, check=True)
        for _ in range(2)
    )
    assert first.stdout.strip() != "[]", "the fresh database was migrated by Alembic"
    assert again.stdout.strip() == "[]", again.stdout + again.stderr


async def test_second_upgrade_is_a_no_op(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        session.add(BotState(key="commands_hash", value="abc123", updated_at=NOW))

    await upgrade_to_head(engine)

    assert await _current_revision(engine) == [_head()]
    async with engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []
    async with sessions() as session:
        state = await session.get(BotState, "commands_hash")
        assert state is not None
        assert (state.value, state.updated_at) == ("abc123", NOW)


async def _cohort(session: AsyncSession) -> Cohort:
    version = RoadmapVersion(
        guild_id=0,
        roadmap_id="ml-ai-study-guide",
        version=1,
        title="ML/AI Learning Roadmap",
        yaml_text="id: ml-ai-study-guide\n",
        sha256="0" * 64,
        created_at=NOW,
    )
    session.add(version)
    await session.flush()
    cohort = Cohort(
        guild_id=111,
        name="Spring 2026",
        name_key="spring 2026",
        roadmap_id="ml-ai-study-guide",
        roadmap_version_id=version.id,
        timezone="Europe/Berlin",
        start_date=date(2026, 1, 5),
        post_time=time(9, 0),
        channel_id=222,
        status=CohortStatus.ACTIVE,
        created_by=333,
        created_at=NOW,
    )
    session.add(cohort)
    await session.flush()
    return cohort


def _membership(cohort: Cohort, user_id: int) -> Membership:
    return Membership(
        cohort_id=cohort.id,
        guild_id=cohort.guild_id,
        user_id=user_id,
        display_name=f"learner {user_id}",
        status=MembershipStatus.ACTIVE,
        joined_at=NOW,
    )


def _delivery(cohort: Cohort, *, period: str) -> Delivery:
    return Delivery(
        kind="week_post",
        subject=f"cohort:{cohort.id}",
        period=period,
        cohort_id=cohort.id,
        state=DeliveryState.CLAIMED,
        due_at=NOW,
        claimed_at=NOW,
    )


async def test_membership_is_unique_per_cohort_and_user(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        cohort = await _cohort(session)
        session.add(_membership(cohort, 444))
        session.add(_membership(cohort, 555))  # another learner in the same cohort is fine

    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(_membership(cohort, 444))

    async with sessions() as session:
        users = (await session.scalars(select(Membership.user_id).order_by(Membership.user_id))).all()
    assert users == [444, 555]


async def test_delivery_is_unique_per_kind_subject_and_period(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        cohort = await _cohort(session)
        session.add(_delivery(cohort, period="week-1"))
        session.add(_delivery(cohort, period="week-2"))  # another period of the same subject is fine

    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            session.add(_delivery(cohort, period="week-1"))

    async with sessions() as session:
        periods = (await session.scalars(select(Delivery.period).order_by(Delivery.period))).all()
    assert periods == ["week-1", "week-2"]


async def test_award_status_accepts_retired_and_still_refuses_unknown_values(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        cohort = await _cohort(session)
        membership = _membership(cohort, 444)
        session.add(membership)
        await session.flush()
        session.add(TierAward(membership_id=membership.id, tier_key="beginner", status=AwardStatus.RETIRED,
                              attempts=0, earned_at=NOW, next_attempt_at=NOW))

    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            await session.execute(
                text("UPDATE tier_awards SET status = 'lost' WHERE membership_id = :m"), {"m": membership.id}
            )

    async with sessions() as session:
        award = await session.scalar(select(TierAward))
    assert award is not None and (award.status, award.next_attempt_at) == (AwardStatus.RETIRED, NOW)


async def test_kept_streaks_from_before_0013_are_all_recomputed_and_every_member_gets_a_row(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0012_approved"))
        sessions = session_factory(engine)
        async with sessions.begin() as session:
            cohort = await _cohort(session)
            kept, without, erased = _membership(cohort, 444), _membership(cohort, 555), _membership(cohort, -7)
            session.add_all([kept, without, erased])
            await session.flush()
            later = NOW + timedelta(hours=5)
            session.add(DailyStreak(membership_id=kept.id, cohort_id=cohort.id, zone="Europe/Berlin", run=3, best=4,
                                    computed_at=later, holds_until=None))
        await upgrade_to_head(engine)
        async with sessions() as session:
            rows = {r.membership_id: r for r in await session.scalars(select(DailyStreak))}
        assert set(rows) == {kept.id, without.id}, "an erased member keeps no row"
        assert (rows[kept.id].run, rows[kept.id].holds_until) == (3, later), "kept, but no longer holding"
        placeholder = rows[without.id]
        assert (placeholder.run, placeholder.best, placeholder.computed_at, placeholder.holds_until) == (
            0, 0, NOW, NOW
        ), "a row that does not hold, so that the board recomputes them"
    finally:
        await engine.dispose()
