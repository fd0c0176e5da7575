"""Runs Alembic migrations on an async engine, from the CLI or from the bot's start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import WRITES

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py uses a given connection instead of opening its own (Alembic's connection-sharing recipe).
    config.attributes["connection"] = connection
    return config


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Apply every pending migration inside one transaction on `engine` (on SQLite it holds the write lock,
    so a second process starting at the same moment waits, then finds nothing left to do)."""
    async with engine.execution_options(**{WRITES: True}).begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
