"""Keeps each live session's next meeting as one Discord scheduled event: created once, moved, recreated, cancelled.

Runs as a sweep after every schedule run. Each (session, week) event is claimed in the ledger before it is
created, so a restart or a second sweep never makes two; its row remembers the event id and start.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import Cohort, Delivery, DeliveryState, LiveSession
from bot.schedule.sessions import Occurrence, next_occurrence
from bot.services.cohorts import OPEN_STATUSES
from bot.services.ledger import INTERRUPTED, REPORT_AFTER_ATTEMPTS, Ledger, LedgerEntry
from bot.services.live_sessions import LiveSessionService, current_sessions
from bot.services.ports import DeliveryFailed, DiscordPort, KnownEvent, SessionEvent
from bot.shards import EVERYTHING, Ownership

log = logging.getLogger(__name__)

SESSION_EVENT = "session_event"
EVENTS_FORBIDDEN = "events_forbidden"
"""The ledger row that says a cohort's moderators were told the bot lost Manage Events (released when it is back)."""
LOST_TEXT = (
    "I can no longer keep the live sessions of '{name}' as Discord events: I am missing the Manage Events "
    "(or Create Events) permission. Give it back to my role in Server Settings → Roles; the events catch up then."
)


@dataclass(frozen=True)
class Wanted:
    live: LiveSession
    cohort: Cohort
    meeting: Occurrence

    @property
    def key(self) -> tuple[str, str]:
        return subject_of(self.live.id), f"week-{self.meeting.week}"


@dataclass
class EventReport:
    created: list[tuple[int, int]] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)
    recreated: list[tuple[int, int]] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)


def subject_of(session_id: int) -> str:
    return f"session:{session_id}"


def marker(session_id: int, week: int) -> str:
    return f"(session #{session_id}, week {week})"


class SessionEventKeeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        ledger: Ledger,
        port: DiscordPort,
        live: LiveSessionService,
        *,
        ownership: Ownership = EVERYTHING,
    ) -> None:
        self._ownership = ownership
        self._sessions = sessions
        self._clock = clock
        self._ledger = ledger
        self._port = port
        self._live = live

    async def sweep(self) -> EventReport:
        """Bring every server's events in line with the sessions and the cohorts' schedules."""
        now = self._clock.now()
        wanted, rows, cohorts = await self._read(now)
        told = await self._ledger.existing(EVENTS_FORBIDDEN, list(cohorts))
        report = EventReport()
        by_guild: dict[int, tuple[list[Wanted], list[Delivery]]] = defaultdict(lambda: ([], []))
        for item in wanted:
            by_guild[item.cohort.guild_id][0].append(item)
        for row in rows:
            if row.cohort_id is not None:  # every event row is claimed with its cohort; one without has no server
                by_guild[cohorts[row.cohort_id].guild_id][1].append(row)
        for guild_id, (items, guild_rows) in by_guild.items():
            guild_cohorts = [c for c in cohorts.values() if c.guild_id == guild_id]
            allowed = self._port.can_manage_events(guild_id)
            if allowed is None:
                continue
            if not allowed:
                await self._tell_lost({item.cohort.id: item.cohort for item in items}.values(), told, now)
                report.blocked.append(guild_id)
                continue
            for cohort in guild_cohorts:
                if (subject := f"cohort:{cohort.id}", "lost") in told:
                    await self._ledger.release(EVENTS_FORBIDDEN, subject, "lost")
                    # An event Discord refused while the permission was gone (before the bot saw it go) waits out
                    # no backoff: the sessions resume as soon as it is back.
                    await self._ledger.retry_now(SESSION_EVENT, cohort.id)
            await _GuildPass(self._ledger, self._port, guild_id, items, guild_rows, report).run(now)
        if report.created or report.moved or report.recreated or report.cancelled or report.blocked:
            log.info(
                "session events: %d created, %d moved, %d recreated, %d cancelled; %d servers without Manage Events",
                len(report.created), len(report.moved), len(report.recreated), len(report.cancelled),
                len(report.blocked),
            )
        return report

    async def _read(self, now: datetime) -> tuple[list[Wanted], list[Delivery], dict[int, Cohort]]:
        """Each session's next meeting, and the ledger's events still to come, in one unit of work."""
        async with self._sessions() as session:
            open_cohorts = (
                await session.scalars(
                    select(Cohort).where(
                        Cohort.status.in_(OPEN_STATUSES),
                        self._ownership.where(Cohort.guild_id),
                        Cohort.id.in_(select(LiveSession.cohort_id).where(LiveSession.removed_at.is_(None))),
                    )
                )
            ).all()
            lives = await current_sessions(session, [c.id for c in open_cohorts])
            wanted = []
            for cohort in open_cohorts:
                schedule = await self._live.schedule(session, cohort)
                for live in lives[cohort.id]:
                    meeting = next_occurrence(schedule.meetings(live), now)
                    if meeting is not None:
                        wanted.append(Wanted(live, cohort, meeting))
            # Events still to come, and each wanted meeting's own row even when its old time has passed
            # (a pause that outlasted it): that one is moved rather than made again.
            rows = list(
                (
                    await session.scalars(
                        select(Delivery).where(
                            Delivery.kind == SESSION_EVENT,
                            self._ownership.cohorts(Delivery.cohort_id),
                            Delivery.state.in_((DeliveryState.SENT, DeliveryState.FAILED)),
                            or_(Delivery.due_at > now, Delivery.subject.in_({item.key[0] for item in wanted})),
                        )
                    )
                ).all()
            )
            cohorts = {c.id: c for c in open_cohorts}
            missing = {row.cohort_id for row in rows} - set(cohorts)
            if missing:
                cohorts.update({c.id: c for c in await session.scalars(select(Cohort).where(Cohort.id.in_(missing)))})
        return wanted, rows, cohorts

    async def _tell_lost(
        self, cohorts: Iterable[Cohort], told: dict[tuple[str, str], LedgerEntry], now: datetime
    ) -> None:
        for cohort in cohorts:
            subject = f"cohort:{cohort.id}"
            if (subject, "lost") in told:
                continue
            row = await self._ledger.claim(EVENTS_FORBIDDEN, subject, "lost", due_at=now, cohort_id=cohort.id)
            if row is None:
                continue
            try:
                await self._port.tell_moderators(
                    cohort.review_channel_id or cohort.channel_id, LOST_TEXT.format(name=cohort.name)
                )
            except DeliveryFailed as exc:
                log.error("could not tell cohort %s's moderators about Manage Events: %s", cohort.id, exc.reason)
                await self._ledger.failed(row, exc.reason)
            else:
                await self._ledger.sent(row, channel_id=cohort.review_channel_id or cohort.channel_id)


class _GuildPass:
    """One server's share of a sweep: create, move or recreate what is wanted, then cancel the rest."""

    def __init__(
        self,
        ledger: Ledger,
        port: DiscordPort,
        guild_id: int,
        items: list[Wanted],
        rows: list[Delivery],
        report: EventReport,
    ) -> None:
        self.ledger = ledger
        self.port = port
        self.guild_id = guild_id
        self.items = items
        self.rows = {(row.subject, row.period): row for row in rows}
        self.report = report
        self._listing: dict[int, KnownEvent] | None = None

    async def run(self, now: datetime) -> None:
        keys = {item.key for item in self.items}
        unwanted = [row for key, row in self.rows.items() if key not in keys and row.due_at > now]
        # A session's event for a week it no longer meets in (an advance) is moved to its next meeting.
        spare = {row.subject: row for row in unwanted if row.state is DeliveryState.SENT}
        for item in self.items:
            row = self.rows.get(item.key)
            try:
                old = spare.get(item.key[0]) if row is None else None
                if old is not None and await self._move_to(item, old):
                    unwanted.remove(old)
                    continue
                await self._keep(item, row)
            except DeliveryFailed as exc:
                log.warning("session %s's event for week %s: %s", item.live.id, item.meeting.week, exc.reason)
        for row in unwanted:
            await self._cancel(row)

    async def _move_to(self, item: Wanted, row: Delivery) -> bool:
        """Re-key the row to the new week, then move its event (a failed move is retried next sweep)."""
        if not await self.ledger.repurposed(row, item.key[1]):
            return False
        await self._keep(item, row)
        return True

    async def _listed(self) -> dict[int, KnownEvent]:
        if self._listing is None:
            self._listing = {event.id: event for event in await self.port.list_events(self.guild_id)}
        return self._listing

    async def _cancel(self, row: Delivery) -> None:
        if row.state is DeliveryState.SENT and row.message_id is not None:
            try:
                await self.port.cancel_event(self.guild_id, row.message_id)
            except DeliveryFailed as exc:
                log.warning("could not cancel event %s (tried again next sweep): %s", row.message_id, exc.reason)
                return
            self.report.cancelled.append(row.message_id)
        await self.ledger.dropped(row)

    async def _keep(self, item: Wanted, row: Delivery | None) -> None:
        ledger = self.ledger
        if row is None:
            claimed = await ledger.claim(
                SESSION_EVENT, *item.key, due_at=item.meeting.start, cohort_id=item.cohort.id
            )
            if claimed is not None:
                await self._create(item, claimed, self.report.created)
            return
        if row.state is DeliveryState.FAILED:
            retry = await ledger.reclaim_failed(row.id)
            if retry is None:
                return
            found = await self._find(item) if retry.last_error == INTERRUPTED else None
            if found is not None:
                await ledger.sent(retry, channel_id=item.live.channel_id, message_id=found)
                return
            await self._create(item, retry, self.report.created)
            return
        listed = (await self._listed()).get(row.message_id or 0)
        event = self._event(item)
        if listed is None:
            event_id = await self.port.create_event(event)
            await ledger.replaced(row, due_at=item.meeting.start, message_id=event_id)
            self.report.recreated.append((item.live.id, item.meeting.week))
        elif (listed.start, listed.name) != (event.start, event.name):
            # Compared with what Discord shows, so a failed move or an edit by hand is put right too.
            await self.port.move_event(listed.id, event)
            await ledger.replaced(row, due_at=item.meeting.start, message_id=listed.id)
            self.report.moved.append((item.live.id, item.meeting.week))
        elif row.due_at != item.meeting.start:
            await ledger.replaced(row, due_at=item.meeting.start, message_id=listed.id)

    async def _create(self, item: Wanted, row: Delivery, into: list[tuple[int, int]]) -> None:
        try:
            event_id = await self.port.create_event(self._event(item))
        except DeliveryFailed as exc:
            attempts = await self.ledger.failed(row, exc.reason)
            # Told once: at once when only a person can fix it (such a refusal repeats on every retry), else
            # when a passing failure has lasted three attempts.
            if attempts == (REPORT_AFTER_ATTEMPTS if exc.retryable else 1):
                await self._report(item, exc.reason)
            raise
        await self.ledger.sent(row, channel_id=item.live.channel_id, message_id=event_id)
        into.append((item.live.id, item.meeting.week))

    async def _report(self, item: Wanted, reason: str) -> None:
        cohort = item.cohort
        text = (
            f"I could not create the Discord event for '{item.live.title}' of '{cohort.name}': {reason}. "
            "I keep trying; if its channel is gone, remove the session and add it again."
        )
        try:
            await self.port.tell_moderators(cohort.review_channel_id or cohort.channel_id, text)
        except DeliveryFailed as exc:
            log.error("could not tell cohort %s's moderators about a failed event: %s", cohort.id, exc.reason)

    async def _find(self, item: Wanted) -> int | None:
        """The event a cut-off attempt may have created, recognised by the marker ending its description."""
        tag = marker(item.live.id, item.meeting.week)
        return next((e.id for e in (await self._listed()).values() if e.description.endswith(tag)), None)

    def _event(self, item: Wanted) -> SessionEvent:
        cohort, live, meeting = item.cohort, item.live, item.meeting
        tag = marker(live.id, meeting.week)
        return SessionEvent(
            guild_id=cohort.guild_id,
            name=f"{live.title} · {cohort.name} week {meeting.week}"[:100],
            description=f"Live session of {cohort.name}. Talk about it in <#{cohort.channel_id}>.\n{tag}",
            start=meeting.start,
            end=meeting.end,
            channel_id=live.channel_id,
            location=live.location or f"https://discord.com/channels/{cohort.guild_id}/{cohort.channel_id}",
        )
