"""Runs Alembic migrations on an async engine, from the CLI or from the bot's start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import WRITES

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
REVISION = re.compile(r"^revision: str = ['\"]([^'\"]+)['\"]", re.MULTILINE)
DOWN_REVISION = re.compile(r"^down_revision: [^=]+= ['\"]([^'\"]+)['\"]", re.MULTILINE)
MIGRATION_LOCK = 0x6D69677261746521  # "migrate!"
"""PostgreSQL advisory lock held while migrating: bot processes starting together migrate one at a time."""


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py uses a given connection instead of opening its own (Alembic's connection-sharing recipe).
    config.attributes["connection"] = connection
    return config


def script_heads() -> set[str]:
    """The newest revisions in migrations/versions, from each file's `revision` and `down_revision` lines.

    Enough to see that a database is up to date without importing Alembic (12 MB of a running bot's memory);
    a file these lines miss only makes the check fail, and then Alembic itself decides.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revisions.update(REVISION.findall(source))
        parents.update(DOWN_REVISION.findall(source))
    return revisions - parents


async def database_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        if not await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return set()
        return set((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Apply every pending migration inside one transaction on `engine` (on SQLite it holds the write lock, on
    PostgreSQL an advisory lock, so a second process starting at the same moment waits, then finds nothing left
    to do)."""
    heads = script_heads()
    if heads and await database_revisions(engine) == heads:
        return
    from alembic import command

    async with engine.execution_options(**{WRITES: True}).begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
