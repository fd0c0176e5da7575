"""PostgreSQL connections: the pool opened whole at start, first come first served, never one beyond it; their plans."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import DEFAULT_POOL_SIZE
from bot.db.engine import create_engine, open_pool
from bot.db.fair_pool import HandOffQueue
from tests.test_engine import postgres_only


async def served_in_turn(queue: asyncio.Queue[str]) -> list[str]:
    """Two units wait; a third returns a connection and at once asks for one (as a command's next unit of work
    does); then two more connections come back. What each of the three got, in order of arrival."""
    first, second = asyncio.create_task(queue.get()), asyncio.create_task(queue.get())
    await asyncio.sleep(0)

    async def give_back_and_ask() -> str:
        queue.put_nowait("a")
        return await queue.get()

    newcomer = asyncio.create_task(give_back_and_ask())
    await asyncio.sleep(0)
    queue.put_nowait("b")
    queue.put_nowait("c")
    return list(await asyncio.gather(first, second, newcomer))


async def test_a_returned_connection_goes_to_the_longest_waiter_not_to_a_newcomer() -> None:
    assert await served_in_turn(asyncio.Queue(2)) == ["b", "c", "a"], "asyncio's own queue lets the newcomer barge"
    queue: HandOffQueue[str] = HandOffQueue(2)
    assert await served_in_turn(queue) == ["a", "b", "c"]
    assert queue.empty() and not queue.someone_waits()


async def test_a_connection_handed_to_a_wait_cancelled_meanwhile_goes_to_the_next_in_line() -> None:
    queue: HandOffQueue[str] = HandOffQueue(1)
    given_up = asyncio.create_task(queue.get())
    patient = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("a")
    given_up.cancel()  # before it ran: the item was already its own
    assert await patient == "a"
    with pytest.raises(asyncio.CancelledError):
        await given_up
    assert queue.empty() and not queue.someone_waits()


async def test_a_cancelled_wait_leaves_the_line() -> None:
    queue: HandOffQueue[str] = HandOffQueue(1)
    given_up = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    given_up.cancel()
    with pytest.raises(asyncio.CancelledError):
        await given_up
    assert not queue.someone_waits()
    queue.put_nowait("a")
    assert await queue.get() == "a"


async def test_fifty_units_at_once_share_the_pool_in_arrival_order_on_postgres(engine: AsyncEngine) -> None:
    await postgres_only(engine)
    pooled = create_engine(engine.url.render_as_string(hide_password=False))
    opened: list[object] = []
    event.listen(pooled.sync_engine, "connect", lambda *_: opened.append(object()))
    started: list[int] = []
    try:
        async def unit(number: int) -> None:
            async with pooled.connect() as connection:
                started.append(number)
                await connection.execute(text("SELECT pg_sleep(0.01)"))

        await asyncio.gather(*(unit(number) for number in range(50)))
        await asyncio.gather(*(unit(number) for number in range(50, 100)))
    finally:
        await pooled.dispose()
    # The first DEFAULT_POOL_SIZE open connections, in whatever order their sockets open (on a loaded machine one can
    # still be opening when the first comes back); everyone after them waited, and was served in turn.
    waiters = [number for number in started if number >= DEFAULT_POOL_SIZE]
    assert waiters == list(range(DEFAULT_POOL_SIZE, 100))
    assert sorted(started) == list(range(100))
    assert len(opened) == DEFAULT_POOL_SIZE, "a connection was opened beyond the pool (and closed again on return)"


async def test_a_unit_that_waits_too_long_for_a_connection_fails_and_leaves_the_pool_whole(
    engine: AsyncEngine,
) -> None:
    await postgres_only(engine)
    pooled = create_engine(engine.url.render_as_string(hide_password=False), pool_timeout=0.2)
    try:
        release = asyncio.Event()

        async def hold() -> None:
            async with pooled.connect() as connection:
                await connection.execute(text("SELECT 1"))
                await release.wait()

        holders = [asyncio.create_task(hold()) for _ in range(DEFAULT_POOL_SIZE)]
        await asyncio.sleep(0.1)
        with pytest.raises(exc.TimeoutError):
            async with pooled.connect():
                pass
        release.set()
        await asyncio.gather(*holders)
        assert pooled.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with pooled.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await pooled.dispose()


async def test_the_pool_is_opened_whole_at_start(engine: AsyncEngine) -> None:
    """PostgreSQL's connections (DATABASE_POOL_SIZE) are opened before the first interaction needs one; SQLite's
    pool opens as it goes."""
    pooled = create_engine(engine.url.render_as_string(hide_password=False), pool_size=3)
    opened: list[object] = []
    event.listen(pooled.sync_engine, "connect", lambda *_: opened.append(object()))
    try:
        await open_pool(pooled)
        assert len(opened) == (3 if engine.dialect.name == "postgresql" else 1)
        assert pooled.pool.checkedin() == len(opened)  # type: ignore[attr-defined]
        async with pooled.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
        assert len(opened) == (3 if engine.dialect.name == "postgresql" else 1)
    finally:
        await pooled.dispose()


async def test_postgres_connections_plan_each_statement_once(engine: AsyncEngine) -> None:
    """Not anew for the first five runs on each connection: see `GENERIC_PLANS`."""
    await postgres_only(engine)
    async with engine.connect() as connection:
        assert await connection.scalar(text("SHOW plan_cache_mode")) == "force_generic_plan"
