"""Weekly live sessions of a cohort: add, list and remove them, and the rule for where each week's meeting falls."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Cohort, CohortStatus, LiveSession, RoadmapVersion
from bot.errors import Conflict, InvalidInput, NotFound
from bot.roadmap import Roadmap
from bot.schedule.sessions import WEEKDAYS, Occurrence, Slot, next_occurrence, occurrences, projected
from bot.services.catalog import RoadmapCatalog
from bot.services.cohorts import OPEN_STATUSES, CohortService, load_timeline
from bot.services.parsing import one_line, parse_post_time

MAX_SESSIONS_PER_COHORT = 10
"""Live sessions one cohort may have at once (each one is a Discord event the bot keeps up to date)."""
MIN_MINUTES, MAX_MINUTES = 5, 600
MAX_TITLE = 100
MAX_LOCATION = 100
"""Discord's limits for a scheduled event's name and an external event's location."""


@dataclass(frozen=True)
class NewSession:
    guild_id: int
    cohort_name: str
    title: str
    weekday: str
    time: str
    minutes: int
    channel_id: int | None
    location: str | None
    created_by: int


@dataclass(frozen=True)
class SessionView:
    """A session with its cohort and its next meeting (None when the cohort has no more weeks)."""

    session: LiveSession
    cohort: Cohort
    next: Occurrence | None

    @property
    def weekday_name(self) -> str:
        return WEEKDAYS[self.session.weekday].capitalize()


@dataclass(frozen=True)
class CohortSchedule:
    """A cohort with its week openings (projected while paused) and total weeks, read in one unit of work."""

    cohort: Cohort
    roadmap: Roadmap
    openings: dict[int, datetime]
    changes: int
    """How many pauses, resumes and advances shaped it (a calendar's SEQUENCE)."""

    @property
    def total_weeks(self) -> int:
        return self.roadmap.total_weeks

    def meetings(self, live: LiveSession) -> list[Occurrence]:
        return occurrences(slot_of(live, self.cohort.timezone), self.openings, self.total_weeks)


def slot_of(live: LiveSession, timezone: str) -> Slot:
    return Slot(live.weekday, live.start_time.replace(tzinfo=None), live.minutes, timezone)


def parse_weekday(text: str) -> int:
    word = text.strip().casefold()
    for index, name in enumerate(WEEKDAYS):
        if len(word) >= 3 and name.startswith(word):
            return index
    raise InvalidInput(f"'{text}' is not a day of the week. Use a name such as Monday or Thu.")


def check_title(text: str) -> str:
    return one_line(
        text,
        MAX_TITLE,
        missing="A session needs a title, for example 'Office hours'.",
        too_long=f"A session title can be at most {MAX_TITLE} characters; this one has {len(text.strip())}.",
    )


def check_location(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    return one_line(
        text,
        MAX_LOCATION,
        missing="",
        too_long=(
            f"A location can be at most {MAX_LOCATION} characters (Discord's limit); this one has "
            f"{len(text.strip())}. Shorten it, or put a link there."
        ),
    )


def check_minutes(minutes: int) -> int:
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"A session lasts {MIN_MINUTES} to {MAX_MINUTES} minutes; {minutes} is outside that.")
    return minutes


class LiveSessionService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, cohorts: CohortService, catalog: RoadmapCatalog
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cohorts = cohorts
        self._catalog = catalog

    async def add(self, request: NewSession) -> SessionView:
        title = check_title(request.title)
        weekday = parse_weekday(request.weekday)
        start = parse_post_time(request.time)
        minutes = check_minutes(request.minutes)
        location = check_location(request.location)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            cohort = await self._cohorts.find(session, request.guild_id, request.cohort_name, for_update=True)
            if cohort.status not in OPEN_STATUSES:
                raise Conflict(f"'{cohort.name}' has {cohort.status.value}; it can have no more live sessions.")
            count = (
                await session.execute(
                    select(func.count()).where(LiveSession.cohort_id == cohort.id, LiveSession.removed_at.is_(None))
                )
            ).scalar_one()
            if count >= MAX_SESSIONS_PER_COHORT:
                raise Conflict(
                    f"'{cohort.name}' already has {count} live sessions, the most a cohort may have. "
                    "Remove one with /cohort session remove first."
                )
            live = LiveSession(
                cohort_id=cohort.id,
                title=title,
                weekday=weekday,
                start_time=start,
                minutes=minutes,
                channel_id=request.channel_id,
                location=None if request.channel_id else location,
                created_by=request.created_by,
                created_at=now,
            )
            session.add(live)
            await session.flush()
            schedule = await self.schedule(session, cohort)
            view = SessionView(live, cohort, next_occurrence(schedule.meetings(live), now))
        # The runner's next run also sweeps the events: it creates or cancels this session's event soon.
        await self._cohorts.changed()
        return view

    async def in_cohort(self, guild_id: int, cohort_name: str) -> list[SessionView]:
        now = self._clock.now()
        async with self._sessions() as session:
            cohort = await self._cohorts.find(session, guild_id, cohort_name)
            schedule = await self.schedule(session, cohort)
            lives = await current_sessions(session, [cohort.id])
            return [
                SessionView(live, cohort, next_occurrence(schedule.meetings(live), now)) for live in lives[cohort.id]
            ]

    async def remove(self, guild_id: int, cohort_name: str, which: str) -> SessionView:
        """Remove a session named by its id (what autocomplete sends) or its title; its event is cancelled."""
        async with self._sessions.begin() as session:
            cohort = await self._cohorts.find(session, guild_id, cohort_name)
            live = _pick((await current_sessions(session, [cohort.id]))[cohort.id], which, cohort.name)
            live.removed_at = self._clock.now()
            view = SessionView(live, cohort, None)
        await self._cohorts.changed()
        return view

    async def choices(self, guild_id: int, cohort_name: str, fragment: str) -> list[tuple[str, str]]:
        """(label, id) of a cohort's sessions whose title contains `fragment`, for autocomplete."""
        async with self._sessions() as session:
            try:
                cohort = await self._cohorts.find(session, guild_id, cohort_name)
            except NotFound:
                return []
            lives = (await current_sessions(session, [cohort.id]))[cohort.id]
        needle = fragment.strip().casefold()
        return [
            (f"{live.title} · {WEEKDAYS[live.weekday].capitalize()} {live.start_time:%H:%M}"[:100], str(live.id))
            for live in lives
            if needle in live.title.casefold()
        ][:25]

    async def schedule(self, session: AsyncSession, cohort: Cohort) -> CohortSchedule:
        version = await session.get_one(RoadmapVersion, cohort.roadmap_version_id)
        roadmap = self._catalog.parse(version)
        timeline = await load_timeline(session, cohort, roadmap.total_weeks)
        paused = cohort.status is CohortStatus.PAUSED
        openings = projected(timeline, paused, self._clock.now())
        return CohortSchedule(cohort, roadmap, openings, len(timeline.events))


async def current_sessions(session: AsyncSession, cohort_ids: Sequence[int]) -> dict[int, list[LiveSession]]:
    """Sessions not removed, per cohort, in the order they were added."""
    grouped: dict[int, list[LiveSession]] = defaultdict(list)
    if cohort_ids:
        query = (
            select(LiveSession)
            .where(LiveSession.cohort_id.in_(cohort_ids), LiveSession.removed_at.is_(None))
            .order_by(LiveSession.id)
        )
        for live in await session.scalars(query):
            grouped[live.cohort_id].append(live)
    return grouped




def _pick(lives: list[LiveSession], which: str, cohort_name: str) -> LiveSession:
    wanted = which.strip()
    if re.fullmatch(r"\d+", wanted):
        found = [live for live in lives if live.id == int(wanted)]
    else:
        found = [live for live in lives if live.title.casefold() == " ".join(wanted.split()).casefold()]
    if len(found) == 1:
        return found[0]
    if found:
        raise Conflict(f"'{cohort_name}' has several sessions called '{which}'; pick one from the suggestions.")
    raise NotFound(
        f"'{cohort_name}' has no live session '{which}'. "
        "/cohort session list shows them; pick one from the suggestions."
    )
