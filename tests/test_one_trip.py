"""The SQLite adapter: what cannot wait runs on the event loop's thread; a wait for the lock never stalls it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import one_trip
from bot.db.engine import session_factory
from bot.db.models import BotState
from bot.db.one_trip import never_waits

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@contextmanager
def threads_of_statements(engine: AsyncEngine) -> Iterator[list[tuple[str, bool]]]:
    """(statement, ran on this thread) for each statement SQLite runs on the engine's connections."""
    seen: list[tuple[str, bool]] = []
    here = threading.get_ident()

    def trace(statement: str) -> None:
        seen.append((" ".join(statement.split())[:40], threading.get_ident() == here))

    def on_checkout(dbapi_connection: object, _record: object, _proxy: object) -> None:
        dbapi_connection._connection._conn.set_trace_callback(trace)  # type: ignore[attr-defined]

    event.listen(engine.sync_engine, "checkout", on_checkout)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "checkout", on_checkout)


async def test_reads_and_writes_run_here_while_the_write_lock_is_free(sqlite_engine: AsyncEngine) -> None:
    sessions = session_factory(sqlite_engine)
    with threads_of_statements(sqlite_engine) as seen:
        async with sessions() as session:
            await session.scalar(select(BotState.value).where(BotState.key == "x"))
        async with sessions.begin() as session:
            session.add(BotState(key="x", value="1", updated_at=NOW))
            await session.flush()
            await session.execute(select(BotState.value))
    where = [(" ".join(statement.split()[:2]) if statement.startswith("BEGIN") else statement.split()[0], on_loop)
             for statement, on_loop in seen if not statement.startswith("PRAGMA busy_timeout")]
    assert where == [
        ("BEGIN", True), ("SELECT", True), ("ROLLBACK", True),  # a reader never waits
        ("BEGIN IMMEDIATE", True),  # the lock was free: taken at once, without waiting
        ("INSERT", True), ("SELECT", True),  # the lock is held: nothing waits any more
        ("COMMIT", True),  # in WAL mode a commit appends to the log (the checkpoint is not left to it)
    ]


async def test_a_writer_waiting_for_another_process_leaves_the_event_loop_free(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    sessions = session_factory(sqlite_engine)
    other = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)  # another process, holding the write lock
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO bot_state (key, value, updated_at) VALUES ('other', '1', '2026-03-02 09:00:00')")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def write() -> None:
        async with sessions.begin() as session:
            session.add(BotState(key="mine", value="1", updated_at=NOW))

    ticker = asyncio.create_task(tick())
    writer = asyncio.create_task(write())
    watching = threads_of_statements(sqlite_engine)
    seen = watching.__enter__()
    try:
        await asyncio.sleep(0.5)
        assert not writer.done()  # still waiting for the lock ...
        assert ticks >= 10  # ... on aiosqlite's thread: the loop went on
        async with sessions() as session:  # and a reader is answered meanwhile (WAL), from its snapshot
            assert await session.scalar(select(BotState.value).where(BotState.key == "other")) is None
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 10)
    finally:
        watching.__exit__(None, None, None)
        ticker.cancel()
        other.close()
    # Tried here without waiting, refused (busy), then taken on the thread once the other process let go.
    assert [on_loop for statement, on_loop in seen if statement.startswith("BEGIN IMMEDIATE")] == [True, False]
    async with sessions() as session:
        assert set((await session.scalars(select(BotState.key))).all()) >= {"other", "mine"}


async def test_a_failed_write_under_the_lock_rolls_back_and_the_next_writer_takes_it_again(
    sqlite_engine: AsyncEngine,
) -> None:
    sessions = session_factory(sqlite_engine)
    with pytest.raises(Exception, match="UNIQUE"):
        async with sessions.begin() as session:
            session.add(BotState(key="dup", value="1", updated_at=NOW))
            await session.flush()
            session.add(BotState(key="dup", value="2", updated_at=NOW))
            await session.flush()
    with threads_of_statements(sqlite_engine) as seen:
        async with sessions.begin() as session:
            session.add(BotState(key="dup", value="3", updated_at=NOW))
    assert [on_loop for statement, on_loop in seen if statement.startswith("BEGIN")] == [True]
    async with sessions() as session:
        assert await session.scalar(select(BotState.value).where(BotState.key == "dup")) == "3"


async def test_the_log_is_checkpointed_on_the_thread_every_so_many_commits(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(one_trip, "COMMITS_PER_CHECKPOINT", 3)
    sessions = session_factory(sqlite_engine)
    async with sqlite_engine.connect() as connection:  # SQLite's own checkpoint, which a commit would run, is off
        assert (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
    with threads_of_statements(sqlite_engine) as seen:
        for k in range(6):
            async with sessions.begin() as session:
                session.add(BotState(key=f"k{k}", value="1", updated_at=NOW))
    checkpoints = [on_loop for statement, on_loop in seen if "wal_checkpoint" in statement]
    assert checkpoints == [False, False]  # one every third commit (of six in a row), on the thread


@pytest.mark.parametrize(
    ("operation", "write_locked", "expected"),
    [
        ("SELECT 1", False, True),
        ("  select 1", False, True),
        ("BEGIN", False, True),
        ("BEGIN IMMEDIATE", False, False),
        ("INSERT INTO t VALUES (1)", False, False),
        ("INSERT INTO t VALUES (1)", True, True),
        ("PRAGMA journal_mode=WAL", False, False),
        ("WITH x AS (SELECT 1) DELETE FROM t", False, False),
    ],
)
def test_what_never_waits(operation: str, write_locked: bool, expected: bool) -> None:
    assert never_waits(operation, write_locked) is expected
