"""SQLite units of work: writers take turns from their first read, readers see one snapshot and never wait."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.db.engine import WRITES, Sessions, create_engine, session_factory
from bot.db.migrate import upgrade_to_head
from bot.db.models import BotState

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def counter(sessions: Sessions) -> int:
    async with sessions() as session:
        state = await session.get(BotState, "counter")
        return int(state.value) if state else 0


async def add_one(
    sessions: Sessions, holding: asyncio.Event | None = None, release: asyncio.Event | None = None
) -> None:
    """Read the counter and write it plus one, in one unit of work (optionally pausing before commit)."""
    async with sessions.begin() as session:
        state = await session.get(BotState, "counter")
        value = int(state.value) if state else 0
        await session.merge(BotState(key="counter", value=str(value + 1), updated_at=NOW))
        await session.flush()
        if holding is not None and release is not None:
            holding.set()
            await release.wait()


async def test_a_writer_waits_for_the_one_holding_the_lock_and_reads_what_it_committed(
    sqlite_engine: AsyncEngine,
) -> None:
    sessions = session_factory(sqlite_engine)
    # The second writer is another engine on the same file, as another process would be: within one
    # engine writers queue before BEGIN (see the next test); across processes SQLite's lock does it.
    other = create_engine(str(sqlite_engine.url))
    holding, release, second_begins = asyncio.Event(), asyncio.Event(), asyncio.Event()

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement == "BEGIN IMMEDIATE" and holding.is_set():
            second_begins.set()

    event.listen(other.sync_engine, "before_cursor_execute", seen)
    try:
        first = asyncio.create_task(add_one(sessions, holding, release))
        await holding.wait()
        second = asyncio.create_task(add_one(session_factory(other)))
        await second_begins.wait()
        await asyncio.sleep(0.05)  # let its BEGIN IMMEDIATE reach SQLite, where it waits for the lock
        release.set()
        await asyncio.gather(first, second)
    finally:
        await other.dispose()
    # Without the lock taken at BEGIN both would have read 0 and written 1 (a lost update).
    assert await counter(sessions) == 2


async def test_writers_of_one_engine_take_turns_in_arrival_order_before_begin(sqlite_engine: AsyncEngine) -> None:
    sessions = session_factory(sqlite_engine)
    holding, release = asyncio.Event(), asyncio.Event()
    begins: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    first = asyncio.create_task(add_one(sessions, holding, release))
    await holding.wait()
    event.listen(sqlite_engine.sync_engine, "before_cursor_execute", seen)
    order: list[int] = []

    async def numbered(n: int) -> None:
        await add_one(sessions)
        order.append(n)

    waiting = [asyncio.create_task(numbered(n)) for n in range(5)]
    await asyncio.sleep(0.05)
    assert begins == [], "while one writer holds SQLite's lock the others wait in the queue, not inside SQLite"
    release.set()
    await asyncio.gather(first, *waiting)
    assert order == [0, 1, 2, 3, 4]
    assert await counter(sessions) == 6


async def test_many_writers_at_once_lose_no_update(sqlite_engine: AsyncEngine) -> None:
    sessions = session_factory(sqlite_engine)
    await asyncio.gather(*(add_one(sessions) for _ in range(50)))
    assert await counter(sessions) == 50


async def test_a_reader_sees_one_snapshot_and_does_not_wait_for_a_writer(sqlite_engine: AsyncEngine) -> None:
    sessions = session_factory(sqlite_engine)
    await add_one(sessions)
    holding, release = asyncio.Event(), asyncio.Event()
    async with sessions() as reader:
        before = (await reader.scalars(select(BotState.value))).all()
        writer = asyncio.create_task(add_one(sessions, holding, release))
        await holding.wait()
        # The writer holds the lock and has not committed: the reader is not kept waiting.
        assert (await reader.scalars(select(BotState.value))).all() == before
        release.set()
        await writer
        # Committed now, but the reader's transaction still sees the state it began with.
        assert (await reader.scalars(select(BotState.value))).all() == before == ["1"]
    assert await counter(sessions) == 2


async def test_two_processes_migrating_at_once_take_turns(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    engines = [create_engine(url), create_engine(url)]
    try:
        await asyncio.gather(*(upgrade_to_head(engine) for engine in engines))
        async with engines[0].connect() as connection:
            versions = (await connection.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
        assert len(versions) == 1
    finally:
        for engine in engines:
            await engine.dispose()


def write_lock_is_free(path: Path) -> bool:
    """Whether another process could start writing at once (no waiting on the lock)."""
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


async def test_a_connection_given_up_mid_transaction_leaves_no_write_lock_behind(tmp_path: Path) -> None:
    """A unit of work cut off mid-transaction (a stop, a cancelled job) makes SQLAlchemy close its connection.
    A cursor still holding an unfinished statement, kept alive by a traceback for instance, must not keep
    the write lock: a restarted bot found the database locked for good."""
    path = tmp_path / "bot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade_to_head(engine)
        async with engine.execution_options(**{WRITES: True}).connect() as connection:
            await connection.execute(text("INSERT INTO bot_state (key, value, updated_at) VALUES ('k', 'v', :at)"),
                                     {"at": NOW})
            raw = await connection.get_raw_connection()
            unfinished = await raw.driver_connection.execute("SELECT name FROM sqlite_master")
            assert await unfinished.fetchone() is not None
            assert not await asyncio.to_thread(write_lock_is_free, path)
            await connection.invalidate()
        assert await asyncio.to_thread(write_lock_is_free, path)
        assert unfinished is not None  # still referenced: only the rollback can have freed the lock
    finally:
        await engine.dispose()


async def test_a_session_closes_without_giving_the_loop_a_turn(sessions: Sessions) -> None:
    """SQLAlchemy's own exit closes in a task of its own, a turn of the loop later: under load every session kept
    its connection behind all the interactions in flight."""
    async with sessions() as session:
        assert await session.scalar(text("SELECT 1")) == 1
        others = []
        asyncio.get_running_loop().call_soon(others.append, "ran")
    assert others == [], "the close waited for the loop's next turn"
    await asyncio.sleep(0)
    assert others == ["ran"]


async def postgres_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's connections and transactions")


async def test_postgres_reads_run_in_autocommit_and_units_of_work_in_one_transaction(engine: AsyncEngine) -> None:
    await postgres_only(engine)
    sessions = session_factory(engine)
    transaction = text(
        "SELECT virtualtransaction FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'virtualxid'"
    )
    async with sessions() as session:
        first, second = await session.scalar(transaction), await session.scalar(transaction)
    assert first != second, "a read session's statements ran in one transaction: a BEGIN and a ROLLBACK too many"
    async with sessions.begin() as session:
        first, second = await session.scalar(transaction), await session.scalar(transaction)
    assert first == second
    with pytest.raises(RuntimeError):
        async with sessions.begin() as session:
            await add_one_in(session)
            raise RuntimeError("given up")
    assert await counter(sessions) == 0, "a unit of work given up was rolled back"


async def add_one_in(session: AsyncSession) -> None:
    await session.merge(BotState(key="counter", value="1", updated_at=NOW))
    await session.flush()


async def test_a_postgres_connection_the_server_closed_is_replaced_before_use(engine: AsyncEngine) -> None:
    """A restart or a terminated backend closes the pool's idle connections: the next unit of work gets a new one
    (checked without a round trip, where `pool_pre_ping` sent three)."""
    await postgres_only(engine)
    sessions = session_factory(engine)
    backend = text("SELECT pg_backend_pid()")
    async with sessions() as session:
        pid = await session.scalar(backend)
    outside = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        async with outside.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):
                gone = not await other.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                              {"pid": pid})
                if gone:
                    break
                await asyncio.sleep(0.05)
    finally:
        await outside.dispose()
    await asyncio.sleep(0.1)  # the server has closed the socket: asyncpg notices when the loop reads it
    async with sessions() as session:
        assert await session.scalar(backend) != pid
    await add_one(sessions)
    assert await counter(sessions) == 1
