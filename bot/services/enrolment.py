"""Joining and leaving cohorts, and which cohort a learner means when they do not say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.columns import MEMBER
from bot.db.models import AwardStatus, Cohort, CohortStatus, Membership, MembershipStatus, TierAward
from bot.errors import Conflict, NotFound
from bot.services.cohorts import OPEN_STATUSES, CohortService, CohortView
from bot.services.quotas import JOINS, take
from bot.services.streak_book import Member, first_row

# Which membership a command is about is asked by nearly every command: built once, with their cache keys.
_MEMBERSHIP = select(Membership).where(
    Membership.cohort_id == bindparam("cohort"),
    Membership.user_id == bindparam("user"),
    Membership.status == MembershipStatus.ACTIVE,
)
_LOCKED_MEMBERSHIP = _MEMBERSHIP.with_for_update()
_ACTIVE_MEMBERSHIPS = (
    select(Cohort, Membership)
    .join(Membership, Membership.cohort_id == Cohort.id)
    .where(
        Membership.guild_id == bindparam("guild"),
        Membership.user_id == bindparam("user"),
        Membership.status == MembershipStatus.ACTIVE,
    )
    .order_by(Cohort.created_at, Cohort.id)
)
_LOCKED_ACTIVE_MEMBERSHIPS = _ACTIVE_MEMBERSHIPS.with_for_update(of=Membership)
# /join's own, plain Core (a join is the rush's dearest command: the ORM's flush and its built statements were a
# third of it).
_MEMBERSHIPS = cast(Table, Membership.__table__)
_JOINING = (
    select(MEMBER.id, MEMBER.status)
    .where(MEMBER.cohort_id == bindparam("cohort"), MEMBER.user_id == bindparam("user"))
    .with_for_update()
)
_ENROL = insert(_MEMBERSHIPS).returning(MEMBER.id)
_REJOINED = (
    update(_MEMBERSHIPS)
    .where(MEMBER.id == bindparam("membership"))
    .values(status=MembershipStatus.ACTIVE, display_name=bindparam("name"), joined_at=bindparam("at"), left_at=None)
)


@dataclass(frozen=True)
class JoinResult:
    view: CohortView
    rejoined: bool


class EnrolmentService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, cohorts: CohortService) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cohorts = cohorts

    async def join(self, guild_id: int, cohort_name: str | None, user_id: int, display_name: str) -> JoinResult:
        async with self._sessions.begin() as session:
            cohort = await self._cohort_to_join(session, guild_id, cohort_name)
            # Locked: of two clicks that rejoin, the second waits here and then finds the membership active. Two
            # first joins both find none: the unique constraint refuses the second.
            found = (await session.execute(_JOINING, {"cohort": cohort.id, "user": user_id})).first()
            if found is not None and found.status is MembershipStatus.ACTIVE:
                raise Conflict(f"You are already in '{cohort.name}'. /progress shows where you stand.")
            now, shown_as = self._clock.now(), display_name[:100]
            await take(session, JOINS, now, guild_id, user_id)
            if found is None:
                try:
                    membership_id = (await session.execute(_ENROL, {
                        "cohort_id": cohort.id, "guild_id": guild_id, "user_id": user_id,
                        "display_name": shown_as, "status": MembershipStatus.ACTIVE, "joined_at": now,
                    })).scalar_one()
                except IntegrityError:
                    # The other of two first /join clicks enrolled them a moment ago.
                    raise Conflict(f"You are already in '{cohort.name}'.") from None
            else:
                membership_id = found.id
                await session.execute(_REJOINED, {"membership": membership_id, "name": shown_as, "at": now})
                # Tiers earned before leaving were retired, not forgotten: back in the queue of roles to give.
                await session.execute(
                    update(TierAward)
                    .where(TierAward.membership_id == membership_id, TierAward.status == AwardStatus.RETIRED)
                    .values(status=AwardStatus.PENDING, next_attempt_at=None, last_error=None)
                )
            await first_row(session, Member(membership_id, cohort.id, cohort.timezone), guild_id, user_id, now)
            return JoinResult(await self._cohorts.view(session, cohort, count_members=False), found is not None)

    async def leave(self, guild_id: int, cohort_name: str | None, user_id: int) -> CohortView:
        async with self._sessions.begin() as session:
            membership, cohort = await self.membership(session, guild_id, cohort_name, user_id, for_update=True)
            membership.status = MembershipStatus.LEFT
            membership.left_at = self._clock.now()
            await session.flush()
            return await self._cohorts.view(session, cohort)

    async def check_member(self, guild_id: int, cohort_name: str | None, user_id: int) -> CohortView:
        """The cohort the learner means, refusing when they are not in it (used before a confirm button)."""
        async with self._sessions() as session:
            _, cohort = await self.membership(session, guild_id, cohort_name, user_id)
            return await self._cohorts.view(session, cohort)

    async def cohort_for_reading(self, guild_id: int, cohort_name: str | None, user_id: int) -> CohortView:
        """For /roadmap: the named cohort, else the learner's only cohort, else the server's only one."""
        async with self._sessions() as session:
            if cohort_name:
                return await self._cohorts.view(session, await self._cohorts.find(session, guild_id, cohort_name))
            candidates = [cohort for cohort, _ in await self._active_memberships_of(session, guild_id, user_id)]
            if not candidates:
                candidates = list(
                    (
                        await session.scalars(
                            select(Cohort).where(Cohort.guild_id == guild_id).order_by(Cohort.created_at, Cohort.id)
                        )
                    ).all()
                )
            return await self._cohorts.view(session, await self._only_cohort(session, guild_id, candidates))

    async def membership(
        self,
        session: AsyncSession,
        guild_id: int,
        cohort_name: str | None,
        user_id: int,
        *,
        asker_id: int | None = None,
        for_update: bool = False,
    ) -> tuple[Membership, Cohort]:
        """The active membership meant; refusals speak to the asker (a moderator may ask about someone).

        `for_update` locks it until commit: a unit of work that writes under it (a submission, an
        extension, leaving) then runs wholly before or after an erasure or a second click."""
        you = asker_id is None or asker_id == user_id
        who, are = ("You", "are") if you else (f"<@{user_id}>", "is")
        if cohort_name:
            cohort = await self._cohorts.find(session, guild_id, cohort_name)
        else:
            mine = await self._active_memberships_of(session, guild_id, user_id, for_update=for_update)
            if not mine:
                advice = "/join one first." if you else "Name the cohort with the `cohort` option to check."
                raise NotFound(f"{who} {are} not in any cohort on this server. {advice}")
            if len(mine) > 1:
                names = ", ".join(f"'{c.name}'" for c, _ in mine)
                raise Conflict(f"{who} {are} in several cohorts ({names}); say which one with the `cohort` option.")
            cohort, active = mine[0]
            return active, cohort  # read (and locked) with its cohort: one statement fewer for most commands
        membership = await session.scalar(_LOCKED_MEMBERSHIP if for_update else _MEMBERSHIP,
                                          {"cohort": cohort.id, "user": user_id})
        if membership is None:
            advice = " Use /join to enrol." if you else ""
            raise NotFound(f"{who} {are} not in '{cohort.name}'.{advice}")
        return membership, cohort

    async def _cohort_to_join(self, session: AsyncSession, guild_id: int, cohort_name: str | None) -> Cohort:
        # The cohort's row is share-locked: a moderator's change to it (closing enrolment, ending it) waits for the
        # joins under way or they for it, but joins do not wait for each other. Under FOR UPDATE they took turns
        # on the row for their whole unit of work, each holding a pooled connection while it waited, and in a
        # deadline rush every other command waited for a connection behind them.
        if cohort_name:
            cohort = await self._cohorts.find(session, guild_id, cohort_name, for_share=True)
        else:
            open_cohorts = (
                await session.scalars(
                    select(Cohort).where(
                        Cohort.guild_id == guild_id,
                        Cohort.status.in_(OPEN_STATUSES),
                        Cohort.enrollment_open.is_(True),
                    )
                    .order_by(Cohort.created_at, Cohort.id)
                )
            ).all()
            chosen = await self._only_cohort(session, guild_id, list(open_cohorts))
            cohort = await session.get_one(Cohort, chosen.id, with_for_update={"read": True}, populate_existing=True)
        if cohort.status not in OPEN_STATUSES or not cohort.enrollment_open:
            state = "has ended" if cohort.status in (CohortStatus.ENDED, CohortStatus.COMPLETED) else "is closed"
            raise Conflict(f"Enrolment in '{cohort.name}' {state}. Ask a moderator which cohort to join.")
        return cohort

    @staticmethod
    async def _only_cohort(session: AsyncSession, guild_id: int, candidates: list[Cohort]) -> Cohort:
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise NotFound("There is no open cohort on this server yet. A moderator can create one.")
        names = ", ".join(f"'{c.name}'" for c in candidates)
        raise Conflict(f"This server has several cohorts ({names}); say which one with the `cohort` option.")

    @staticmethod
    async def _active_memberships_of(
        session: AsyncSession, guild_id: int, user_id: int, *, for_update: bool = False
    ) -> list[tuple[Cohort, Membership]]:
        statement = _LOCKED_ACTIVE_MEMBERSHIPS if for_update else _ACTIVE_MEMBERSHIPS
        rows = await session.execute(statement, {"guild": guild_id, "user": user_id})
        return [(cohort, membership) for cohort, membership in rows]
