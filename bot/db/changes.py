"""How many rows an INSERT, UPDATE or DELETE touched, with the result type the checker can see."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import UpdateBase


async def rows_changed(session: AsyncSession, statement: UpdateBase) -> int:
    """Run a data-changing statement (no RETURNING) in `session`; the number of rows it touched."""
    result = await session.execute(statement)
    # Such a statement always yields a CursorResult; AsyncSession.execute is only annotated as Result.
    return cast(CursorResult[Any], result).rowcount
