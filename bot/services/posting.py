"""Week posts and wrap-ups: work out what is due from the planner, claim it in the ledger, send it once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.models import (
    Cohort,
    CohortStatus,
    Delivery,
    DeliveryState,
    Membership,
    MembershipStatus,
    RoadmapVersion,
)
from bot.roadmap import Roadmap
from bot.schedule.planner import week_openings
from bot.services.catalog import RoadmapCatalog
from bot.services.cohorts import build_timeline, histories
from bot.services.ledger import REPORT_AFTER_ATTEMPTS, Ledger, LedgerEntry
from bot.services.ports import DeliveryFailed, DiscordPort, WeekPost, WrapUp
from bot.shards import EVERYTHING, Ownership

log = logging.getLogger(__name__)

WEEK_POST = "week_post"
WRAP_UP = "wrap_up"
LATE_GRACE = timedelta(minutes=10)
"""A post sent later than this after its moment says it is late (the bot was down)."""


@dataclass(frozen=True)
class ScheduledCohort:
    """One cohort with its roadmap and the moment each week opens."""

    cohort: Cohort
    roadmap: Roadmap
    openings: dict[int, datetime]

    @property
    def end(self) -> datetime | None:
        return self.openings.get(self.roadmap.total_weeks + 1)


@dataclass
class RunReport:
    posted: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, int]] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    scheduled: list[ScheduledCohort] = field(default_factory=list, repr=False)
    """The cohorts this run looked at, so the runner can schedule wake-ups without reading them again."""


class PostingService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        catalog: RoadmapCatalog,
        ledger: Ledger,
        port: DiscordPort,
        *,
        ownership: Ownership = EVERYTHING,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._catalog = catalog
        self._ledger = ledger
        self._port = port
        self._ownership = ownership

    async def scheduled_cohorts(self) -> list[ScheduledCohort]:
        """Every active cohort of this process's servers with its openings, in a fixed number of queries.

        Week posts, wrap-ups, reminders and digests all start from this list: its shard filter splits them all."""
        async with self._sessions() as session:
            active = select(Cohort).where(Cohort.status == CohortStatus.ACTIVE, self._ownership.where(Cohort.guild_id))
            cohorts = (await session.scalars(active)).all()
            ids = [c.id for c in cohorts]
            history = await histories(session, ids)
            version_ids = {c.roadmap_version_id for c in cohorts}
            versions = {
                v.id: v
                for v in (await session.scalars(select(RoadmapVersion).where(RoadmapVersion.id.in_(version_ids))))
            }
        scheduled = []
        for cohort in cohorts:
            roadmap = self._catalog.parse(versions[cohort.roadmap_version_id])
            timeline = build_timeline(cohort, roadmap.total_weeks, history[cohort.id])
            scheduled.append(ScheduledCohort(cohort, roadmap, week_openings(timeline)))
        return scheduled

    async def run_due(self) -> RunReport:
        """Send everything due by now that is not in the ledger yet (or failed and may be retried)."""
        now = self._clock.now()
        scheduled = await self.scheduled_cohorts()
        report = RunReport(scheduled=scheduled)
        done = await self._ledger.existing(WEEK_POST, [s.cohort.id for s in scheduled])
        for item in scheduled:
            try:
                in_order = await self._post_due_weeks(item, done, now, report)
            except Exception:
                # One cohort's bug must not stop every other cohort's posts; its row is retried like a failure.
                log.exception("posting for cohort %s failed unexpectedly", item.cohort.id)
                report.failed.append((item.cohort.name, 0))
                continue
            end = item.end
            if in_order and end is not None and end <= now:
                await self._complete(item, end, report)
        return report

    async def _post_due_weeks(
        self, item: ScheduledCohort, done: dict[tuple[str, str], LedgerEntry], now: datetime, report: RunReport
    ) -> bool:
        """Post this cohort's due weeks in order; stop at the first week not out yet, so order is kept."""
        cohort = item.cohort
        subject = f"cohort:{cohort.id}"
        for module in item.roadmap.modules:
            opened = item.openings.get(module.week)
            if opened is None or opened > now:
                return True
            period = f"week-{module.week}"
            existing = done.get((subject, period))
            if existing is not None and existing.state in (DeliveryState.SENT, DeliveryState.DROPPED):
                continue
            late = opened > cohort.created_at and now - opened > LATE_GRACE
            row = await self._take(existing, subject, period, opened, cohort.id, late)
            if row is None:
                return False  # backing off, or another worker has it: later weeks wait their turn
            post = WeekPost(
                cohort_id=cohort.id,
                cohort_name=cohort.name,
                channel_id=cohort.channel_id,
                moderator_channel_id=cohort.review_channel_id or cohort.channel_id,
                roadmap=item.roadmap,
                module=module,
                due=item.openings.get(module.last_week + 1),
                late_since=opened if row.late else None,
                delivery_id=row.id,
                may_exist=row.attempts > 1,
            )
            try:
                delivered = await self._deliver_week(row, post)
            except DeliveryFailed as exc:
                await self._record_failure(row, cohort, f"{module.label} post", exc)
                report.failed.append((cohort.name, module.week))
                return False
            except Exception as exc:
                await self._record_failure(row, cohort, f"{module.label} post", _unexpected(exc))
                raise
            (report.posted if delivered else report.failed).append((cohort.name, module.week))
        return True

    async def _deliver_week(self, row: Delivery, post: WeekPost) -> bool:
        """Send the parts not out yet, then open the thread; each step is recorded as soon as Discord took it.

        False when Discord refused the week in every form, so it was dropped."""
        total = self._port.week_parts(post)
        while row.parts_sent < total:
            try:
                message_id = await self._port.post_week_part(post, row.parts_sent)
                parts_sent = row.parts_sent + 1
            except DeliveryFailed as exc:
                if not exc.rejected:
                    raise
                short_id = await self._post_short(row, post, exc)
                if short_id is None:
                    return False
                message_id, parts_sent = short_id, total
            await self._ledger.part_sent(
                row, parts_sent, channel_id=post.channel_id, message_id=row.message_id or message_id
            )
            post = replace(post, may_exist=False)  # only the part an earlier attempt was cut off in may be out
        if row.thread_id is None and row.message_id is not None:
            try:
                await self._ledger.thread_opened(row, await self._port.open_week_thread(post, row.message_id))
            except DeliveryFailed as exc:
                if exc.retryable:
                    raise
                # The post itself is out: a missing thread is worth telling, never worth holding later weeks for.
                await self._tell_moderators(
                    post.moderator_channel_id,
                    f"'{post.cohort_name}': {post.module.label} is posted in <#{post.channel_id}>, but I could not "
                    f"open its discussion thread ({exc.reason}). Check that I may create public threads there.",
                )
        await self._ledger.sent(row, channel_id=row.channel_id, message_id=row.message_id)
        return True

    async def _post_short(self, row: Delivery, post: WeekPost, refused: DeliveryFailed) -> int | None:
        """Discord refused the full post (400): send the short form instead, or drop the week if even that fails.

        Either way the moderators hear of it and the cohort's later weeks are not held up behind it."""
        where = f"{post.module.label} of '{post.cohort_name}'"
        try:
            message_id = await self._port.post_week_short(post)
        except DeliveryFailed as exc:
            if not exc.rejected:
                raise
            await self._ledger.dropped(row, exc.reason)
            await self._tell_moderators(
                post.moderator_channel_id,
                f"Discord refused {where} ({refused.reason}), and its short form too ({exc.reason}). "
                f"I skipped it; learners can read it with `/roadmap week:{post.module.week}`.",
            )
            return None
        await self._tell_moderators(
            post.moderator_channel_id,
            f"Discord refused the full post of {where} ({refused.reason}), so I posted a short form in "
            f"<#{post.channel_id}> that points to `/roadmap week:{post.module.week}`.",
        )
        return message_id

    async def _take(
        self, existing: LedgerEntry | None, subject: str, period: str, due: datetime, cohort_id: int, late: bool
    ) -> Delivery | None:
        if existing is None:
            return await self._ledger.claim(WEEK_POST, subject, period, due_at=due, cohort_id=cohort_id, late=late)
        if existing.state is DeliveryState.FAILED:
            return await self._ledger.reclaim_failed(existing.id)
        return None

    async def _record_failure(self, row: Delivery, cohort: Cohort, what: str, exc: DeliveryFailed) -> None:
        attempts = await self._ledger.failed(row, exc.reason)
        log.warning("%s for cohort %s failed (attempt %d): %s", what, cohort.id, attempts, exc.reason)
        if attempts == REPORT_AFTER_ATTEMPTS or (not exc.retryable and attempts == 1):
            await self._tell_moderators(
                cohort.review_channel_id or cohort.channel_id,
                f"I could not send the {what} of '{cohort.name}' to <#{cohort.channel_id}>: {exc.reason}. "
                "I keep retrying; nothing is lost once the problem is fixed.",
            )

    async def _tell_moderators(self, channel_id: int, text: str) -> None:
        try:
            await self._port.tell_moderators(channel_id, text)
        except DeliveryFailed as exc:
            log.error("could not tell the moderators in channel %s: %s", channel_id, exc.reason)

    async def _complete(self, item: ScheduledCohort, end: datetime, report: RunReport) -> None:
        cohort = item.cohort
        row = await self._ledger.claim(WRAP_UP, f"cohort:{cohort.id}", "end", due_at=end, cohort_id=cohort.id)
        if row is not None:
            wrap_up = WrapUp(cohort.name, cohort.channel_id, item.roadmap, await self._active_members(cohort.id))
            try:
                message_id = await self._port.post_wrap_up(wrap_up)
            except DeliveryFailed as exc:
                # The cohort still completes; the wrap-up is a courtesy that moderators can repeat by hand.
                await self._record_failure(row, cohort, "wrap-up", exc)
            else:
                await self._ledger.sent(row, channel_id=cohort.channel_id, message_id=message_id)
        async with self._sessions.begin() as session:
            # Locked: a moderator's /cohort end committed meanwhile stays an end.
            stored = await session.get_one(Cohort, cohort.id, with_for_update=True)
            if stored.status is CohortStatus.ACTIVE:
                stored.status = CohortStatus.COMPLETED
                stored.enrollment_open = False
        report.completed.append(cohort.name)

    async def _active_members(self, cohort_id: int) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).where(
                    Membership.cohort_id == cohort_id, Membership.status == MembershipStatus.ACTIVE
                )
            )
            return count or 0


def _unexpected(exc: Exception) -> DeliveryFailed:
    return DeliveryFailed(f"unexpected error: {type(exc).__name__}", retryable=True)

