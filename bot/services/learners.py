"""A learner's own preferences in a server (timezone, reminder delivery and hour, whether DMs work) and /settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Cohort, LearnerSettings, Membership, MembershipStatus, ReminderDelivery
from bot.db.upsert import locked_row
from bot.errors import InvalidInput, NotFound
from bot.schedule.reminder_rules import next_daily
from bot.services.activity import own_zone
from bot.services.cohorts import OPEN_STATUSES
from bot.services.parsing import parse_timezone
from bot.services.streak_book import zone_changed

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


@dataclass(frozen=True)
class SettingsView:
    """A learner's settings as /settings shows them."""

    prefs: LearnerPrefs
    cohorts: tuple[str, ...]
    zone: str | None
    """The zone reminders use: theirs, else their first cohort's (None when in no cohort)."""
    next_reminder: datetime | None


class LearnerService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def prefs(self, guild_id: int, user_id: int) -> LearnerPrefs:
        async with self._sessions() as session:
            row = await _row(session, guild_id, user_id)
        return as_prefs(row)

    async def settings(self, guild_id: int, user_id: int) -> SettingsView:
        prefs = await self.prefs(guild_id, user_id)
        return self._view(prefs, await self._cohorts_of(guild_id, user_id))

    async def change_settings(
        self,
        guild_id: int,
        user_id: int,
        *,
        timezone: str | None = None,
        delivery: str | None = None,
        reminder_hour: int | None = None,
    ) -> SettingsView:
        """Validate everything first, then refuse people in no cohort; only then change anything."""
        zone = parse_timezone(timezone) if timezone is not None else None
        how = _delivery(delivery) if delivery is not None else None
        if reminder_hour is not None and not 0 <= reminder_hour <= 23:
            raise InvalidInput(
                f"{reminder_hour} is not an hour of the day. Use 0 to 23, for example 18 for 18:00 (6 pm)."
            )
        cohorts = await self._cohorts_of(guild_id, user_id)
        if not cohorts:
            raise NotFound(
                "You are not in any cohort on this server, so there is nothing to remind you of. "
                "Use /join first, then /settings."
            )
        prefs = await self.update(guild_id, user_id, timezone=zone, delivery=how, reminder_hour=reminder_hour)
        return self._view(prefs, cohorts)

    def _view(self, prefs: LearnerPrefs, cohorts: list[tuple[str, str]]) -> SettingsView:
        zone = prefs.timezone or (cohorts[0][1] if cohorts else None)
        upcoming = None
        if zone is not None and cohorts and prefs.delivery is not ReminderDelivery.OFF:
            upcoming = next_daily(self._clock.now(), prefs.reminder_hour, zone)
        return SettingsView(prefs, tuple(name for name, _ in cohorts), zone, upcoming)

    async def _cohorts_of(self, guild_id: int, user_id: int) -> list[tuple[str, str]]:
        """(name, timezone) of the cohorts this person is in on this server, the longest-held first."""
        async with self._sessions() as session:
            rows = await session.execute(
                select(Cohort.name, Cohort.timezone)
                .join(Membership, Membership.cohort_id == Cohort.id)
                .where(
                    Membership.guild_id == guild_id,
                    Membership.user_id == user_id,
                    Membership.status == MembershipStatus.ACTIVE,
                    Cohort.status.in_(OPEN_STATUSES),
                )
                .order_by(Membership.joined_at, Cohort.id)
            )
            return [(name, zone) for name, zone in rows.all()]

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
            if timezone is not None and timezone != await own_zone(session, guild_id, user_id):
                await zone_changed(session, guild_id, user_id, self._clock.now())
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


def _delivery(value: str) -> ReminderDelivery:
    try:
        return ReminderDelivery(value.strip().lower())
    except ValueError:
        raise InvalidInput(f"'{value}' is not a way I can remind you. Choose dm, channel or off.") from None


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
