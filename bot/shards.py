"""Which servers this process works on: the shards it runs, as a test in Python and as a filter in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from bot.db.models import Cohort

SNOWFLAKE_SHIFT = 22
"""Discord: a guild's shard is `(guild_id >> 22) % shard_count`; the low 22 bits are worker, process and counter."""
_SHIFT_DIVISOR = 1 << SNOWFLAKE_SHIFT
DM_SHARD = 0
"""Discord delivers DMs on shard 0, so work that belongs to no server (DMs) is the shard-0 owner's."""


@dataclass(frozen=True)
class Ownership:
    """The shards one process runs out of `count`; with all of them (the default) it owns every server."""

    count: int = 1
    ids: frozenset[int] = frozenset({0})

    @classmethod
    def of(cls, count: int, ids: Iterable[int]) -> Ownership:
        return cls(count, frozenset(ids))

    def __post_init__(self) -> None:
        if self.count < 1 or not self.ids or not all(0 <= i < self.count for i in self.ids):
            raise ValueError(f"shards {sorted(self.ids)} are not a non-empty subset of 0..{self.count - 1}")

    @property
    def everything(self) -> bool:
        return len(self.ids) == self.count

    @property
    def share(self) -> float:
        """Our part of the bot's shards: Discord's global rate limit is the bot's, so each process gets this part."""
        return len(self.ids) / self.count

    @property
    def owns_dms(self) -> bool:
        return DM_SHARD in self.ids

    def shard_of(self, guild_id: int) -> int:
        return (guild_id >> SNOWFLAKE_SHIFT) % self.count

    def owns(self, guild_id: int | None) -> bool:
        """A server of one of our shards; `None` (no server: a DM) is the shard-0 owner's."""
        if guild_id is None:
            return self.owns_dms
        return self.shard_of(guild_id) in self.ids

    def where(self, guild_id: InstrumentedAttribute[int] | InstrumentedAttribute[int | None]) -> ColumnElement[bool]:
        """A WHERE clause keeping the rows of our servers (a NULL server counts as a DM), the same on both dialects.

        `//` renders as `/` on integer columns, which is integer division on SQLite and on PostgreSQL bigint alike
        (snowflakes are positive, so truncation and floor agree); a plain `/` would be true division in SQLAlchemy 2.
        """
        if self.everything:
            return true()
        shard = (guild_id // _SHIFT_DIVISOR) % self.count
        mine = shard.in_(sorted(self.ids))
        return or_(guild_id.is_(None), mine) if self.owns_dms else mine

    def cohorts(self, cohort_id: InstrumentedAttribute[int] | InstrumentedAttribute[int | None]) -> ColumnElement[bool]:
        """A WHERE clause keeping the rows of cohorts in our servers (rows of no cohort count as DMs)."""
        if self.everything:
            return true()
        mine = cohort_id.in_(select(Cohort.id).where(self.where(Cohort.guild_id)))
        return or_(cohort_id.is_(None), mine) if self.owns_dms else mine


EVERYTHING = Ownership()
"""One process with every server: the bot without shard settings, the demo, most tests."""
