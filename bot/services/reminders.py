"""Reminders: the daily nudge, the weekly checkpoint reminder and the moderators' weekly digest.

A sweep works out who is due from the database in a fixed number of queries (whatever the number of
cohorts or learners), claims every reminder in the delivery ledger in bulk before sending it, then
sends: DMs paced by the Discord port, `channel` deliveries as one message per cohort and reminder
moment that pings exactly its learners. Also the learner's own /settings, which decide all of this.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import (
    AwardStatus,
    CheckIn,
    Cohort,
    Delivery,
    DeliveryState,
    Extension,
    LearnerSettings,
    LiveSession,
    Membership,
    MembershipStatus,
    ReminderDelivery,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    TierAward,
)
from bot.db.upsert import insert_for
from bot.errors import InvalidInput, NotFound
from bot.render.reminders import (
    AwardLately,
    DigestFacts,
    PendingReview,
    SubmittedLately,
    daily_text,
    digest_messages,
    ping_messages,
    weekly_text,
)
from bot.roadmap import Module
from bot.schedule.planner import current_week, extended_deadline
from bot.schedule.reminder_rules import (
    DailyMoment,
    allowed,
    could_fall_due,
    due_daily,
    due_digest,
    due_weekly,
    is_new,
    next_daily,
    weekly_period,
)
from bot.schedule.sessions import Occurrence, occurrences, on_day
from bot.services.cohorts import OPEN_STATUSES
from bot.services.learners import DEFAULT_PREFS, LearnerPrefs, LearnerService
from bot.services.live_sessions import current_sessions, slot_of
from bot.services.parsing import parse_timezone
from bot.services.ports import DeliveryFailed, DiscordPort, LearnerNotice, NoticeRoute
from bot.services.posting import PostingService, ScheduledCohort
from bot.services.stats import StatsService

log = logging.getLogger(__name__)

DAILY_REMINDER = "daily_reminder"
WEEKLY_REMINDER = "weekly_reminder"
MOD_DIGEST = "mod_digest"
SEND_WORKERS = 8
"""DMs in flight at once; the port's pacer keeps them under Discord's global rate limit."""
UPDATE_CHUNK = 500
"""Ledger rows marked per UPDATE (well under every database's limit on bound parameters)."""
ACTIVITY_WINDOW = timedelta(days=7)


# What a sweep works with.


@dataclass(frozen=True)
class LearnerRow:
    """One active membership with its person's settings, as one query returns them."""

    membership_id: int
    cohort_id: int
    guild_id: int
    user_id: int
    joined_at: datetime
    prefs: LearnerPrefs
    settings_changed_at: datetime | None

    @property
    def not_before(self) -> datetime:
        """Moments before this were before they joined or last changed their settings: never sent."""
        changed = self.settings_changed_at
        return self.joined_at if changed is None or changed < self.joined_at else changed


@dataclass(frozen=True)
class Reminder:
    """One reminder for one learner, keyed in the ledger by (kind, subject, period)."""

    kind: str
    subject: str
    period: str
    cohort_id: int
    guild_id: int
    user_id: int
    channel_id: int
    """The cohort channel: where `channel` delivery goes, and where a refused DM falls back to."""
    moment: datetime
    text: str
    by_dm: bool
    """False for `channel` delivery and for learners whose DMs are known to be closed."""


@dataclass(frozen=True)
class DigestDue:
    cohort_id: int
    week: int
    moment: datetime
    channel_id: int

    @property
    def subject(self) -> str:
        return f"cohort:{self.cohort_id}"

    @property
    def period(self) -> str:
        return f"week-{self.week}"


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
    already_claimed: int = 0
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


@dataclass(frozen=True)
class SettingsView:
    """A learner's settings as /settings shows them."""

    prefs: LearnerPrefs
    cohorts: tuple[str, ...]
    zone: str | None
    """The zone reminders use: theirs, else their first cohort's (None when in no cohort)."""
    next_reminder: datetime | None


# The service.


class ReminderService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        posting: PostingService,
        learners: LearnerService,
        port: DiscordPort,
        *,
        stats: StatsService,
        workers: int = SEND_WORKERS,
    ) -> None:
        self._sessions = sessions
        self._stats = stats
        self._clock = clock
        self._posting = posting
        self._learners = learners
        self._port = port
        self._workers = workers

    # /settings

    async def settings(self, guild_id: int, user_id: int) -> SettingsView:
        prefs = await self._learners.prefs(guild_id, user_id)
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
        prefs = await self._learners.update(guild_id, user_id, timezone=zone, delivery=how, reminder_hour=reminder_hour)
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

    # The sweep.

    async def run_due(self, now: datetime | None = None, since: datetime | None = None) -> ReminderReport:
        """Send every reminder and digest due at `now`; `since`: moments up to it were handled by an earlier
        sweep of this process (None after a start: look at everything still worth sending)."""
        now = now or self._clock.now()
        plan = await self.plan(now, since)
        report = ReminderReport(due=len(plan.reminders))
        claimed = await self._claim_reminders(plan.reminders, now)
        report.already_claimed = len(plan.reminders) - len(claimed)
        outcome = _Outcome()
        dms = [(row_id, r) for row_id, r in claimed if r.by_dm]
        pings = [(row_id, r) for row_id, r in claimed if not r.by_dm]
        try:
            await self._send_pings(pings, plan.cohorts, report, outcome)
            await self._send_dms(dms, report, outcome)
        finally:
            await self._record(outcome, now)  # whatever happened, what went out is marked sent
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
            s.cohort.id: s for s in await self._posting.scheduled_cohorts() if _started(s, now)
        }
        plan = ReminderPlan(cohorts=scheduled)
        openings = (at for item in scheduled.values() for at in item.openings.values())
        if not scheduled or not could_fall_due(since, now, openings):
            return plan
        ids = sorted(scheduled)
        async with self._sessions() as session:
            plan.learners = await _learners(session, ids)
            meetings = _meetings(scheduled, await current_sessions(session, ids))
            daily = _daily_due(scheduled, plan.learners, now, since, meetings)
            extensions = await _extensions(session, ids, scheduled)
            weekly = _weekly_due(scheduled, plan.learners, extensions, now, since)
            if daily:
                done = await _checked_in(session, ids, {day for day, _ in daily.values()})
                plan.reminders += [r for (day, r) in daily.values() if (r.guild_id, r.user_id, day) not in done]
            if weekly:
                handed_in = await _submitted(session, scheduled, {(r.cohort_id, week) for week, r in weekly})
                plan.reminders += [r for week, r in weekly if (_membership_of(r), week) not in handed_in]
        members = {row.cohort_id for row in plan.learners}
        for cohort_id, item in scheduled.items():
            due = due_digest(item.openings, item.roadmap.total_weeks, now)
            if due is not None and cohort_id in members and is_new(due[1], since):
                cohort = item.cohort
                plan.digests.append(DigestDue(cohort_id, due[0], due[1], cohort.review_channel_id or cohort.channel_id))
        return plan

    # Claiming.

    async def _claim_reminders(self, reminders: list[Reminder], now: datetime) -> list[tuple[int, Reminder]]:
        """Insert ledger rows in bulk; only the ones this sweep inserted are sent (the rest went before)."""
        if not reminders:
            return []
        keyed = {(r.kind, r.subject, r.period): r for r in reminders}
        rows = [
            {
                "kind": r.kind,
                "subject": r.subject,
                "period": r.period,
                "cohort_id": r.cohort_id,
                "state": DeliveryState.CLAIMED,
                "attempts": 1,
                "late": False,
                "due_at": r.moment,
                "claimed_at": now,
            }
            for r in keyed.values()
        ]
        inserted = await self._insert_claims(rows)
        return [(row_id, keyed[key]) for row_id, key in inserted]

    async def _insert_claims(self, rows: list[dict[str, Any]]) -> list[tuple[int, tuple[str, str, str]]]:
        async with self._sessions.begin() as session:
            statement = (
                insert_for(session)(Delivery)
                .on_conflict_do_nothing(index_elements=["kind", "subject", "period"])
                .returning(Delivery.id, Delivery.kind, Delivery.subject, Delivery.period)
            )
            result = await session.execute(statement, rows)
            return [(row_id, (kind, subject, period)) for row_id, kind, subject, period in result.all()]

    # Sending.

    async def _send_pings(
        self,
        pings: list[tuple[int, Reminder]],
        cohorts: dict[int, ScheduledCohort],
        report: ReminderReport,
        outcome: _Outcome,
    ) -> None:
        """One message per cohort channel and reminder (same moment, same text), split only to fit."""
        groups: dict[tuple[int, str], list[tuple[int, Reminder]]] = defaultdict(list)
        for row_id, reminder in pings:
            groups[(reminder.channel_id, reminder.text)].append((row_id, reminder))
        told: set[int] = set()
        for (channel_id, text), members in groups.items():
            rows_of: dict[int, list[int]] = defaultdict(list)
            for row_id, reminder in members:
                rows_of[reminder.user_id].append(row_id)
            for message in ping_messages(list(rows_of), text):
                row_ids = [row_id for user_id in message.user_ids for row_id in rows_of[user_id]]
                try:
                    message_id = await self._port.post_pings(channel_id, message.content, message.user_ids)
                except DeliveryFailed as exc:
                    outcome.failed(row_ids, exc)
                    report.failed += len(row_ids)
                    cohort = cohorts[members[0][1].cohort_id].cohort
                    if not exc.retryable and cohort.id not in told:
                        told.add(cohort.id)
                        await self._tell(cohort, f"I could not post reminders in <#{channel_id}>: {exc.reason}.")
                    continue
                outcome.sent(row_ids, channel_id, message_id)
                report.pinged += len(message.user_ids)
                report.channel_messages += 1

    async def _send_dms(self, dms: list[tuple[int, Reminder]], report: ReminderReport, outcome: _Outcome) -> None:
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
        outcome: _Outcome,
    ) -> None:
        person = (reminder.guild_id, reminder.user_id)
        notice = LearnerNotice(
            reminder.guild_id, reminder.user_id, reminder.channel_id, reminder.text, dms_closed=person in refused
        )
        try:
            route = await self._port.notify_learner(notice)
        except DeliveryFailed as exc:
            outcome.failed([row_id], exc)
            report.failed += 1
            return
        except Exception as exc:  # one learner's failure must not stop the others' reminders
            log.exception("a reminder DM to %s failed unexpectedly", reminder.user_id)
            outcome.failed([row_id], DeliveryFailed(f"unexpected error: {type(exc).__name__}", retryable=False))
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
            await self._learners.mark_dms_closed(*person)

    async def _record(self, outcome: _Outcome, now: datetime) -> None:
        """Mark the ledger rows sent or failed, many rows per statement."""
        async with self._sessions.begin() as session:
            for (channel_id, message_id), row_ids in outcome.sent_rows.items():
                for chunk in _chunks(row_ids, UPDATE_CHUNK):
                    await session.execute(
                        update(Delivery)
                        .where(Delivery.id.in_(chunk))
                        .values(state=DeliveryState.SENT, sent_at=now, channel_id=channel_id, message_id=message_id)
                    )
            for reason, row_ids in outcome.failed_rows.items():
                for chunk in _chunks(row_ids, UPDATE_CHUNK):
                    # A reminder is at most once: a failed one is recorded and not sent again.
                    await session.execute(
                        update(Delivery)
                        .where(Delivery.id.in_(chunk))
                        .values(state=DeliveryState.FAILED, last_error=reason[:500], next_attempt_at=None)
                    )

    async def _tell(self, cohort: Cohort, text: str) -> None:
        try:
            await self._port.tell_moderators(cohort.review_channel_id or cohort.channel_id, text)
        except DeliveryFailed as exc:
            log.error("could not tell the moderators of cohort %s: %s", cohort.id, exc.reason)

    # The moderators' digest.

    async def _send_digests(self, plan: ReminderPlan, now: datetime, report: ReminderReport) -> None:
        rows = [
            {
                "kind": MOD_DIGEST,
                "subject": d.subject,
                "period": d.period,
                "cohort_id": d.cohort_id,
                "state": DeliveryState.CLAIMED,
                "attempts": 1,
                "late": False,
                "due_at": d.moment,
                "claimed_at": now,
            }
            for d in plan.digests
        ]
        inserted = {key[1]: row_id for row_id, key in await self._insert_claims(rows)}
        claimed = [(inserted[d.subject], d) for d in plan.digests if d.subject in inserted]
        if not claimed:
            return
        facts = await self._digest_facts([d for _, d in claimed], plan, now)
        outcome = _Outcome()
        for row_id, digest in claimed:
            item = plan.cohorts[digest.cohort_id]
            chart = await self._stats.for_digest(item.cohort, item.roadmap, item.openings)
            try:
                for index, text in enumerate(digest_messages(facts[digest.cohort_id])):
                    await self._port.tell_moderators(digest.channel_id, text, chart=None if index else chart)
            except DeliveryFailed as exc:
                log.warning("the digest of cohort %s failed: %s", digest.cohort_id, exc.reason)
                outcome.failed([row_id], exc)
                continue
            outcome.sent([row_id], digest.channel_id, None)
            report.digests += 1
        await self._record(outcome, now)

    async def _digest_facts(
        self, digests: list[DigestDue], plan: ReminderPlan, now: datetime
    ) -> dict[int, DigestFacts]:
        """Four queries for all the digests of a sweep together."""
        ids = [d.cohort_id for d in digests]
        since = now - ACTIVITY_WINDOW
        async with self._sessions() as session:
            submitted = (
                await session.execute(
                    select(Submission.cohort_id, Submission.membership_id, Membership.user_id, Submission.week,
                           SubmissionVersion.late)
                    .join(Submission, Submission.id == SubmissionVersion.submission_id)
                    .join(Membership, Membership.id == Submission.membership_id)
                    .where(Submission.cohort_id.in_(ids), SubmissionVersion.submitted_at >= since,
                           SubmissionVersion.submitted_at <= now)
                    .order_by(SubmissionVersion.submitted_at, SubmissionVersion.id)
                )
            ).all()
            pending = (
                await session.execute(
                    select(Submission.cohort_id, Membership.user_id, Membership.guild_id, Submission.week,
                           Submission.updated_at, Submission.review_channel_id, Submission.review_message_id)
                    .join(Membership, Membership.id == Submission.membership_id)
                    .where(Submission.cohort_id.in_(ids), Submission.status == SubmissionStatus.PENDING)
                    .order_by(Submission.updated_at, Submission.id)
                )
            ).all()
            checked_in = set(
                (
                    await session.scalars(
                        select(CheckIn.membership_id)
                        .join(Membership, Membership.id == CheckIn.membership_id)
                        .where(Membership.cohort_id.in_(ids), CheckIn.created_at >= since)
                        .distinct()
                    )
                ).all()
            )
            awards = (
                await session.execute(
                    select(Membership.cohort_id, Membership.user_id, TierAward.tier_key, TierAward.status)
                    .join(Membership, Membership.id == TierAward.membership_id)
                    .where(Membership.cohort_id.in_(ids), TierAward.earned_at >= since, TierAward.earned_at <= now)
                    .order_by(TierAward.earned_at, TierAward.id)
                )
            ).all()
        active = checked_in | {row.membership_id for row in submitted}
        facts = {}
        for digest in digests:
            item = plan.cohorts[digest.cohort_id]
            roadmap = item.roadmap
            members = [r for r in plan.learners if r.cohort_id == digest.cohort_id]
            tiers = {tier.key: tier.name for tier in roadmap.tiers}
            facts[digest.cohort_id] = DigestFacts(
                cohort_name=item.cohort.name,
                week=digest.week,
                total_weeks=roadmap.total_weeks,
                opened=digest.moment,
                submissions=[
                    SubmittedLately(r.user_id, _week_label(item, r.week), r.late)
                    for r in submitted
                    if r.cohort_id == digest.cohort_id
                ],
                pending=[
                    PendingReview(
                        r.user_id,
                        _week_label(item, r.week),
                        r.updated_at,
                        _message_link(r.guild_id, r.review_channel_id, r.review_message_id),
                    )
                    for r in pending
                    if r.cohort_id == digest.cohort_id
                ],
                inactive=[
                    r.user_id for r in members if r.membership_id not in active and r.joined_at <= since
                ],
                awards=[
                    AwardLately(r.user_id, tiers.get(r.tier_key, r.tier_key), r.status is AwardStatus.GRANTED)
                    for r in awards
                    if r.cohort_id == digest.cohort_id
                ],
                active_members=len(members),
            )
        return facts


# Sweep bookkeeping.


class _Outcome:
    """Results of sends, to be written to the ledger in bulk."""

    def __init__(self) -> None:
        self.sent_rows: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)
        self.failed_rows: dict[str, list[int]] = defaultdict(list)

    def sent(self, row_ids: Iterable[int], channel_id: int | None, message_id: int | None) -> None:
        self.sent_rows[(channel_id, message_id)].extend(row_ids)

    def failed(self, row_ids: Iterable[int], exc: DeliveryFailed) -> None:
        self.failed_rows[exc.reason].extend(row_ids)


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
            LearnerRow(membership_id, cohort_id, guild_id, user_id, joined_at, prefs, changed)
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


# Who is due: pure, over what the queries returned.


def _started(item: ScheduledCohort, now: datetime) -> bool:
    first = item.openings.get(1)
    return first is not None and first <= now


def _meetings(
    scheduled: dict[int, ScheduledCohort], lives: dict[int, list[LiveSession]]
) -> dict[int, list[tuple[str, list[Occurrence]]]]:
    """Each cohort's live sessions with every meeting, for the daily reminder to mention today's."""
    return {
        cohort_id: [
            (live.title, occurrences(slot_of(live, item.cohort.timezone), item.openings, item.roadmap.total_weeks))
            for live in lives[cohort_id]
        ]
        for cohort_id, item in scheduled.items()
        if lives.get(cohort_id)
    }


def _daily_due(
    scheduled: dict[int, ScheduledCohort],
    learners: list[LearnerRow],
    now: datetime,
    since: datetime | None,
    meetings: dict[int, list[tuple[str, list[Occurrence]]]],
) -> dict[tuple[int, int], tuple[date, Reminder]]:
    """One daily reminder per person and server, for the cohort they have been in longest."""
    first: dict[tuple[int, int], LearnerRow] = {}
    for row in learners:
        person = (row.guild_id, row.user_id)
        held = first.get(person)
        if held is None or (row.joined_at, row.cohort_id) < (held.joined_at, held.cohort_id):
            first[person] = row
    # Worked out once per cohort, zone and hour rather than once per learner.
    cohorts = {
        cohort_id: (item.cohort.timezone, item.cohort.channel_id, item.openings[1], item.end)
        for cohort_id, item in scheduled.items()
    }
    moments: dict[tuple[int, str], DailyMoment | None] = {}
    texts: dict[tuple[int, datetime, date], str] = {}
    due: dict[tuple[int, int], tuple[date, Reminder]] = {}
    for person, row in first.items():
        prefs = row.prefs
        if prefs.delivery is ReminderDelivery.OFF:
            continue
        cohort_id = row.cohort_id
        cohort_zone, channel_id, started, end = cohorts[cohort_id]
        when = (prefs.reminder_hour, prefs.timezone or cohort_zone)
        if when not in moments:
            moments[when] = due_daily(now, *when)
        moment = moments[when]
        if moment is None or not is_new(moment.at, since):
            continue
        if not allowed(moment.at, max(row.not_before, started)) or (end is not None and moment.at >= end):
            continue
        text = texts.get((cohort_id, moment.at, moment.day))
        if text is None:
            item = scheduled[cohort_id]
            module = item.roadmap.module_for_week(current_week(item.openings, moment.at))
            today = [
                (title, meeting.start)
                for title, found in meetings.get(cohort_id, [])
                for meeting in on_day(found, moment.day, when[1])
            ]
            text = texts[(cohort_id, moment.at, moment.day)] = daily_text(item.cohort.name, module, today)
        due[person] = (
            moment.day,
            Reminder(
                kind=DAILY_REMINDER,
                subject=f"learner:{row.guild_id}:{row.user_id}",
                period=moment.day.isoformat(),
                cohort_id=cohort_id,
                guild_id=row.guild_id,
                user_id=row.user_id,
                channel_id=channel_id,
                moment=moment.at,
                text=text,
                by_dm=_by_dm(prefs),
            ),
        )
    return due


def _weekly_due(
    scheduled: dict[int, ScheduledCohort],
    learners: list[LearnerRow],
    extensions: dict[tuple[int, int], int],
    now: datetime,
    since: datetime | None,
) -> list[tuple[int, Reminder]]:
    """(module week, reminder) for each learner 48 h before each of their deadlines (extensions included)."""
    extended_modules: dict[int, list[int]] = defaultdict(list)
    for membership_id, week in extensions:
        extended_modules[membership_id].append(week)
    # Per cohort: the open modules whose deadline is ahead, and those past it (which only an extension revives).
    ahead: dict[int, list[tuple[Module, datetime, datetime]]] = {}
    past: dict[int, dict[int, tuple[Module, datetime, datetime]]] = {}
    for cohort_id, item in scheduled.items():
        ahead[cohort_id], past[cohort_id] = [], {}
        for module in item.roadmap.modules:
            opened, deadline = item.openings.get(module.week), item.openings.get(module.last_week + 1)
            if opened is None or deadline is None or opened > now:
                continue
            if deadline > now:
                ahead[cohort_id].append((module, opened, deadline))
            else:
                past[cohort_id][module.week] = (module, opened, deadline)
    due = []
    for row in learners:
        if row.prefs.delivery is ReminderDelivery.OFF:
            continue
        cohort = scheduled[row.cohort_id].cohort
        revived = [past[cohort.id][w] for w in extended_modules.get(row.membership_id, ()) if w in past[cohort.id]]
        for module, opened, deadline in ahead[cohort.id] + revived:
            days = extensions.get((row.membership_id, module.week), 0)
            mine = extended_deadline(deadline, days)
            moment = due_weekly(now, opened, mine)
            if moment is None or not is_new(moment, since) or not allowed(moment, row.not_before):
                continue
            due.append((
                module.week,
                Reminder(
                    kind=WEEKLY_REMINDER,
                    subject=f"membership:{row.membership_id}",
                    period=weekly_period(module.week, mine),
                    cohort_id=cohort.id,
                    guild_id=row.guild_id,
                    user_id=row.user_id,
                    channel_id=cohort.channel_id,
                    moment=moment,
                    text=weekly_text(cohort.name, module, mine),
                    by_dm=_by_dm(row.prefs),
                ),
            ))
    return due


def _by_dm(prefs: LearnerPrefs) -> bool:
    return prefs.delivery is ReminderDelivery.DM and not prefs.dms_closed


def _membership_of(reminder: Reminder) -> int:
    return int(reminder.subject.removeprefix("membership:"))


def _week_label(item: ScheduledCohort, week: int) -> str:
    module = item.roadmap.module_for_week(week)
    return module.label if module is not None else f"Week {week}"


def _message_link(guild_id: int, channel_id: int | None, message_id: int | None) -> str | None:
    if channel_id is None or message_id is None:
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def _delivery(value: str) -> ReminderDelivery:
    try:
        return ReminderDelivery(value.strip().lower())
    except ValueError:
        raise InvalidInput(f"'{value}' is not a way I can remind you. Choose dm, channel or off.") from None


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
