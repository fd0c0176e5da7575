"""Creating a row that two units of work may create at once, alike on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Base

M = TypeVar("M", bound=Base)


def insert_for(session: AsyncSession) -> Any:
    """The dialect's `insert`, which has `on_conflict_do_nothing` (the generic one does not)."""
    return postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert


async def locked_row(session: AsyncSession, model: type[M], key: dict[str, Any], defaults: dict[str, Any]) -> M:
    """The row whose unique `key` is given, created from `defaults` when missing, locked until commit.

    A plain read-then-add would let two transactions both find nothing and the second fail on the
    unique constraint; "insert unless present" makes the second wait for the first and then find its row.
    """
    statement = insert_for(session)(model).values(**key, **defaults).on_conflict_do_nothing(index_elements=list(key))
    await session.execute(statement)
    return (await session.scalars(select(model).filter_by(**key).with_for_update())).one()
