"""SQLAlchemy's aiosqlite adapter: what SQLite answers without waiting runs on the event loop, the rest in one trip.

aiosqlite runs every call on the connection's own thread and hands each result back through the event loop's
self-pipe. For the small indexed statements of a command that hand-off costs several times the statement: two
context switches, a pipe write and an epoll wake-up, and the GIL changing hands (under fifty interactions at once,
a fifth of the process's CPU was system time). So what cannot wait for another connection runs right here: every
read (in WAL mode a reader works from its snapshot and never waits for a writer), a deferred `BEGIN`, a rollback,
`BEGIN IMMEDIATE` when the write lock is free (tried without waiting), everything in a transaction holding that
lock, and its `COMMIT` (in WAL mode a commit appends to the log; the checkpoint that copies the log into the
database, which may wait for the disk, is not left to the commit that crosses SQLite's threshold but runs every
`COMMITS_PER_CHECKPOINT` commits on the thread). Only what may wait goes to aiosqlite's thread, so a busy database
never stalls the event loop: `BEGIN IMMEDIATE` while another process (the command line, a backup) holds the lock,
a write outside such a transaction, the checkpoint, closing. There the whole statement is one function (SQLAlchemy's
own adapter awaited the thread four times per statement: cursor, execute, fetch, close).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)

Outcome = tuple[Any, list[Any], int | None, int]
"""What a statement left: its description, its rows, lastrowid and rowcount (as SQLAlchemy's adapter keeps them)."""

log = logging.getLogger(__name__)

TAKES_THE_WRITE_LOCK = "BEGIN IMMEDIATE"
COMMITS_PER_CHECKPOINT = 100
"""Our transactions write a few pages each: near SQLite's own threshold of 1,000 pages between checkpoints."""
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
"""Copies what it can into the database without waiting for readers or writers."""


def _execute(connection: sqlite3.Connection, operation: str, parameters: Any) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, [], cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _executemany(connection: sqlite3.Connection, operation: str, parameters: Any) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return None, [], cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


def _lock_if_free(connection: sqlite3.Connection, operation: str, _parameters: Any) -> Outcome | None:
    """`BEGIN IMMEDIATE` only if no other connection holds the write lock; None (and no transaction) if one does."""
    (waits,) = connection.execute("PRAGMA busy_timeout").fetchone()
    connection.execute("PRAGMA busy_timeout=0")
    try:
        return _execute(connection, operation, None)
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
            raise
        return None
    finally:
        connection.execute(f"PRAGMA busy_timeout={int(waits)}")


def never_waits(operation: str, write_locked: bool) -> bool:
    """Whether SQLite runs `operation` without waiting for another connection's lock."""
    if write_locked:
        return True
    return operation == "BEGIN" or operation.lstrip()[:6].upper() == "SELECT"


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(_execute, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(_executemany, operation, seq_of_parameters)

    def _run(self, function: Any, operation: Any, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        try:
            if never_waits(operation, adapted.write_locked):
                outcome = adapted.here(function, connection._conn, operation, parameters)
            elif operation == TAKES_THE_WRITE_LOCK and adapted.in_wal and (
                locked := adapted.here(_lock_if_free, connection._conn, operation, parameters)
            ):
                outcome, adapted.write_locked = locked, True
            else:
                outcome = adapted.on_thread(function, operation, parameters)
                adapted.write_locked = operation == TAKES_THE_WRITE_LOCK
        except Exception as error:
            adapted._handle_exception(error)
        self.description, rows, self.lastrowid, self.rowcount = outcome
        self._rows = deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("in_wal", "write_locked")

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.write_locked = False
        """Inside a transaction that began with `BEGIN IMMEDIATE`: nothing in it waits for a lock any more."""
        self.in_wal = False
        """Set when the connection is set up (engine.py): only in WAL mode do readers and commits never wait."""

    def on_thread(self, function: Any, *arguments: Any) -> Any:
        """Run `function` on aiosqlite's thread, through the queue its own calls use (`_execute`, private, as the
        adapter's `_conn` is)."""
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        return self.await_(connection._execute(function, connection._conn, *arguments))

    def here(self, function: Any, *arguments: Any) -> Any:
        """Run `function` on the event loop's thread, handing SQLAlchemy the awaitable it expects of an async driver."""
        done = asyncio.get_running_loop().create_future()
        done.set_result(function(*arguments))
        return self.await_(done)

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return AsyncAdapt_aiosqlite_ss_cursor(self) if server_side else OneTripCursor(self)

    def rollback(self) -> None:
        self.write_locked = False  # a rollback releases the lock at once: it never waits
        try:
            self.here(self._connection._conn.rollback)
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        try:
            if not self.in_wal:
                super().commit()  # a rollback journal's commit waits for readers: on the thread
                return
            self.here(self._connection._conn.commit)
        except Exception as error:
            self._handle_exception(error)
        finally:
            self.write_locked = False
        dbapi: OneTripDBAPI = self.dbapi
        dbapi.commits += 1
        if dbapi.commits % COMMITS_PER_CHECKPOINT == 0:
            try:
                self.on_thread(_execute, CHECKPOINT, None)
            except sqlite3.Error as error:  # the commit stands: the next checkpoint copies what this one could not
                log.warning("could not checkpoint the SQLite log: %s", error)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """Passed as `module=` to the engine: SQLAlchemy's aiosqlite DBAPI whose connections hand out `OneTripCursor`s."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.commits = 0
        """Commits on this engine's connections, for the checkpoint every `COMMITS_PER_CHECKPOINT`."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        # The loop's thread runs statements too (see above): aiosqlite's thread and it take turns, never at once.
        kw["check_same_thread"] = False
        return OneTripConnection(self, super().connect(*arg, **kw)._connection)
