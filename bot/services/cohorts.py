"""Cohorts: create, look up, pause, resume, end and advance; the schedule facts each view carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Row, Select, bindparam, func, literal, null, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.columns import ADVANCE, MEMBER, PAUSE
from bot.db.models import (
    Cohort,
    CohortAdvance,
    CohortPause,
    CohortStatus,
    GuildSettings,
    MembershipStatus,
)
from bot.db.upsert import locked_row
from bot.errors import Conflict, InvalidInput, NotFound
from bot.roadmap import Module, Roadmap
from bot.schedule.planner import (
    EventKind,
    Opening,
    ScheduleEvent,
    Timeline,
    current_week,
    extended_deadline,
    next_opening,
    week_openings,
)
from bot.services.catalog import RoadmapCatalog
from bot.services.parsing import cohort_name, name_key, parse_date, parse_post_time, parse_timezone
from bot.services.quotas import COHORTS_CREATED, PAUSES, refuse_if_spent_in, take

MAX_START_DISTANCE = timedelta(days=366)
ADVANCE_REPEAT_WINDOW = timedelta(seconds=30)
"""A plain advance this soon after another one is the same intent repeated (a retry, two moderators at once)."""
MAX_RUNNING_COHORTS = 25
"""Cohorts not ended that one server may run at once (each one posts and reminds on its own schedule)."""
OPEN_STATUSES = (CohortStatus.ACTIVE, CohortStatus.PAUSED)


@dataclass(frozen=True)
class NewCohort:
    guild_id: int
    name: str
    roadmap_id: str
    start: str
    channel_id: int
    created_by: int
    timezone: str | None = None
    post_time: str | None = None
    review_channel_id: int | None = None
    role_id: int | None = None


@dataclass(frozen=True)
class CohortView:
    """A cohort with its roadmap and schedule worked out, as of `now`."""

    cohort: Cohort
    roadmap: Roadmap
    roadmap_version: int
    openings: dict[int, datetime]
    members_counted: int | None
    """The active members, when the view was read with them (see `CohortService.view`)."""
    now: datetime
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()
    """(paused_at, resumed_at) of each pause, read with the schedule (streaks need them too)."""

    @property
    def active_members(self) -> int:
        if self.members_counted is None:
            raise RuntimeError(f"the view of cohort {self.cohort.id} was read without its member count")
        return self.members_counted

    @property
    def id(self) -> int:
        return self.cohort.id

    @property
    def name(self) -> str:
        return self.cohort.name

    @property
    def current_week(self) -> int:
        return min(current_week(self.openings, self.now), self.roadmap.total_weeks)

    @property
    def current_module(self) -> Module | None:
        return self.roadmap.module_for_week(self.current_week)

    @property
    def next_opening(self) -> Opening | None:
        return next_opening(self.openings, self.now)

    def is_open(self, module: Module) -> bool:
        opened = self.openings.get(module.week)
        return opened is not None and opened <= self.now

    def deadline(self, module: Module, extension_days: int = 0) -> datetime | None:
        """When the module's checkpoint is due (when the week after it opens), moved by an extension."""
        due = self.openings.get(module.last_week + 1)
        return extended_deadline(due, extension_days) if due is not None else None

    @property
    def next_deadline(self) -> tuple[Module, datetime] | None:
        for module in self.roadmap.modules:
            due = self.deadline(module)
            if self.is_open(module) and due is not None and due > self.now:
                return module, due
        return None


ChangeListener = Callable[[], Awaitable[None]]


class CohortService:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, catalog: RoadmapCatalog
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._catalog = catalog
        self._listeners: list[ChangeListener] = []

    def on_change(self, listener: ChangeListener) -> None:
        """Called after any change to a cohort's schedule (the runner rebuilds its jobs)."""
        self._listeners.append(listener)

    async def changed(self) -> None:
        """Tell the listeners a schedule changed (also used by services whose changes the runner acts on)."""
        for listener in self._listeners:
            await listener()

    async def create(self, request: NewCohort) -> CohortView:
        name = cohort_name(request.name)
        zone = parse_timezone(request.timezone or "UTC")
        post_time = parse_post_time(request.post_time or "09:00")
        start = parse_date(request.start)
        self._check_start(start)
        now = self._clock.now()
        async with self._sessions.begin() as session:
            await self._refuse_duplicate(session, request.guild_id, name)
            await self._refuse_too_many(session, request.guild_id)
            await take(session, COHORTS_CREATED, now, request.guild_id)
            version = await self._catalog.version_for_new_cohort(session, request.guild_id, request.roadmap_id)
            cohort = Cohort(
                guild_id=request.guild_id,
                name=name,
                name_key=name_key(name),
                roadmap_id=version.roadmap_id,
                roadmap_version_id=version.id,
                timezone=zone,
                start_date=start,
                post_time=post_time,
                channel_id=request.channel_id,
                review_channel_id=request.review_channel_id,
                role_id=request.role_id,
                status=CohortStatus.ACTIVE,
                enrollment_open=True,
                created_by=request.created_by,
                created_at=now,
            )
            session.add(cohort)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict(f"There is already a cohort named '{name}' on this server.") from None
            view = await self.view(session, cohort)
        await self.changed()
        return view

    @staticmethod
    async def _refuse_too_many(session: AsyncSession, guild_id: int) -> None:
        running = (
            await session.execute(
                select(func.count())
                .select_from(Cohort)
                .where(Cohort.guild_id == guild_id, Cohort.status.in_(OPEN_STATUSES))
            )
        ).scalar_one()
        if running >= MAX_RUNNING_COHORTS:
            raise Conflict(
                f"This server already runs {running} cohorts; a server may run at most {MAX_RUNNING_COHORTS}. "
                "End one with /cohort end first."
            )

    def _check_start(self, start: date) -> None:
        today = self._clock.now().date()
        if start < today - MAX_START_DISTANCE:
            raise InvalidInput("The start date may lie in the past, but at most a year ago.")
        if start > today + MAX_START_DISTANCE:
            raise InvalidInput("The start date must be within a year from today.")

    async def _refuse_duplicate(self, session: AsyncSession, guild_id: int, name: str) -> None:
        clash = await session.scalar(
            select(Cohort.name).where(Cohort.guild_id == guild_id, Cohort.name_key == name_key(name))
        )
        if clash is not None:
            raise Conflict(f"There is already a cohort named '{clash}' on this server. Pick another name.")

    async def in_guild(self, guild_id: int) -> list[CohortView]:
        async with self._sessions() as session:
            query = select(Cohort).where(Cohort.guild_id == guild_id).order_by(Cohort.created_at, Cohort.id)
            cohorts = (await session.scalars(query)).all()
            return [await self.view(session, cohort) for cohort in cohorts]

    async def get(self, guild_id: int, name: str) -> CohortView:
        async with self._sessions() as session:
            return await self.view(session, await self.find(session, guild_id, name))

    async def names(self, guild_id: int, fragment: str, *, open_only: bool = False) -> list[str]:
        """Cohort names of this server containing `fragment`, for autocomplete."""
        query = select(Cohort.name).where(Cohort.guild_id == guild_id)
        if open_only:
            query = query.where(Cohort.status.in_(OPEN_STATUSES))
        if fragment.strip():
            query = query.where(Cohort.name_key.contains(name_key(fragment), autoescape=True))
        async with self._sessions() as session:
            return list((await session.scalars(query.order_by(Cohort.name).limit(25))).all())

    async def pause(self, guild_id: int, name: str, by: int) -> CohortView:
        async with self._sessions.begin() as session:
            cohort = await self.find(session, guild_id, name, for_update=True)
            self._refuse_closed(cohort)
            if cohort.status is CohortStatus.PAUSED:
                raise Conflict(f"'{cohort.name}' is already paused. Use /cohort resume to continue it.")
            # Each pause and resume moves the schedule: a cohort may not be toggled without end.
            now = self._clock.now()
            await refuse_if_spent_in(session, PAUSES, now, CohortPause.paused_at, CohortPause.cohort_id == cohort.id)
            cohort.status = CohortStatus.PAUSED
            session.add(CohortPause(cohort_id=cohort.id, paused_at=now, paused_by=by))
            await session.flush()
            view = await self.view(session, cohort)
        await self.changed()
        return view

    async def resume(self, guild_id: int, name: str, by: int) -> CohortView:
        async with self._sessions.begin() as session:
            cohort = await self.find(session, guild_id, name, for_update=True)
            self._refuse_closed(cohort)
            if cohort.status is not CohortStatus.PAUSED:
                raise Conflict(
                    f"'{cohort.name}' is not paused, so there is nothing to resume. /cohort pause pauses it."
                )
            pause = await session.scalar(
                select(CohortPause).where(CohortPause.cohort_id == cohort.id, CohortPause.resumed_at.is_(None))
            )
            if pause is not None:
                pause.resumed_at = self._clock.now()
                pause.resumed_by = by
            cohort.status = CohortStatus.ACTIVE
            await session.flush()
            view = await self.view(session, cohort)
        await self.changed()
        return view

    async def end(self, guild_id: int, name: str, by: int) -> CohortView:
        async with self._sessions.begin() as session:
            cohort = await self.find(session, guild_id, name, for_update=True)
            self._refuse_closed(cohort)
            cohort.status = CohortStatus.ENDED
            cohort.enrollment_open = False
            cohort.ended_at = self._clock.now()
            cohort.ended_by = by
            await session.flush()
            view = await self.view(session, cohort)
        await self.changed()
        return view

    async def advance(self, guild_id: int, name: str, to_week: int | None, by: int) -> CohortView:
        """Open the next module now (or every module up to `to_week`); later weeks follow from today."""
        async with self._sessions.begin() as session:
            cohort = await self.find(session, guild_id, name, for_update=True)
            self._refuse_closed(cohort)
            if cohort.status is CohortStatus.PAUSED:
                raise Conflict(f"'{cohort.name}' is paused. Resume it before advancing.")
            view = await self.view(session, cohort)
            if to_week is None:
                await self._refuse_repeated_advance(session, view)
            target = self._advance_target(view, to_week)
            session.add(CohortAdvance(cohort_id=cohort.id, at=self._clock.now(), to_week=target, advanced_by=by))
            await session.flush()
            view = await self.view(session, cohort)
        await self.changed()
        return view

    async def _refuse_repeated_advance(self, session: AsyncSession, view: CohortView) -> None:
        """Two plain advances moments apart would open two weeks where both people meant one."""
        latest = await session.scalar(
            select(CohortAdvance)
            .where(CohortAdvance.cohort_id == view.id)
            .order_by(CohortAdvance.at.desc(), CohortAdvance.id.desc())
            .limit(1)
        )
        if latest is None or self._clock.now() - latest.at >= ADVANCE_REPEAT_WINDOW:
            return
        following = [m.week for m in view.roadmap.modules if m.week > view.current_week]
        further = f" To open week {following[0]} as well, use `to_week:{following[0]}`." if following else ""
        raise Conflict(
            f"<@{latest.advanced_by}> advanced '{view.name}' to week {latest.to_week} a moment ago.{further}"
        )

    @staticmethod
    def _advance_target(view: CohortView, to_week: int | None) -> int:
        roadmap = view.roadmap
        current = view.current_week
        if to_week is None:
            upcoming = [m.week for m in roadmap.modules if m.week > current]
            if not upcoming:
                raise InvalidInput(f"'{view.name}' is already in its last module; there is no week to advance to.")
            return upcoming[0]
        if to_week <= current:
            raise InvalidInput(f"Week {to_week} is already open in '{view.name}' (it is in week {current}).")
        if to_week > roadmap.total_weeks:
            raise InvalidInput(f"'{roadmap.title}' has weeks 1-{roadmap.total_weeks}; there is no week {to_week}.")
        return to_week

    @staticmethod
    def _refuse_closed(cohort: Cohort) -> None:
        if cohort.status not in OPEN_STATUSES:
            raise Conflict(
                f"'{cohort.name}' has {cohort.status.value}; it can no longer be changed. "
                "Start a new cohort with /cohort create."
            )

    async def set_moderator_role(self, guild_id: int, role_id: int | None) -> None:
        now = self._clock.now()
        async with self._sessions.begin() as session:
            settings = await locked_row(
                session, GuildSettings, {"guild_id": guild_id}, {"moderator_role_id": role_id, "updated_at": now}
            )
            settings.moderator_role_id = role_id
            settings.updated_at = now

    async def moderator_role(self, guild_id: int) -> int | None:
        async with self._sessions() as session:
            settings = await session.get(GuildSettings, guild_id)
            return settings.moderator_role_id if settings else None

    async def find(
        self, session: AsyncSession, guild_id: int, name: str, *, for_update: bool = False, for_share: bool = False
    ) -> Cohort:
        """The cohort named; `for_update` locks its row until commit, `for_share` only against changes to it."""
        query = select(Cohort).where(Cohort.guild_id == guild_id, Cohort.name_key == name_key(name))
        if for_update or for_share:
            query = query.with_for_update(read=not for_update)
        cohort = await session.scalar(query)
        if cohort is None:
            raise NotFound(
                f"There is no cohort named '{name}' on this server. Pick one from the suggestions as you type."
            )
        return cohort

    async def view(self, session: AsyncSession, cohort: Cohort, *, count_members: bool = True) -> CohortView:
        """The cohort with its schedule worked out, and its active members unless `count_members` is False: the
        commands that never show the count (/progress, /submit, a decision) skip reading every membership of the
        cohort (at 1,000 members, PostgreSQL spent 0.24-0.31 ms on the view's statement with it, 0.007 without)."""
        roadmap, number = await self._catalog.roadmap_of(session, cohort.roadmap_version_id)
        history = History()
        facts = _VIEW_FACTS if count_members else _SCHEDULE_FACTS
        members = _read_history(await session.execute(facts, {"cohort_id": cohort.id}), {cohort.id: history})
        timeline = build_timeline(cohort, roadmap.total_weeks, history)
        return CohortView(cohort, roadmap, number, week_openings(timeline),
                          members.get(cohort.id, 0) if count_members else None, self._clock.now(),
                          tuple(history.pauses))


@dataclass
class History:
    """What changed a cohort's schedule, in plain values."""

    pauses: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    """(paused_at, resumed_at) of each pause; resumed_at is None while it lasts."""
    advances: list[tuple[datetime, int]] = field(default_factory=list)
    """(at, to_week) of each advance."""


async def histories(session: AsyncSession, cohort_ids: Iterable[int]) -> dict[int, History]:
    """The schedule history of each cohort, in one statement whatever their number."""
    found = {cohort_id: History() for cohort_id in cohort_ids}
    if found:
        _read_history(await session.execute(_HISTORIES, {"ids": list(found)}), found)
    return found


async def load_timeline(session: AsyncSession, cohort: Cohort, total_weeks: int) -> Timeline:
    """The planner's input for one cohort, read from its pause and advance history."""
    return build_timeline(cohort, total_weeks, (await histories(session, [cohort.id]))[cohort.id])


# Every interaction that reads a cohort asks its pauses, advances and (where shown) member count: one statement, not
# three (on PostgreSQL each is a round trip to the server), built once. Rows are (cohort, kind, moment, until, number).
_PAUSED, _ADVANCED, _MEMBERS = "pause", "advance", "members"
_COHORT_ID: BindParameter[int] = bindparam("cohort_id")
_COHORT_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)


def _history_of(matches: Callable[[ColumnElement[int]], ColumnElement[bool]]) -> tuple[Select[Any], Select[Any]]:
    return (
        select(PAUSE.cohort_id, literal(_PAUSED), PAUSE.paused_at, PAUSE.resumed_at, null())
        .where(matches(PAUSE.cohort_id)),
        select(ADVANCE.cohort_id, literal(_ADVANCED), ADVANCE.at, null(), ADVANCE.to_week)
        .where(matches(ADVANCE.cohort_id)),
    )


_HISTORIES = union_all(*_history_of(lambda cohort_id: cohort_id.in_(_COHORT_IDS)))
_SCHEDULE_FACTS = union_all(*_history_of(lambda cohort_id: cohort_id == _COHORT_ID))
_VIEW_FACTS = union_all(
    *_history_of(lambda cohort_id: cohort_id == _COHORT_ID),
    select(MEMBER.cohort_id, literal(_MEMBERS), null(), null(), func.count())
    .where(MEMBER.cohort_id == _COHORT_ID, MEMBER.status == MembershipStatus.ACTIVE)
    .group_by(MEMBER.cohort_id),
)


def _read_history(rows: Iterable[Row[Any]], into: dict[int, History]) -> dict[int, int]:
    """Fills each cohort's history from `rows`; returns the member counts they held."""
    members = {}
    for cohort_id, kind, at, until, number in rows:
        if kind == _PAUSED:
            into[cohort_id].pauses.append((at, until))
        elif kind == _ADVANCED:
            into[cohort_id].advances.append((at, number))
        else:
            members[cohort_id] = number
    return members


def build_timeline(cohort: Cohort, total_weeks: int, history: History) -> Timeline:
    events: list[ScheduleEvent] = []
    for paused_at, resumed_at in history.pauses:
        events.append(ScheduleEvent(EventKind.PAUSE, paused_at))
        if resumed_at is not None:
            events.append(ScheduleEvent(EventKind.RESUME, resumed_at))
    events.extend(ScheduleEvent(EventKind.ADVANCE, at, to_week) for at, to_week in history.advances)
    if cohort.status is CohortStatus.ENDED and cohort.ended_at is not None:
        events.append(ScheduleEvent(EventKind.END, cohort.ended_at))
    return Timeline(cohort.start_date, _as_time(cohort.post_time), cohort.timezone, total_weeks, tuple(events))


def _as_time(value: time) -> time:
    return value.replace(tzinfo=None)
