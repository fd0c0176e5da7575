"""Reminders: claim and send the daily nudge, the weekly checkpoint reminder and the moderators' weekly digest.

A sweep works out who is due from the database in a fixed number of queries (whatever the number of
cohorts or learners; the rules themselves are pure, in `bot.schedule.reminder_rules`), claims every
reminder in the delivery ledger in bulk before sending it, then sends: DMs paced by the Discord port,
`channel` deliveries as one message per cohort channel and reminder moment that pings exactly its learners.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import (
    CheckIn,
    Cohort,
    Extension,
    LearnerSettings,
    LiveSession,
    Membership,
    MembershipStatus,
    ReminderDelivery,
    Submission,
)
from bot.domain.notices import DailyReminder, WeeklyReminder
from bot.schedule.reminder_rules import (
    DAILY_REMINDER,
    LearnerRow,
    Reminder,
    ReminderCohort,
    could_fall_due,
    daily_due,
    started,
    weekly_due,
)
from bot.schedule.sessions import occurrences
from bot.services.digest import MOD_DIGEST, DigestDue, digest_facts, digests_due
from bot.services.learners import DEFAULT_PREFS, LearnerPrefs
from bot.services.ledger import Claim, Ledger, Outcomes, learner_subject, membership_subject
from bot.services.live_sessions import current_sessions, slot_of
from bot.services.notify import Notifier
from bot.services.ports import DeliveryFailed, DiscordPort, NoticeRoute
from bot.services.posting import PostingService, ScheduledCohort
from bot.services.stats import StatsService

log = logging.getLogger(__name__)

SEND_WORKERS = 8
"""DMs in flight at once; the port's pacer keeps them under Discord's global rate limit."""


@dataclass
class ReminderPlan:
    """Everything due now, before the ledger has had its say."""

    reminders: list[Reminder] = field(default_factory=list)
    digests: list[DigestDue] = field(default_factory=list)
    cohorts: dict[int, ScheduledCohort] = field(default_factory=dict)
    learners: list[LearnerRow] = field(default_factory=list)


@dataclass
class ReminderReport:
    due: int = 0
    dms: int = 0
    pinged: int = 0
    """Learners reminded in a channel: `channel` delivery, known-closed DMs and refused DMs."""
    channel_messages: int = 0
    dms_refused: int = 0
    failed: int = 0
    digests: int = 0

    @property
    def sent(self) -> int:
        return self.dms + self.pinged

    def __bool__(self) -> bool:
        return bool(self.due or self.digests)


class ReminderService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        posting: PostingService,
        ledger: Ledger,
        notifier: Notifier,
        port: DiscordPort,
        *,
        stats: StatsService,
        workers: int = SEND_WORKERS,
    ) -> None:
        self._sessions = sessions
        self._stats = stats
        self._clock = clock
        self._posting = posting
        self._ledger = ledger
        self._notifier = notifier
        self._port = port
        self._workers = workers

    # The sweep.

    async def run_due(self, now: datetime | None = None, since: datetime | None = None) -> ReminderReport:
        """Send every reminder and digest due at `now`; `since`: moments up to it were handled by an earlier
        sweep of this process (None after a start: look at everything still worth sending)."""
        now = now or self._clock.now()
        plan = await self.plan(now, since)
        report = ReminderReport(due=len(plan.reminders))
        claims = {_claim(r): r for r in plan.reminders}
        sends = [(row_id, claims[claim]) for row_id, claim in await self._ledger.claim_many(list(claims), now)]
        outcome = Outcomes()
        dms = [(row_id, r) for row_id, r in sends if r.by_dm]
        pings = [(row_id, r) for row_id, r in sends if not r.by_dm]
        try:
            await self._send_pings(pings, plan.cohorts, report, outcome)
            await self._send_dms(dms, report, outcome)
        finally:
            await self._ledger.record(outcome, now)  # whatever happened, what went out is marked sent
        if plan.digests:
            await self._send_digests(plan, now, report)
        if report.sent or report.failed or report.digests:
            log.info(
                "reminders: %d DMs, %d pinged in %d channel messages, %d DMs refused, %d failed, %d digests",
                report.dms, report.pinged, report.channel_messages, report.dms_refused, report.failed, report.digests,
            )
        return report

    async def plan(self, now: datetime, since: datetime | None = None) -> ReminderPlan:
        """Who is due now, in a fixed number of queries: the schedule's four, learners with their settings,
        extensions, then check-ins and submissions only if someone is due. Never a query per learner."""
        scheduled = {
            s.cohort.id: s for s in await self._posting.scheduled_cohorts() if started(s.openings, now)
        }
        plan = ReminderPlan(cohorts=scheduled)
        openings = (at for item in scheduled.values() for at in item.openings.values())
        if not scheduled or not could_fall_due(since, now, openings):
            return plan
        ids = sorted(scheduled)
        async with self._sessions() as session:
            plan.learners = await _learners(session, ids)
            cohorts = _for_rules(scheduled, await current_sessions(session, ids))
            daily = daily_due(cohorts, plan.learners, now, since)
            extensions = await _extensions(session, ids, scheduled)
            weekly = weekly_due(cohorts, plan.learners, extensions, now, since)
            if daily:
                done = await _checked_in(session, ids, {day for day, _ in daily.values()})
                plan.reminders += [r for (day, r) in daily.values() if (r.guild_id, r.user_id, day) not in done]
            if weekly:
                handed_in = await _submitted(session, scheduled, {(r.cohort_id, week) for week, r in weekly})
                plan.reminders += [r for week, r in weekly if (r.membership_id, week) not in handed_in]
        plan.digests = digests_due(scheduled, plan.learners, now, since)
        return plan

    # Sending.

    async def _send_pings(
        self,
        pings: list[tuple[int, Reminder]],
        cohorts: dict[int, ScheduledCohort],
        report: ReminderReport,
        outcome: Outcomes,
    ) -> None:
        """One message per cohort channel and reminder (same moment, same words), split only to fit."""
        groups: dict[tuple[int, DailyReminder | WeeklyReminder], list[tuple[int, Reminder]]] = defaultdict(list)
        for row_id, reminder in pings:
            groups[(reminder.channel_id, reminder.said)].append((row_id, reminder))
        told: set[int] = set()
        for (channel_id, said), members in groups.items():
            rows_of: dict[int, list[int]] = defaultdict(list)
            for row_id, reminder in members:
                rows_of[reminder.user_id].append(row_id)
            for message in self._port.ping_messages(said, list(rows_of)):
                row_ids = [row_id for user_id in message.user_ids for row_id in rows_of[user_id]]
                try:
                    message_id = await self._port.post_pings(channel_id, message.content, message.user_ids)
                except DeliveryFailed as exc:
                    outcome.failed(row_ids, exc.reason)
                    report.failed += len(row_ids)
                    cohort = cohorts[members[0][1].cohort_id].cohort
                    if not exc.retryable and cohort.id not in told:
                        told.add(cohort.id)
                        await self._tell(cohort, f"I could not post reminders in <#{channel_id}>: {exc.reason}.")
                    continue
                outcome.sent(row_ids, channel_id, message_id)
                report.pinged += len(message.user_ids)
                report.channel_messages += 1

    async def _send_dms(self, dms: list[tuple[int, Reminder]], report: ReminderReport, outcome: Outcomes) -> None:
        queue = iter(dms)
        refused: set[tuple[int, int]] = set()

        async def worker() -> None:
            for row_id, reminder in queue:  # one shared iterator: each reminder is taken once
                await self._send_dm(row_id, reminder, refused, report, outcome)

        await asyncio.gather(*(worker() for _ in range(min(self._workers, len(dms)))))

    async def _send_dm(
        self,
        row_id: int,
        reminder: Reminder,
        refused: set[tuple[int, int]],
        report: ReminderReport,
        outcome: Outcomes,
    ) -> None:
        person = (reminder.guild_id, reminder.user_id)
        try:
            route = await self._notifier.notify(
                *person, reminder.channel_id, reminder.said, dms_closed=person in refused
            )
        except DeliveryFailed as exc:
            outcome.failed([row_id], exc.reason)
            report.failed += 1
            return
        except Exception as exc:  # one learner's failure must not stop the others' reminders
            log.exception("a reminder DM to %s failed unexpectedly", reminder.user_id)
            outcome.failed([row_id], f"unexpected error: {type(exc).__name__}")
            report.failed += 1
            return
        if route is NoticeRoute.DM:
            outcome.sent([row_id], None, None)
            report.dms += 1
            return
        outcome.sent([row_id], reminder.channel_id, None)
        report.pinged += 1
        report.channel_messages += 1
        if route is NoticeRoute.CHANNEL_DMS_REFUSED and person not in refused:
            refused.add(person)
            report.dms_refused += 1

    async def _tell(self, cohort: Cohort, text: str) -> None:
        try:
            await self._port.tell_moderators(cohort.review_channel_id or cohort.channel_id, text)
        except DeliveryFailed as exc:
            log.error("could not tell the moderators of cohort %s: %s", cohort.id, exc.reason)

    # The moderators' digest.

    async def _send_digests(self, plan: ReminderPlan, now: datetime, report: ReminderReport) -> None:
        claims = [Claim(MOD_DIGEST, d.subject, d.period, d.cohort_id, d.moment) for d in plan.digests]
        inserted = {claim.subject: row_id for row_id, claim in await self._ledger.claim_many(claims, now)}
        claimed = [(inserted[d.subject], d) for d in plan.digests if d.subject in inserted]
        if not claimed:
            return
        facts = await digest_facts(self._sessions, [d for _, d in claimed], plan.cohorts, plan.learners, now)
        outcome = Outcomes()
        for row_id, digest in claimed:
            item = plan.cohorts[digest.cohort_id]
            chart = await self._stats.for_digest(item.cohort, item.roadmap, item.openings)
            try:
                await self._port.post_digest(digest.channel_id, facts[digest.cohort_id], chart)
            except DeliveryFailed as exc:
                log.warning("the digest of cohort %s failed: %s", digest.cohort_id, exc.reason)
                outcome.failed([row_id], exc.reason)
                continue
            outcome.sent([row_id], digest.channel_id, None)
            report.digests += 1
        await self._ledger.record(outcome, now)


def _claim(reminder: Reminder) -> Claim:
    """Daily reminders are one per person and server whatever the cohort; weekly ones are per membership."""
    if reminder.kind == DAILY_REMINDER:
        subject = learner_subject(reminder.guild_id, reminder.user_id)
    else:
        subject = membership_subject(reminder.membership_id)
    return Claim(reminder.kind, subject, reminder.period, reminder.cohort_id, reminder.moment)


def _for_rules(
    scheduled: dict[int, ScheduledCohort], lives: dict[int, list[LiveSession]]
) -> dict[int, ReminderCohort]:
    """The cohorts as the rules take them, each with its live sessions' meetings."""
    cohorts = {}
    for cohort_id, item in scheduled.items():
        cohort = item.cohort
        meetings = tuple(
            (live.title, occurrences(slot_of(live, cohort.timezone), item.openings, item.roadmap.total_weeks))
            for live in lives.get(cohort_id, ())
        )
        cohorts[cohort_id] = ReminderCohort(
            cohort_id, cohort.name, cohort.timezone, cohort.channel_id, item.roadmap, item.openings, meetings
        )
    return cohorts


# The queries.


async def _learners(session: AsyncSession, cohort_ids: list[int]) -> list[LearnerRow]:
    """Active memberships of these cohorts with their person's settings: one query."""
    settings = LearnerSettings
    rows = await session.execute(
        select(
            Membership.id,
            Membership.cohort_id,
            Membership.guild_id,
            Membership.user_id,
            Membership.joined_at,
            settings.id,
            settings.timezone,
            settings.reminder_delivery,
            settings.reminder_hour,
            settings.dms_closed,
            settings.updated_at,
        )
        .outerjoin(settings, and_(settings.guild_id == Membership.guild_id, settings.user_id == Membership.user_id))
        .where(Membership.cohort_id.in_(cohort_ids), Membership.status == MembershipStatus.ACTIVE)
        .order_by(Membership.cohort_id, Membership.id)
    )
    learners = []
    for membership_id, cohort_id, guild_id, user_id, joined_at, has_settings, zone, how, hour, closed, changed in rows:
        prefs = LearnerPrefs(zone, how, hour, closed) if has_settings is not None else DEFAULT_PREFS
        learners.append(
            LearnerRow(
                membership_id, cohort_id, guild_id, user_id, joined_at, prefs.timezone, prefs.reminder_hour,
                reminded=prefs.delivery is not ReminderDelivery.OFF,
                by_dm=prefs.delivery is ReminderDelivery.DM and not prefs.dms_closed,
                settings_changed_at=changed,
            )
        )
    return learners


async def _extensions(
    session: AsyncSession, cohort_ids: list[int], scheduled: dict[int, ScheduledCohort]
) -> dict[tuple[int, int], int]:
    """(membership, module week) → extra days: one query."""
    rows = await session.execute(
        select(Membership.cohort_id, Extension.membership_id, Extension.week, Extension.days)
        .join(Membership, Membership.id == Extension.membership_id)
        .where(Membership.cohort_id.in_(cohort_ids), Membership.status == MembershipStatus.ACTIVE)
    )
    found: dict[tuple[int, int], int] = {}
    for cohort_id, membership_id, week, days in rows.all():
        module = scheduled[cohort_id].roadmap.module_for_week(week)
        if module is not None:
            found[(membership_id, module.week)] = days
    return found


async def _checked_in(session: AsyncSession, cohort_ids: list[int], days: set[date]) -> set[tuple[int, int, date]]:
    """(guild, user, local day) of the check-ins on these days in these cohorts: one query.

    /checkin logs a day in every cohort the learner is in, so any of them answers for the person."""
    rows = await session.execute(
        select(Membership.guild_id, Membership.user_id, CheckIn.local_date)
        .join(CheckIn, CheckIn.membership_id == Membership.id)
        .where(Membership.cohort_id.in_(cohort_ids), CheckIn.local_date.in_(days))
        .distinct()
    )
    return {(guild_id, user_id, day) for guild_id, user_id, day in rows.all()}


async def _submitted(
    session: AsyncSession, scheduled: dict[int, ScheduledCohort], wanted: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """(membership, module week) of submissions for the modules some reminder is about: one query."""
    weeks: set[int] = set()
    for cohort_id, module_week in wanted:
        module = scheduled[cohort_id].roadmap.module_for_week(module_week)
        if module is not None:
            weeks.update(range(module.week, module.last_week + 1))
    rows = await session.execute(
        select(Submission.cohort_id, Submission.membership_id, Submission.week).where(
            Submission.cohort_id.in_({cohort_id for cohort_id, _ in wanted}), Submission.week.in_(weeks)
        )
    )
    found = set()
    for cohort_id, membership_id, week in rows.all():
        module = scheduled[cohort_id].roadmap.module_for_week(week)
        if module is not None:
            found.add((membership_id, module.week))
    return found
