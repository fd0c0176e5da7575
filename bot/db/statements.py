"""Counting the SQL statements an engine sends: one counter for the tests and the benchmarks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class StatementCounter:
    count: int = 0

    def __call__(self, _connection: object, _cursor: object, statement: str, *_args: object) -> None:
        # The BEGIN the bot sends on SQLite (bot/db/engine.py) is not a query; asyncpg's is not seen at all.
        if not statement.startswith("BEGIN"):
            self.count += 1


@contextlib.contextmanager
def counting_statements(target: AsyncEngine | type[Engine] = Engine) -> Iterator[StatementCounter]:
    """Count statements sent to the driver by one engine, or by every engine (the default: `Engine`)."""
    counter = StatementCounter()
    sync_target = target.sync_engine if isinstance(target, AsyncEngine) else target
    event.listen(sync_target, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(sync_target, "before_cursor_execute", counter)
