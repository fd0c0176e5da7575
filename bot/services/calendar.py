"""Calendars: a cohort's week openings, checkpoint deadlines and live sessions as plain entries for an .ics file."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Cohort, Extension, LiveSession, Membership, MembershipStatus
from bot.schedule.planner import extended_deadline
from bot.services.enrolment import EnrolmentService
from bot.services.live_sessions import CohortSchedule, LiveSessionService, current_sessions

OPENING_LENGTH = timedelta(minutes=30)
"""Week openings and deadlines are moments; calendars show them as short events so they stand out."""


class EntryKind(enum.StrEnum):
    OPENING = "opening"
    DEADLINE = "deadline"
    SESSION = "session"


@dataclass(frozen=True)
class CalendarEntry:
    kind: EntryKind
    uid: str
    summary: str
    start: datetime
    end: datetime
    description: str
    location: str | None = None
    sequence: int = 0


@dataclass(frozen=True)
class CohortCalendar:
    cohort_name: str
    timezone: str
    channel_url: str
    entries: tuple[CalendarEntry, ...]
    whole_cohort: bool

    def count(self, kind: EntryKind) -> int:
        return sum(1 for entry in self.entries if entry.kind is kind)


def channel_url(guild_id: int, channel_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}"


class CalendarService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        enrolment: EnrolmentService,
        live: LiveSessionService,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._enrolment = enrolment
        self._live = live

    async def for_learner(self, guild_id: int, user_id: int, cohort_name: str | None) -> CohortCalendar:
        """The learner's cohort with their own deadlines (extensions applied)."""
        async with self._sessions() as session:
            membership, cohort = await self._enrolment.membership(session, guild_id, cohort_name, user_id)
            extended = dict(
                (await session.execute(
                    select(Extension.week, Extension.days).where(Extension.membership_id == membership.id)
                )).tuples().all()
            )
            return await self._build(session, cohort, extended, [], whole_cohort=False)

    async def for_moderator(self, guild_id: int, user_id: int, cohort_name: str | None) -> CohortCalendar:
        """The whole cohort: its own deadlines, plus one entry per learner's extended deadline."""
        view = await self._enrolment.cohort_for_reading(guild_id, cohort_name, user_id)
        async with self._sessions() as session:
            cohort = await session.get_one(Cohort, view.id)
            rows = (
                await session.execute(
                    select(Membership.user_id, Membership.display_name, Extension.week, Extension.days)
                    .join(Extension, Extension.membership_id == Membership.id)
                    .where(Membership.cohort_id == cohort.id, Membership.status == MembershipStatus.ACTIVE)
                    .order_by(Extension.week, Membership.display_name)
                )
            ).all()
            return await self._build(session, cohort, {}, [tuple(row) for row in rows], whole_cohort=True)

    async def _build(
        self,
        session: AsyncSession,
        cohort: Cohort,
        own: dict[int, int],
        others: list[tuple[int, str, int, int]],
        *,
        whole_cohort: bool,
    ) -> CohortCalendar:
        schedule = await self._live.schedule(session, cohort)
        lives = (await current_sessions(session, [cohort.id]))[cohort.id]
        url = channel_url(cohort.guild_id, cohort.channel_id)
        uid = _Uids(cohort)
        entries: list[CalendarEntry] = []
        sequence = schedule.changes
        for module in schedule.roadmap.modules:
            opened = schedule.openings.get(module.week)
            if opened is not None:
                entries.append(CalendarEntry(
                    EntryKind.OPENING,
                    uid.of(f"week-{module.week}"),
                    f"{cohort.name}: {module.label} opens · {module.title}",
                    opened, opened + OPENING_LENGTH,
                    f"{module.label} of {cohort.name} is posted in the cohort channel: {url}",
                    sequence=sequence,
                ))
            due = schedule.openings.get(module.last_week + 1)
            if due is None:
                continue
            days = own.get(module.week, 0)
            moment = extended_deadline(due, days)
            extra = f" (extended by {days} days)" if days else ""
            entries.append(CalendarEntry(
                EntryKind.DEADLINE,
                uid.of(f"checkpoint-{module.week}"),
                f"{cohort.name}: {module.label} checkpoint due · {module.checkpoint.title}{extra}",
                moment, moment + OPENING_LENGTH,
                f"Hand it in with /submit week:{module.week} in {url}",
                sequence=sequence + (1 if days else 0),
            ))
            for user_id, name, week, extended_days in others:
                if week == module.week:
                    late = extended_deadline(due, extended_days)
                    entries.append(CalendarEntry(
                        EntryKind.DEADLINE,
                        uid.of(f"checkpoint-{week}-member-{user_id}"),
                        f"{cohort.name}: {name}'s {module.label} checkpoint due (extended by {extended_days} days)",
                        late, late + OPENING_LENGTH, f"An extension for {name}. {url}", sequence=sequence,
                    ))
        for live in lives:
            entries.extend(_meetings(cohort, schedule, live, uid, url, sequence))
        return CohortCalendar(
            cohort.name, cohort.timezone, url, tuple(sorted(entries, key=lambda e: (e.start, e.uid))), whole_cohort
        )


def _meetings(
    cohort: Cohort, schedule: CohortSchedule, live: LiveSession, uid: _Uids, url: str, sequence: int
) -> list[CalendarEntry]:
    where = channel_url(cohort.guild_id, live.channel_id) if live.channel_id else (live.location or url)
    return [
        CalendarEntry(
            EntryKind.SESSION,
            uid.of(f"session-{live.id}-week-{meeting.week}"),
            f"{cohort.name}: {live.title}",
            meeting.start, meeting.end,
            f"Live session of {cohort.name}, week {meeting.week}. Talk about it in {url}",
            location=where,
            sequence=sequence,
        )
        for meeting in schedule.meetings(live)
    ]


class _Uids:
    """Stable ids: the same week, deadline or meeting keeps its UID, so a newer file updates it."""

    def __init__(self, cohort: Cohort) -> None:
        self._prefix = f"cohort-{cohort.id}"
        self._domain = f"{cohort.guild_id}.cohort-bot"

    def of(self, what: str) -> str:
        return f"{self._prefix}-{what}@{self._domain}"
