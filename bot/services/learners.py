"""A learner's own preferences in a server: timezone, reminder delivery and hour, and whether DMs work."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import LearnerSettings, Membership, ReminderDelivery
from bot.db.upsert import locked_row

DEFAULT_REMINDER_HOUR = 18


@dataclass(frozen=True)
class LearnerPrefs:
    """Preferences with defaults filled in; `timezone` is None until the learner sets one."""

    timezone: str | None
    delivery: ReminderDelivery
    reminder_hour: int
    dms_closed: bool

    def zone_or(self, cohort_timezone: str) -> str:
        """The learner's timezone, else the cohort's (SPEC: "learner's timezone, else the cohort's")."""
        return self.timezone or cohort_timezone


DEFAULT_PREFS = LearnerPrefs(None, ReminderDelivery.DM, DEFAULT_REMINDER_HOUR, False)


class LearnerService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def prefs(self, guild_id: int, user_id: int) -> LearnerPrefs:
        async with self._sessions() as session:
            row = await _row(session, guild_id, user_id)
        return as_prefs(row)

    async def prefs_many(self, guild_id: int, user_ids: list[int]) -> dict[int, LearnerPrefs]:
        """Preferences of many learners in one query; those without a row get the defaults."""
        if not user_ids:
            return {}
        async with self._sessions() as session:
            rows = await session.scalars(
                select(LearnerSettings).where(
                    LearnerSettings.guild_id == guild_id, LearnerSettings.user_id.in_(user_ids)
                )
            )
            found = {row.user_id: as_prefs(row) for row in rows}
        return {user_id: found.get(user_id, DEFAULT_PREFS) for user_id in user_ids}

    async def update(
        self,
        guild_id: int,
        user_id: int,
        *,
        timezone: str | None = None,
        delivery: ReminderDelivery | None = None,
        reminder_hour: int | None = None,
    ) -> LearnerPrefs:
        """Change what was given; changing the delivery also forgets that DMs were closed."""
        async with self._sessions.begin() as session:
            row = await _locked_row(session, guild_id, user_id, self._clock)
            if timezone is not None:
                row.timezone = timezone
            if delivery is not None:
                row.reminder_delivery = delivery
                row.dms_closed = False
            if reminder_hour is not None:
                row.reminder_hour = reminder_hour
            row.updated_at = self._clock.now()
            await session.flush()
            return as_prefs(row)

    async def mark_dms_closed(self, guild_id: int, user_id: int) -> None:
        """Discord refused a DM (50007): stop trying until the learner changes their settings.

        Only for someone the bot still knows here: a notice that was on its way when they erased their
        data must not bring a settings row back."""
        async with self._sessions.begin() as session:
            row = await _row(session, guild_id, user_id)
            if row is None:
                enrolled = await session.scalar(
                    select(Membership.id).where(Membership.guild_id == guild_id, Membership.user_id == user_id).limit(1)
                )
                if enrolled is None:
                    return
                row = await _locked_row(session, guild_id, user_id, self._clock)
            row.dms_closed = True
            row.updated_at = self._clock.now()


def as_prefs(row: LearnerSettings | None) -> LearnerPrefs:
    if row is None:
        return DEFAULT_PREFS
    return LearnerPrefs(row.timezone, row.reminder_delivery, row.reminder_hour, row.dms_closed)


async def _row(session: AsyncSession, guild_id: int, user_id: int) -> LearnerSettings | None:
    query = select(LearnerSettings).where(LearnerSettings.guild_id == guild_id, LearnerSettings.user_id == user_id)
    return (await session.scalars(query)).first()


async def _locked_row(session: AsyncSession, guild_id: int, user_id: int, clock: Clock) -> LearnerSettings:
    """The learner's settings row, created with the defaults if missing (two /settings at once create one)."""
    defaults = {
        "timezone": None,
        "reminder_delivery": ReminderDelivery.DM,
        "reminder_hour": DEFAULT_REMINDER_HOUR,
        "dms_closed": False,
        "updated_at": clock.now(),
    }
    return await locked_row(session, LearnerSettings, {"guild_id": guild_id, "user_id": user_id}, defaults)
