"""Certification tiers: record an award when an approval completes a tier, then give its role exactly once.

The award row is the truth. It is created once (unique per membership and tier, inserted with
"on conflict do nothing", so racing approvals create one), stays `pending` until Discord accepted
the role, and is then marked `granted`. Each attempt first claims the award by bumping its
`attempts` counter with a compare-and-set, so two tasks (or two processes) never both work on it,
and a granted award is never touched again. The congratulation and the announcement follow the
grant and are sent at most once. When Discord refuses, the moderators are told what to change, and
the award is retried by the schedule's sweep (backing off to hourly) and at once on the next approval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, bindparam, func, null, or_, select, type_coerce, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.changes import rows_changed
from bot.db.models import (
    AwardStatus,
    Cohort,
    Membership,
    MembershipStatus,
    RoadmapVersion,
    Submission,
    SubmissionStatus,
    TierAward,
    TierRole,
)
from bot.db.upsert import insert_unless_present
from bot.domain.notices import AwardBlocked, TierAnnounced, TierEarned, Weeks
from bot.errors import Conflict, InvalidInput
from bot.roadmap import Roadmap, Tier
from bot.services.catalog import RoadmapCatalog
from bot.services.cohorts import CohortService
from bot.services.events import CheckpointApproved
from bot.services.notify import Notifier
from bot.services.parsing import name_key
from bot.services.ports import DeliveryFailed, DiscordPort, RoleRequest
from bot.shards import EVERYTHING, Ownership

log = logging.getLogger(__name__)

SWEEP_BATCH = 50
"""Pending awards looked at per sweep; the rest wait for the next one."""
PER_SERVER = 10
"""At most this many of one server's awards per batch, so one server's backlog never starves the others."""
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
REPORT_RETRYABLE_AFTER = 3
"""Passing trouble (5xx, 429) is reported to moderators only once it has failed this many times."""


# What an approval's tier check reads, in two statements rather than four (built once).
_LOCKED_LEARNERS_ROADMAP = (
    select(Cohort.roadmap_version_id)
    .join(Membership, Membership.cohort_id == Cohort.id)
    .where(Membership.id == bindparam("membership"))
    .with_for_update(of=Membership)
)
_APPROVED_AND_HELD = union_all(
    select(Submission.week, type_coerce(null(), String)).where(
        Submission.membership_id == bindparam("membership"), Submission.status == SubmissionStatus.APPROVED
    ),
    select(type_coerce(null(), Integer), TierAward.tier_key).where(TierAward.membership_id == bindparam("membership")),
)
"""The learner's approved weeks (week, NULL) and the tiers they already hold (NULL, key)."""


@dataclass
class GrantReport:
    granted: list[tuple[int, str]] = field(default_factory=list)
    """(user id, tier key) given their role in this run."""
    failed: list[tuple[int, str]] = field(default_factory=list)
    waiting: int = 0
    """Pending awards not tried in this run (backing off, or blocked by the same problem as another)."""


@dataclass(frozen=True)
class _Pending:
    award: TierAward
    user_id: int
    cohort: Cohort
    roadmap: Roadmap
    tier: Tier
    mapped_role_id: int | None


class TierService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        cohorts: CohortService,
        catalog: RoadmapCatalog,
        notifier: Notifier,
        port: DiscordPort,
        *,
        ownership: Ownership = EVERYTHING,
    ) -> None:
        self._ownership = ownership
        self._sessions = sessions
        self._clock = clock
        self._cohorts = cohorts
        self._catalog = catalog
        self._notifier = notifier
        self._port = port
        self._guild_locks: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # Reacting to approvals.

    async def on_approved(self, event: CheckpointApproved) -> None:
        """Record any tier this approval completed, then give pending roles of this server in the background.

        The award is in the database before this returns; the Discord calls happen after the reviewer's
        click has been answered, so a slow Discord never makes the click fail."""
        await self.record_earned(event.membership_id)
        self._spawn(self.grant_pending(event.guild_id, respect_backoff=False))

    async def record_earned(self, membership_id: int) -> list[str]:
        """Create a pending award for every tier whose checkpoints are all approved; returns the new tier keys."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            # Locked: an erasure of this learner comes wholly before (nothing approved is left to earn
            # from) or after (it removes the pending award recorded here).
            version_id = (await session.execute(_LOCKED_LEARNERS_ROADMAP, {"membership": membership_id})).scalar_one()
            roadmap = await self._roadmap(session, version_id)
            approved, held = set(), set()
            for week, tier_key in await session.execute(_APPROVED_AND_HELD, {"membership": membership_id}):
                if tier_key is None:
                    approved.add(week)
                else:
                    held.add(tier_key)
            earned = [
                tier.key
                for tier in roadmap.tiers
                if tier.key not in held and all(m.week in approved for m in roadmap.tier_modules(tier))
            ]
            created = []
            insert = insert_unless_present(session, TierAward, ["membership_id", "tier_key"])
            for key in earned:
                added = await rows_changed(
                    session,
                    insert.values(
                        membership_id=membership_id,
                        tier_key=key,
                        status=AwardStatus.PENDING,
                        attempts=0,
                        earned_at=now,
                    ),
                )
                if added:
                    created.append(key)
        return created

    # Giving roles.

    async def sweep(self) -> GrantReport:
        """The schedule's periodic retry of pending awards, respecting each one's back-off."""
        return await self.grant_pending(None, respect_backoff=True)

    async def grant_pending(self, guild_id: int | None, *, respect_backoff: bool) -> GrantReport:
        """Try to give the role of pending awards (of one server, or all), the longest-waiting first."""
        report = GrantReport()
        items, departed = await self._load_pending(guild_id, respect_backoff=respect_backoff)
        if departed:
            await self._retire(departed)
        blocked: dict[tuple[int, int | str], datetime] = {}
        """(server, role) that just failed → when its awards are next due: they would hit the same wall."""
        deferred: dict[datetime, list[int]] = {}
        for item in items:
            same_role = (item.cohort.guild_id, item.mapped_role_id or item.tier.role)
            if same_role in blocked:
                deferred.setdefault(blocked[same_role], []).append(item.award.id)
                report.waiting += 1
                continue
            async with self._guild_lock(item.cohort.guild_id):
                outcome = await self._grant_one(item)
            if outcome is True:
                report.granted.append((item.user_id, item.tier.key))
            elif isinstance(outcome, datetime):
                report.failed.append((item.user_id, item.tier.key))
                blocked[same_role] = outcome
        for when, ids in deferred.items():
            await self._defer(ids, when)
        if report.granted or report.failed:
            log.info("tier roles: granted %s, failed %s", report.granted, report.failed)
        return report

    async def _retire(self, award_ids: list[int]) -> None:
        """Awards of learners who left (erasing one's data also leaves) are never to be given."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(TierAward)
                .where(TierAward.id.in_(award_ids), TierAward.status == AwardStatus.PENDING)
                .values(status=AwardStatus.RETIRED, next_attempt_at=None, last_error="The learner left the cohort.")
            )

    async def _load_pending(self, guild_id: int | None, *, respect_backoff: bool) -> tuple[list[_Pending], list[int]]:
        """Due pending awards, oldest-due first, at most PER_SERVER per server; and those whose learner left."""
        due = func.coalesce(TierAward.next_attempt_at, TierAward.earned_at)
        conditions = [TierAward.status == AwardStatus.PENDING, self._ownership.where(Cohort.guild_id)]
        if respect_backoff:
            now = self._clock.now()
            conditions.append(or_(TierAward.next_attempt_at.is_(None), TierAward.next_attempt_at <= now))
        if guild_id is not None:
            conditions.append(Cohort.guild_id == guild_id)
        ranked = (
            select(
                TierAward.id.label("award_id"),
                func.row_number().over(partition_by=Cohort.guild_id, order_by=(due, TierAward.id)).label("rank"),
            )
            .join(Membership, Membership.id == TierAward.membership_id)
            .join(Cohort, Cohort.id == Membership.cohort_id)
            .where(*conditions)
            .subquery()
        )
        query = (
            select(TierAward, Membership.user_id, Membership.status, Cohort)
            .join(ranked, ranked.c.award_id == TierAward.id)
            .join(Membership, Membership.id == TierAward.membership_id)
            .join(Cohort, Cohort.id == Membership.cohort_id)
            .where(ranked.c.rank <= PER_SERVER)
            .order_by(due, TierAward.id)
            .limit(SWEEP_BATCH)
        )
        async with self._sessions() as session:
            everyone = (await session.execute(query)).all()
            departed = [award.id for award, _, status, _ in everyone if status is MembershipStatus.LEFT]
            rows = [(award, user, cohort) for award, user, status, cohort in everyone if award.id not in departed]
            if not rows:
                return [], departed
            cohort_ids = {cohort.id for _, _, cohort in rows}
            version_ids = {cohort.roadmap_version_id for _, _, cohort in rows}
            versions = {
                v.id: v for v in await session.scalars(select(RoadmapVersion).where(RoadmapVersion.id.in_(version_ids)))
            }
            mapped = {
                (r.cohort_id, r.tier_key): r.role_id
                for r in await session.scalars(select(TierRole).where(TierRole.cohort_id.in_(cohort_ids)))
            }
        items = []
        for award, user_id, cohort in rows:
            roadmap = self._catalog.parse(versions[cohort.roadmap_version_id])
            tier = roadmap.tier(award.tier_key)
            if tier is None:
                log.warning("award %s names tier %r that its roadmap no longer has", award.id, award.tier_key)
                continue
            items.append(_Pending(award, user_id, cohort, roadmap, tier, mapped.get((cohort.id, tier.key))))
        return items, departed

    async def _grant_one(self, item: _Pending) -> bool | datetime | None:
        """True: granted now. A moment: Discord refused, next try then. None: someone else has it (or it is gone)."""
        award, cohort, tier = item.award, item.cohort, item.tier
        attempt = await self._claim(award)
        if attempt is None:
            return None
        try:
            role_id = await self._port.resolve_role(
                RoleRequest(
                    guild_id=cohort.guild_id,
                    role_id=item.mapped_role_id or award.role_id,
                    name=None if item.mapped_role_id else tier.role,
                    color=int(tier.color.lstrip("#"), 16),
                    reason=f"Certification tier {tier.name} of {cohort.name}",
                )
            )
            if role_id != award.role_id:
                await self._update(award.id, role_id=role_id)
            await self._port.add_role(cohort.guild_id, item.user_id, role_id, f"Completed {tier.name} in {cohort.name}")
        except DeliveryFailed as exc:
            return await self._failed(item, attempt, exc)
        granted = await self._update(
            award.id,
            status=AwardStatus.GRANTED,
            granted_at=self._clock.now(),
            role_id=role_id,
            last_error=None,
            next_attempt_at=None,
        )
        if granted:
            await self._celebrate(item, role_id)
        return True

    async def _claim(self, award: TierAward) -> int | None:
        """Take the award for one attempt (compare-and-set on `attempts`); None when another worker has it."""
        async with self._sessions.begin() as session:
            taken = await rows_changed(
                session,
                update(TierAward)
                .where(
                    TierAward.id == award.id,
                    TierAward.status == AwardStatus.PENDING,
                    TierAward.attempts == award.attempts,
                )
                .values(attempts=TierAward.attempts + 1),
            )
        return award.attempts + 1 if taken == 1 else None

    async def _update(self, award_id: int, **values: Any) -> bool:
        """Change a pending award; False when it is no longer pending (erased or retired meanwhile)."""
        async with self._sessions.begin() as session:
            changed = await rows_changed(
                session,
                update(TierAward)
                .where(TierAward.id == award_id, TierAward.status == AwardStatus.PENDING)
                .values(**values),
            )
        return changed == 1

    async def _defer(self, award_ids: list[int], when: datetime) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(TierAward)
                .where(TierAward.id.in_(award_ids), TierAward.status == AwardStatus.PENDING)
                .values(next_attempt_at=when)
            )

    async def _failed(self, item: _Pending, attempt: int, exc: DeliveryFailed) -> datetime:
        award, cohort, tier = item.award, item.cohort, item.tier
        reason = exc.reason.rstrip(".")[:499] + "."
        next_try: datetime = self._clock.now() + min(FIRST_RETRY * 2 ** (attempt - 1), LONGEST_RETRY)
        await self._update(award.id, last_error=reason, next_attempt_at=next_try)
        log.warning("could not give tier %s to user %s (attempt %d): %s", tier.key, item.user_id, attempt, reason)
        if reason == award.last_error or (exc.retryable and attempt < REPORT_RETRYABLE_AFTER):
            return next_try  # already told about this very problem, or it may pass on its own
        blocked = AwardBlocked(item.user_id, tier.name, cohort.name, reason)
        try:
            await self._port.tell_moderators(cohort.review_channel_id or cohort.channel_id, blocked)
        except DeliveryFailed as report_exc:
            log.error("could not tell the moderators of cohort %s: %s", cohort.id, report_exc.reason)
        return next_try

    async def _celebrate(self, item: _Pending, role_id: int) -> None:
        cohort, tier, roadmap, user_id = item.cohort, item.tier, item.roadmap, item.user_id
        weeks = Weeks.of(roadmap.tier_modules(tier))
        following = _tier_after(roadmap, tier)
        onward = (following.name, Weeks.of(roadmap.tier_modules(following))) if following is not None else None
        earned = TierEarned(cohort.name, tier.name, weeks, role_id, onward)
        try:
            await self._notifier.notify(cohort.guild_id, user_id, cohort.channel_id, earned)
        except DeliveryFailed as exc:
            log.warning("could not congratulate user %s on tier %s: %s", user_id, tier.key, exc.reason)
        news = TierAnnounced(user_id, tier.name, weeks, roadmap.title, role_id)
        try:
            await self._port.post_announcement(cohort.channel_id, news)
        except DeliveryFailed as exc:
            log.warning("could not announce tier %s of user %s: %s", tier.key, user_id, exc.reason)

    # Moderators: which role a tier gives.

    async def set_tier_role(self, guild_id: int, cohort_name: str, tier_key: str, role_id: int) -> tuple[str, Tier]:
        """Use an existing role for one tier of one cohort; pending awards of the server are retried with it."""
        async with self._sessions.begin() as session:
            cohort = await self._cohorts.find(session, guild_id, cohort_name, for_update=True)
            roadmap = await self._roadmap(session, cohort.roadmap_version_id)
            tier = _find_tier(roadmap, tier_key)
            row = await session.scalar(
                select(TierRole).where(TierRole.cohort_id == cohort.id, TierRole.tier_key == tier.key)
            )
            if row is None:
                session.add(TierRole(cohort_id=cohort.id, tier_key=tier.key, role_id=role_id))
            else:
                row.role_id = role_id
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict("Another moderator set this tier's role at the same moment; try again.") from None
            name = cohort.name
        self._spawn(self.grant_pending(guild_id, respect_backoff=False))
        return name, tier

    async def tiers_of(self, guild_id: int, cohort_name: str) -> list[Tier]:
        """The tiers of a cohort's roadmap (for autocomplete); none when the cohort is unknown."""
        async with self._sessions() as session:
            cohort = await session.scalar(
                select(Cohort).where(Cohort.guild_id == guild_id, Cohort.name_key == name_key(cohort_name))
            )
            if cohort is None:
                return []
            return list((await self._roadmap(session, cohort.roadmap_version_id)).tiers)

    async def _roadmap(self, session: AsyncSession, version_id: int) -> Roadmap:
        return (await self._catalog.roadmap_of(session, version_id))[0]

    # Background work.

    def _guild_lock(self, guild_id: int) -> asyncio.Lock:
        """One grant at a time per server, so two learners finishing together never create the role twice."""
        return self._guild_locks.setdefault(guild_id, asyncio.Lock())

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(self._logged(work), name="tier-grants")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _logged(work: Coroutine[Any, Any, Any]) -> None:
        try:
            await work
        except Exception:
            log.exception("giving tier roles failed; the schedule's sweep will try again")

    async def settle(self) -> None:
        """Wait for background grants (tests and the demo read a settled state)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()


def _find_tier(roadmap: Roadmap, key: str) -> Tier:
    wanted = key.strip().casefold()
    tier = next((t for t in roadmap.tiers if wanted in (t.key, t.name.casefold())), None)
    if tier is None:
        known = ", ".join(f"`{t.key}` ({t.name})" for t in roadmap.tiers) or "none"
        raise InvalidInput(f"'{roadmap.title}' has no tier '{key}'. Its tiers: {known}.")
    return tier


def _tier_after(roadmap: Roadmap, tier: Tier) -> Tier | None:
    tiers = list(roadmap.tiers)
    index = tiers.index(tier)
    return tiers[index + 1] if index + 1 < len(tiers) else None

