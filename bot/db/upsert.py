"""Creating a row that two units of work may create at once, alike on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Base

M = TypeVar("M", bound=Base)


DIALECT_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
"""Each dialect's `insert`, which has the `on_conflict_…` clauses (the generic one does not), by dialect name."""


def insert_for(session: AsyncSession) -> Any:
    """The `insert` of the session's dialect (see DIALECT_INSERTS)."""
    return DIALECT_INSERTS[session.bind.dialect.name]


def insert_unless_present(session: AsyncSession, model: type[Base], unique: list[str]) -> Any:
    """`INSERT … ON CONFLICT (unique) DO NOTHING` on either dialect: a row that already exists is left alone."""
    return insert_for(session)(model).on_conflict_do_nothing(index_elements=unique)


async def locked_row(session: AsyncSession, model: type[M], key: dict[str, Any], defaults: dict[str, Any]) -> M:
    """The row whose unique `key` is given, created from `defaults` when missing, locked until commit.

    A plain read-then-add would let two transactions both find nothing and the second fail on the
    unique constraint; "insert unless present" makes the second wait for the first and then find its row.
    """
    await session.execute(insert_unless_present(session, model, list(key)).values(**key, **defaults))
    return (await session.scalars(select(model).filter_by(**key).with_for_update())).one()
