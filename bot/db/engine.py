"""The async engine and session factory; on SQLite, write transactions serialise as they do on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from bot.config import DEFAULT_POOL_SIZE
from bot.db.fair_pool import FairPool
from bot.db.one_trip import OneTripConnection, OneTripDBAPI

WRITES = "cohort_bot_writes"
"""Execution option marking the connections of units of work that write (see `Sessions.begin`)."""
POOL_TIMEOUT = 30.0
"""Seconds a unit of work waits for a PostgreSQL connection before failing (SQLAlchemy's default)."""
GENERIC_PLANS = {"plan_cache_mode": "force_generic_plan"}
"""asyncpg prepares each statement once per connection; PostgreSQL then planned its first five runs on each connection
anew for their values (custom plans) before settling on one plan. With twenty connections, a hundred interactions
were all planned anew: a third of PostgreSQL's CPU under load and the first burst's slowest answers. The bot's
statements find rows by keys and indexes; with one plan for all values the load benchmark's phases took less CPU,
the bot's and PostgreSQL's (README, Load)."""
BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the write lock before failing; far longer than any write holds it."""


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE, pool_timeout: float = POOL_TIMEOUT
) -> AsyncEngine:
    """An engine for `url`; for a SQLite file, its folder is created and pragmas are set per connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_async_engine(url, echo=echo, connect_args={"server_settings": GENERIC_PLANS},
                                     poolclass=FairPool, pool_size=pool_size, max_overflow=0, pool_timeout=pool_timeout)
        event.listen(engine.sync_engine.pool, "checkout", _refuse_closed)
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, connect_args={"factory": RollbackOnClose}, module=OneTripDBAPI())
    event.listen(engine.sync_engine, "connect", _sqlite_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


async def open_pool(engine: AsyncEngine) -> None:
    """Open the connections the pool keeps (PostgreSQL's; one on SQLite, whose pool opens as it goes) and check that
    each answers: opened as needed instead, the first burst of interactions waited for twenty new backends."""
    keeps = engine.pool.size() if engine.dialect.name == "postgresql" else 1  # type: ignore[attr-defined]
    async with AsyncExitStack() as held:  # all held at once, so that each is a connection of its own
        for _ in range(keeps):
            connection = await held.enter_async_context(engine.connect())
            await connection.execute(text("SELECT 1"))


def _refuse_closed(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
    """A pooled PostgreSQL connection the server closed (a restart, a terminated backend) is replaced at checkout.

    asyncpg notices the closed socket as soon as the event loop reads it, so this costs no round trip. SQLAlchemy's
    `pool_pre_ping` instead sent a `BEGIN`, a ping and a `ROLLBACK` before every unit of work."""
    driver = record.driver_connection
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this connection")


class RollbackOnClose(sqlite3.Connection):
    """A SQLite connection that ends its transaction before it closes.

    Closing a connection while a cursor still holds an unfinished statement leaves SQLite with a "zombie"
    connection that keeps its transaction, and so the write lock, until that cursor is garbage-collected.
    That happens when work is cancelled mid-transaction (a stop, a cut-off job): SQLAlchemy then closes the
    connection instead of returning it, and a traceback kept in a log record can hold the cursor for good,
    so every later writer, a restarted bot included, found the database locked. A rollback releases the
    lock whatever cursors are left."""

    def close(self) -> None:
        try:
            if self.in_transaction:
                self.rollback()
        finally:
            super().close()


def _sqlite_connect(dbapi_connection: DBAPIConnection, _record: object) -> None:
    # SQLAlchemy's recipe for pysqlite/aiosqlite: the driver's own BEGIN comes only before an INSERT or
    # UPDATE, so a transaction's reads ran outside it. With the driver's BEGIN off, `_sqlite_begin` emits it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    mode = _switch_to_wal(cursor)
    in_wal = mode is not None and str(mode[0]).lower() == "wal"  # not for an in-memory database
    cursor.execute("PRAGMA synchronous=NORMAL")
    if in_wal and isinstance(dbapi_connection, OneTripConnection):
        # Commits run on the event loop; the checkpoint a commit would start runs on the thread (one_trip.py).
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        dbapi_connection.in_wal = True
    cursor.close()


def _switch_to_wal(cursor: DBAPICursor) -> Any:
    """`PRAGMA journal_mode=WAL`, tried again while the database is locked, up to the busy timeout.

    Switching a new database needs its lock from a connection that has read it, and SQLite refuses that at once
    rather than wait (waiting could deadlock), so a second process or engine opening a new file while the first
    migrated it failed to start (1 start in 10 in `test_two_processes_migrating_at_once_take_turns`). Runs on the
    driver's thread, where connections open."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return cursor.fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _sqlite_begin(connection: Connection) -> None:
    # A writer takes the write lock at BEGIN, waiting (busy_timeout) for the one holding it, so what it
    # reads cannot change before it writes: SQLite's equivalent of PostgreSQL's row locks. A deferred
    # transaction that upgrades to writing later would instead fail at once if another writer came first.
    # Readers keep a deferred BEGIN: in WAL mode they see one snapshot and never wait.
    immediate = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class WriterTurns:
    """The writers of one SQLite engine queue here, first come first served, before they `BEGIN IMMEDIATE`.

    SQLite's busy handler makes a waiting writer poll with growing sleeps (up to 100 ms each), so fifty
    writers waiting inside SQLite finish in a random order, seconds apart; in this queue each starts the
    moment the previous one commits, holding no connection meanwhile. `busy_timeout` still covers other
    processes (a migration, the command line). A unit of work opened inside another by the same task does
    not queue behind itself: it meets SQLite's lock as before."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[object] | None = None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            yield
            return
        async with self._lock:
            self._holder = task
            try:
                yield
            finally:
                self._holder = None


_turns: weakref.WeakKeyDictionary[Engine, WriterTurns] = weakref.WeakKeyDictionary()


class LoopClosedSession(AsyncSession):
    """A session that closes where it runs.

    SQLAlchemy's `async with` exit closes a session in a task of its own, shielded from cancellation, so that a
    cancelled caller cannot abandon a rollback halfway over the network. That task starts on the loop's next turn,
    behind every interaction in flight: each session kept its connection (and a writer its turn) that much longer,
    fifty interactions needed more connections than the pool keeps, and waiting for the pool made the slowest
    answers twice the median. Here a close has nothing to send, so no cancellation can land inside it: on SQLite it
    runs on the event loop (one_trip.py); on PostgreSQL reads run in autocommit and a unit of work has committed or
    rolled back when `session.begin()` exited."""

    async def __aexit__(self, type_: object, value: object, traceback: object) -> None:
        await self.close()


class Sessions(async_sessionmaker[AsyncSession]):
    """`sessions()` opens a session for reading; `sessions.begin()` a unit of work that writes.

    On SQLite a unit of work waits its turn (`WriterTurns`) and begins with `BEGIN IMMEDIATE` (see
    `_sqlite_begin`). On PostgreSQL the services lock the rows they decide on (`with_for_update()`), and reads run
    in autocommit: at READ COMMITTED each statement sees its own snapshot anyway, so a `BEGIN` and a `ROLLBACK`
    around them were two round trips that changed nothing. Objects stay readable after commit (no lazy loads)."""

    def __init__(self, engine: AsyncEngine) -> None:
        sqlite = engine.dialect.name == "sqlite"
        reader = engine if sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
        super().__init__(reader, class_=LoopClosedSession, expire_on_commit=False)
        self._writer = engine.execution_options(**{WRITES: True})
        self._turns = _turns.setdefault(engine.sync_engine, WriterTurns()) if sqlite else None

    # SQLAlchemy annotates begin() with its private context-manager class; this one is used alike (async with).
    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:  # type: ignore[override]
        async with self._turn(), self(bind=self._writer) as session, session.begin():
            yield session

    def _turn(self) -> AbstractAsyncContextManager[None]:
        return self._turns.turn() if self._turns is not None else nullcontext()


def session_factory(engine: AsyncEngine) -> Sessions:
    """One session per unit of work: see `Sessions`."""
    return Sessions(engine)
