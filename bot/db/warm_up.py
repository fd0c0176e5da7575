"""At start, every pooled PostgreSQL connection prepares and plans the statements the commands run most."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.base import Executable

AT_MOST = text("SET LOCAL statement_timeout = 200")
"""No warming statement may run longer than 200 ms: a slow one is cancelled, after PostgreSQL planned it."""


async def prepare_everywhere(engine: AsyncEngine, statements: Sequence[Executable]) -> None:
    """Run each statement once on every pooled connection, with every parameter NULL, and roll it all back.

    asyncpg prepares a statement per connection, and PostgreSQL plans it there on its first run. A burst of fifty
    interactions reaches all twenty connections at once, so the first burst of each command paid for that twenty
    times over, on both sides, while the answers queued behind it (README, Load). With its parameters NULL, a
    statement that filters by them finds no row, so it changes nothing and locks nothing. One with no parameter of
    its own is left out: it would read the same rows each time, or it is the base other statements are built on
    (without their WHERE, it would read a whole table). It runs through a session, as the services run it, so its
    SQL text is the one they send and asyncpg's cache finds it. SQLite prepares in-process: nothing to do."""
    runnable = [(statement, nulls) for statement in statements if (nulls := null_parameters(statement))]
    if engine.dialect.name != "postgresql" or not runnable:
        return
    async with AsyncExitStack() as held:  # all held at once, so that each is a connection of its own
        keeps = engine.pool.size()  # type: ignore[attr-defined]
        connections = [await held.enter_async_context(engine.connect()) for _ in range(keeps)]
        # A task group, not gather: if one connection fails, the others stop before their connections are closed.
        async with asyncio.TaskGroup() as group:
            for connection in connections:
                group.create_task(_prepare_on(connection, runnable))


async def _prepare_on(connection: AsyncConnection, runnable: Sequence[tuple[Executable, dict[str, Any]]]) -> None:
    async with AsyncSession(bind=connection) as session:
        for statement, nulls in runnable:
            if not session.in_transaction():
                await session.execute(AT_MOST)
            try:
                await session.execute(statement, nulls)
            except StatementError:
                await session.rollback()  # the transaction is spoilt; the next statement begins another
        await session.rollback()


def null_parameters(statement: Executable) -> dict[str, Any]:
    """NULL for each parameter the statement leaves open (a one-NULL list for an IN list, as one value renders)."""
    binds = statement.compile().binds  # type: ignore[attr-defined]
    return {name: [None] if bind.expanding else None for name, bind in binds.items() if bind.required}
