"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest
import pytest_asyncio
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade_to_head

POSTGRES_PROBE_TIMEOUT = 3.0
# Tests that reset the shared PostgreSQL database take this advisory lock first, so two pytest runs
# on the same server take turns instead of dropping each other's tables.
POSTGRES_TEST_LOCK = 0x636F686F7274  # "cohort"


class PostgresStatus(NamedTuple):
    """The TEST_DATABASE_URL to use, or why the PostgreSQL tests are skipped (`skip`) or broken (`fail`)."""

    url: str | None
    skip: str | None = None
    fail: str | None = None


def _postgres_problem(url: str) -> PostgresStatus:
    """Whether a PostgreSQL server accepts a connection at `url`."""
    import asyncpg

    parsed = make_url(url)
    if parsed.drivername != "postgresql+asyncpg":
        return PostgresStatus(None, fail=f"TEST_DATABASE_URL must be postgresql+asyncpg://..., not {parsed.drivername}")
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)

    async def probe() -> None:
        connection = await asyncpg.connect(dsn, timeout=POSTGRES_PROBE_TIMEOUT)
        await connection.close()

    try:
        # Its own thread and event loop, so the probe never touches the loops pytest-asyncio manages.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except (OSError, TimeoutError) as exc:
        host = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
        return PostgresStatus(None, skip=f"no PostgreSQL server answers at {host} ({type(exc).__name__})")
    except Exception as exc:
        # A server answered but refused us (bad password, no such database): that needs fixing, not skipping.
        return PostgresStatus(
            None, fail=f"PostgreSQL at TEST_DATABASE_URL refused the test connection: {type(exc).__name__}: {exc}"
        )
    return PostgresStatus(url)


@pytest.fixture(scope="session")
def postgres_status() -> PostgresStatus:
    """Probed once per session: can the PostgreSQL half of `database_url` run?"""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url:
        return PostgresStatus(None, skip="TEST_DATABASE_URL is not set")
    return _postgres_problem(url)


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_status: PostgresStatus
) -> AsyncIterator[str]:
    """An empty database: a fresh SQLite file, or the TEST_DATABASE_URL database with its schema dropped."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/bot.db"
        return
    url = postgres_status.url
    if postgres_status.fail:
        pytest.fail(postgres_status.fail, pytrace=False)
    if url is None:
        pytest.skip(postgres_status.skip or "PostgreSQL is not available")
    engine = create_engine(url)
    try:
        async with engine.connect() as guard:
            await guard.execute(text("SET lock_timeout = '120s'"))
            await guard.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRES_TEST_LOCK})
            await guard.execute(text("DROP SCHEMA public CASCADE"))
            await guard.execute(text("CREATE SCHEMA public"))
            await guard.commit()
            try:
                yield url
            finally:
                await guard.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRES_TEST_LOCK})
                await guard.commit()
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on `database_url` with every migration applied."""
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite file alone, for what only SQLite has (its locks, its adapter)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/bot.db")
    try:
        await upgrade_to_head(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The bot's session factory on the migrated `engine`."""
    return session_factory(engine)
