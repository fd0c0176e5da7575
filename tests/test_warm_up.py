"""At start every pooled PostgreSQL connection prepares the services' statements, with the services' SQL, and writes
nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy import Integer, bindparam, event, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import ManualClock
from bot.db.engine import create_engine, session_factory
from bot.db.models import Base, Membership
from bot.db.warm_up import null_parameters, prepare_everywhere
from bot.services.activity import OWN_ZONE
from bot.services.cohorts import NewCohort
from bot.services.hot_statements import hot_statements
from bot.wiring import build_services
from tests.fake_port import FakePort

WEEK_1 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
GUILD, CHANNEL, MODERATOR, LEARNER = 10, 20, 30, 40
POOL = 3
POSTGRES_ONLY = "SQLite prepares in-process: the warm-up does nothing there"


@pytest_asyncio.fixture
async def pooled(engine: AsyncEngine, database_url: str) -> AsyncIterator[AsyncEngine]:
    """A second engine on the migrated database, as the bot opens it, with a small pool."""
    own = create_engine(database_url, pool_size=POOL)
    try:
        yield own
    finally:
        await own.dispose()


async def prepared_on(connection: AsyncConnection) -> set[str]:
    return set((await connection.scalars(text("SELECT statement FROM pg_prepared_statements"))).all())


async def row_counts(connection: AsyncConnection) -> dict[str, int]:
    return {t.name: (await connection.scalar(select(func.count()).select_from(t))) or 0
            for t in Base.metadata.sorted_tables}


async def test_every_pooled_connection_prepares_the_hot_statements_and_nothing_is_written(
    pooled: AsyncEngine, database_url: str
) -> None:
    statements = hot_statements()
    with_parameters = [statement for statement in statements if null_parameters(statement)]
    sent: list[str] = []
    event.listen(pooled.sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    async with pooled.connect() as connection:
        before = await row_counts(connection)
    sent.clear()
    await prepare_everywhere(pooled, statements)
    async with AsyncExitStack() as held:
        connections = [await held.enter_async_context(pooled.connect()) for _ in range(POOL)]
        if pooled.dialect.name != "postgresql":
            assert sent == []  # SQLite prepares in-process: nothing is run
            return
        # Each statement with a parameter (the rest are left out) and the timeout that bounds them.
        assert len(set(sent)) == len(with_parameters) + 1
        warmed = {sql for sql in sent if not sql.startswith("SET LOCAL")}
        for connection in connections:
            assert warmed <= await prepared_on(connection)
        assert await row_counts(connections[0]) == before


async def test_a_check_in_after_the_warm_up_prepares_nothing_new(pooled: AsyncEngine, database_url: str) -> None:
    if pooled.dialect.name != "postgresql":
        pytest.skip(POSTGRES_ONLY)
    services = build_services(session_factory(pooled), ManualClock(WEEK_1), FakePort())
    try:
        await services.cohorts.create(NewCohort(
            guild_id=GUILD, name="Spring", roadmap_id="ml-ai-study-guide", start="2026-03-02", channel_id=CHANNEL,
            created_by=MODERATOR,
        ))
        await services.runner.settle()
        await services.enrolment.join(GUILD, "Spring", LEARNER, "ada")
        await pooled.dispose()  # new connections, which have prepared nothing yet
        await prepare_everywhere(pooled, hot_statements())
        sent: list[str] = []
        event.listen(pooled.sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
        async with AsyncExitStack() as held:
            connections = [await held.enter_async_context(pooled.connect()) for _ in range(POOL)]
            warm = [await prepared_on(connection) for connection in connections]
        await services.progress.check_in(GUILD, LEARNER, 30, None)
        # Its INSERT is left out (hot_statements): its columns are the call's. It ran 5 queries and an UPDATE.
        queried = {sql for sql in sent if not sql.startswith("INSERT")}
        assert len(queried) == 6
        # Whichever connection the check-in had, each of them was prepared there already.
        assert [queried - prepared for prepared in warm] == [set()] * POOL
    finally:
        await services.close()


async def test_a_statement_that_would_run_long_is_cut_off_and_one_without_parameters_is_not_run(
    pooled: AsyncEngine, database_url: str
) -> None:
    if pooled.dialect.name != "postgresql":
        pytest.skip(POSTGRES_ONLY)
    # With its parameter NULL this one would sleep a day; without the bound, the pytest timeout fails the test.
    sleeper = select(func.pg_sleep(86_400)).where(bindparam("unset", type_=Integer).is_(None))
    whole_table = select(Membership)
    sent: list[str] = []
    event.listen(pooled.sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    await prepare_everywhere(pooled, [sleeper, whole_table, OWN_ZONE])
    assert not any("FROM memberships" in sql for sql in sent)
    async with AsyncExitStack() as held:
        connections = [await held.enter_async_context(pooled.connect()) for _ in range(POOL)]
        own_zone_sql = next(sql for sql in sent if "learner_settings" in sql)
        for connection in connections:
            assert own_zone_sql in await prepared_on(connection)
