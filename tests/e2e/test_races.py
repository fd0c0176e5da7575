"""Races on both databases: two people doing clashing things at the same moment end in one acceptable state.

Each test runs ROUNDS rounds. In a round the clashing calls start together (released by one event,
each in its own session and connection) against the real bot's services, the real database and the
sandbox; exactly one of the outcomes a person would accept must come out, and the loser must get a
domain error that says what happened, never a crash or the generic apology.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from bot.clock import ManualClock
from bot.db.engine import create_engine, session_factory
from bot.db.models import (
    AwardStatus,
    CheckIn,
    CohortPause,
    DailyStreak,
    Delivery,
    GuildSettings,
    LearnerSettings,
    Membership,
    MembershipStatus,
    Review,
    ReviewDecision,
    RoadmapVersion,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    TierAward,
)
from bot.errors import Conflict, DomainError, NotFound
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Member, Message, Reply, Sandbox
from bot.services.activity import activity_of, member_daily_streak
from bot.services.cohorts import NewCohort
from bot.services.progress import RankBy
from bot.services.streak_book import NEVER_PAUSED
from bot.services.submissions import Decision, SubmissionCard, SubmissionRequest
from tests.e2e.helpers import (
    UPLOAD_ID,
    WEEK_1,
    create_cohort,
    uploaded_yaml,
    week_posts,
)

ROUNDS = 20
COHORT = "Spring"
TIER_ROLE = "ML Foundations"
"""The role of the first tier of `ml-for-senior-engineers` (weeks 1-3)."""


async def together(*calls: Awaitable[Any]) -> list[Any]:
    """Start every call as a task, release them at the same moment, and return each result or exception."""
    gate = asyncio.Event()

    async def run(call: Awaitable[Any]) -> Any:
        await gate.wait()
        return await call

    tasks = [asyncio.create_task(run(call)) for call in calls]
    await asyncio.sleep(0)
    gate.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def winner_and_loser(results: list[Any]) -> tuple[int, DomainError]:
    """The index of the one call that succeeded, and the domain error the other one got."""
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1, f"expected exactly one loser, got {[type(r).__name__ for r in results]}"
    assert isinstance(failures[0], DomainError), f"the loser crashed: {failures[0]!r}"
    return next(i for i, r in enumerate(results) if not isinstance(r, BaseException)), failures[0]


async def start(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, roadmap: str = "ml-ai-study-guide"
) -> None:
    await create_cohort(sandbox, server, roadmap=roadmap)
    clock.set(WEEK_1)
    await bot.bot.runner.settle()
    await bot.bot.runner.run_due()


@pytest.fixture
async def spring(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock) -> None:
    """The cohort of the tests that need no particular roadmap, in its first week."""
    await start(sandbox, server, bot, clock)


async def newcomers(server: StudyServer, bot: RunningBot, *, join: bool = True) -> AsyncIterator[Member]:
    """A new member of the server for each round, enrolled in the cohort unless `join` is False."""
    for i in range(ROUNDS):
        member = server.guild.add_member(f"learner{i}")
        if join:
            await bot.bot.enrolment.join(server.guild.id, COHORT, member.id, member.name)
        yield member


async def submit(bot: RunningBot, server: StudyServer, learner: Member, week: int | None = None) -> SubmissionCard:
    request = SubmissionRequest(
        server.guild.id, learner.id, COHORT, week, f"https://example.org/{learner.name}/{week}", None
    )
    return await bot.bot.submissions.submit(request)


async def decide(
    bot: RunningBot, server: StudyServer, card: SubmissionCard, decision: ReviewDecision = ReviewDecision.APPROVED
) -> Decision:
    result = await bot.bot.submissions.decide(
        server.guild.id, card.submission_id, card.version, server.moderator.id, decision,
        "please add plots" if decision is ReviewDecision.CHANGES_REQUESTED else None,
    )
    await bot.bot.outbox.deliver(result.owed)  # as the review button does: the tier check, the learner's notice
    return result


async def submission_state(bot: RunningBot, submission_id: int) -> tuple[SubmissionStatus, int, int, int]:
    """(status, current version, versions stored, reviews stored) of one submission."""
    async with bot.bot.sessions() as session:
        row = await session.get_one(Submission, submission_id)
        versions = await session.scalar(
            select(func.count()).where(SubmissionVersion.submission_id == submission_id)
        )
        reviews = await session.scalar(
            select(func.count())
            .select_from(Review)
            .join(SubmissionVersion, SubmissionVersion.id == Review.submission_version_id)
            .where(SubmissionVersion.submission_id == submission_id)
        )
    return row.status, row.current_version, versions or 0, reviews or 0


# Submissions and their review.


@pytest.mark.usefixtures("spring")
async def test_approve_vs_resubmit_ends_approved_or_replaced_never_both(server: StudyServer, bot: RunningBot) -> None:
    async for learner in newcomers(server, bot):
        first = await submit(bot, server, learner)
        results = await together(decide(bot, server, first), submit(bot, server, learner))
        winner, loser = winner_and_loser(results)
        state = await submission_state(bot, first.submission_id)
        if winner == 0:
            assert state == (SubmissionStatus.APPROVED, 1, 1, 1)
            assert "already approved" in loser.message
        else:
            assert state == (SubmissionStatus.PENDING, 2, 2, 0)
            assert "replaced by a newer one" in loser.message


@pytest.mark.usefixtures("spring")
async def test_approve_vs_request_changes_records_one_decision(server: StudyServer, bot: RunningBot) -> None:
    async for learner in newcomers(server, bot):
        card = await submit(bot, server, learner)
        results = await together(
            decide(bot, server, card), decide(bot, server, card, ReviewDecision.CHANGES_REQUESTED)
        )
        winner, loser = winner_and_loser(results)
        status, version, versions, reviews = await submission_state(bot, card.submission_id)
        expected = SubmissionStatus.APPROVED if winner == 0 else SubmissionStatus.CHANGES_REQUESTED
        assert (status, version, versions, reviews) == (expected, 1, 1, 1)
        said = "approved" if winner == 0 else "requested changes on"
        assert f"<@{server.moderator.id}> already {said} this one" in loser.message


@pytest.mark.usefixtures("spring")
async def test_approve_vs_approve_approves_once(server: StudyServer, bot: RunningBot) -> None:
    async for learner in newcomers(server, bot):
        card = await submit(bot, server, learner)
        _, loser = winner_and_loser(await together(decide(bot, server, card), decide(bot, server, card)))
        assert await submission_state(bot, card.submission_id) == (SubmissionStatus.APPROVED, 1, 1, 1)
        assert "already approved this one" in loser.message


@pytest.mark.usefixtures("spring")
async def test_two_first_submissions_at_once_are_numbered_one_after_the_other(
    server: StudyServer, bot: RunningBot
) -> None:
    async for learner in newcomers(server, bot):
        results = await together(submit(bot, server, learner), submit(bot, server, learner))
        # Both are accepted one after the other (the second replaces the first), or the second is refused.
        cards = [r for r in results if isinstance(r, SubmissionCard)]
        assert all(isinstance(r, SubmissionCard | Conflict) for r in results), results
        state = await submission_state(bot, cards[0].submission_id)
        assert state == (SubmissionStatus.PENDING, len(cards), len(cards), 0)
        assert sorted(c.version for c in cards) == list(range(1, len(cards) + 1))


# Cohorts.


@pytest.mark.usefixtures("spring")
async def test_pause_vs_pause_pauses_once_and_resume_closes_it(
    server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    cohorts, guild, mod = bot.bot.cohorts, server.guild.id, server.moderator.id
    for _ in range(ROUNDS):
        clock.advance(timedelta(hours=3))  # at most 8 pauses in any day: within the pause quota (10 a day)
        _, loser = winner_and_loser(
            await together(cohorts.pause(guild, COHORT, mod), cohorts.pause(guild, COHORT, mod))
        )
        assert isinstance(loser, Conflict) and f"'{COHORT}' is already paused" in loser.message
        clock.advance(timedelta(minutes=1))
        _, loser = winner_and_loser(
            await together(cohorts.resume(guild, COHORT, mod), cohorts.resume(guild, COHORT, mod))
        )
        assert isinstance(loser, Conflict) and "is not paused" in loser.message
    async with bot.bot.sessions() as session:
        pauses = (await session.scalars(select(CohortPause))).all()
    assert len(pauses) == ROUNDS
    assert all(p.resumed_at is not None for p in pauses)


async def test_advance_vs_the_minute_sweep_posts_every_week_once_in_order(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start(sandbox, server, bot, clock, roadmap="ml-ai-expert")
    runner, cohorts = bot.bot.runner, bot.bot.cohorts
    for _ in range(ROUNDS):
        clock.advance(timedelta(minutes=1))
        results = await together(
            cohorts.advance(server.guild.id, COHORT, None, server.moderator.id), runner.run_due()
        )
        assert not any(isinstance(r, BaseException) for r in results), results
    await runner.settle()
    await runner.run_due()
    view = await cohorts.get(server.guild.id, COHORT)
    opened = [m for m in view.roadmap.modules if view.is_open(m)]
    assert len(opened) == ROUNDS + 1
    posts = week_posts(sandbox, server)
    assert len(posts) == len(opened) and len(set(posts)) == len(posts)
    assert [post.split(" · ")[0] for post in posts] == [m.label for m in opened]
    threads = [c for c in server.guild.channels.values() if c.parent_id == server.cohort_channel.id]
    assert len(threads) == len(opened)
    async with bot.bot.sessions() as session:
        states = (await session.scalars(select(Delivery.state).where(Delivery.kind == "week_post"))).all()
    assert len(states) == len(opened) and {s.value for s in states} == {"sent"}


async def test_advance_vs_advance_opens_one_week_and_tells_the_other_who_did(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start(sandbox, server, bot, clock, roadmap="ml-ai-expert")
    cohorts, guild = bot.bot.cohorts, server.guild.id
    other = server.guild.add_member("second-moderator")
    opened = []
    for _ in range(ROUNDS):
        clock.advance(timedelta(minutes=1))
        before = await cohorts.get(guild, COHORT)
        winner, loser = winner_and_loser(
            await together(cohorts.advance(guild, COHORT, None, server.moderator.id),
                           cohorts.advance(guild, COHORT, None, other.id))
        )
        after = await cohorts.get(guild, COHORT)
        upcoming = [m.week for m in after.roadmap.modules if m.week > before.current_week]
        assert after.current_week == upcoming[0], "one week opened, not two"
        assert isinstance(loser, Conflict), loser
        who = (server.moderator.id, other.id)[winner]
        assert loser.message.startswith(f"<@{who}> advanced '{COHORT}' to week {upcoming[0]} a moment ago."), loser
        assert f"`to_week:{upcoming[1]}`" in loser.message
        opened.append(upcoming[0])
    assert len(set(opened)) == ROUNDS


# Enrolment.


@pytest.mark.usefixtures("spring")
async def test_join_vs_join_enrols_once_and_tells_the_other_they_are_in(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    enrolment, guild = bot.bot.enrolment, server.guild.id
    async for learner in newcomers(server, bot, join=False):
        for rejoin in (False, True):
            _, loser = winner_and_loser(
                await together(
                    enrolment.join(guild, COHORT, learner.id, learner.name),
                    enrolment.join(guild, None, learner.id, learner.name),
                )
            )
            assert isinstance(loser, Conflict) and f"You are already in '{COHORT}'" in loser.message
            async with bot.bot.sessions() as session:
                rows = (await session.scalars(select(Membership).where(Membership.user_id == learner.id))).all()
            assert [r.status for r in rows] == [MembershipStatus.ACTIVE], (learner.name, rejoin)
            if not rejoin:
                await enrolment.leave(guild, COHORT, learner.id)


@pytest.mark.usefixtures("spring")
async def test_joins_do_not_wait_for_each_other_but_ending_the_cohort_waits_for_a_join_under_way(
    server: StudyServer, bot: RunningBot
) -> None:
    """On PostgreSQL a join share-locks its cohort's row: another join goes ahead, a moderator's change waits."""
    if bot.bot.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns for the whole database (see test_engine.py)")
    guild, cohort_id = server.guild.id, (await bot.bot.cohorts.get(server.guild.id, COHORT)).cohort.id
    first, second, late = (server.guild.add_member(name) for name in ("first", "second", "late"))
    elsewhere = create_engine(bot.bot.engine.url.render_as_string(hide_password=False))
    try:
        # The first learner's join, under way in another process: its lock taken, its membership not yet committed.
        async with session_factory(elsewhere).begin() as under_way:
            await under_way.execute(text("SELECT id FROM cohorts WHERE id = :id FOR SHARE"), {"id": cohort_id})
            under_way.add(Membership(cohort_id=cohort_id, guild_id=guild, user_id=first.id, display_name="first",
                                     status=MembershipStatus.ACTIVE, joined_at=WEEK_1))
            await under_way.flush()
            joined = await asyncio.wait_for(bot.bot.enrolment.join(guild, COHORT, second.id, "second"), 30)
            assert joined.view.name == COHORT
            ending = asyncio.create_task(bot.bot.cohorts.end(guild, COHORT, server.moderator.id))
            await asyncio.sleep(0.5)
            assert not ending.done(), "the cohort ended under a join that had not finished"
        await asyncio.wait_for(ending, 30)
    finally:
        await elsewhere.dispose()
    with pytest.raises(Conflict, match="has ended"):
        await bot.bot.enrolment.join(guild, COHORT, late.id, "late")
    async with bot.bot.sessions() as session:
        members = set(await session.scalars(select(Membership.user_id).where(Membership.cohort_id == cohort_id)))
    assert {first.id, second.id} <= members and late.id not in members


# Tiers and erasure.


async def earn_all_but_the_last(bot: RunningBot, server: StudyServer, learner: Member) -> SubmissionCard:
    """Approve weeks 1-2 of the senior-engineers foundations tier (weeks 1-3); returns week 3's pending card."""
    for week in (1, 2):
        await decide(bot, server, await submit(bot, server, learner, week))
    return await submit(bot, server, learner, 3)


async def start_senior_cohort(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock) -> None:
    await start(sandbox, server, bot, clock, roadmap="ml-for-senior-engineers")
    await bot.bot.cohorts.advance(server.guild.id, COHORT, 3, server.moderator.id)
    await bot.bot.runner.settle()


async def tier_awards(bot: RunningBot, membership_ids: list[int]) -> list[TierAward]:
    async with bot.bot.sessions() as session:
        query = select(TierAward).where(TierAward.membership_id.in_(membership_ids))
        return list((await session.scalars(query)).all())


async def membership_id(bot: RunningBot, server: StudyServer, learner: Member) -> int:
    async with bot.bot.sessions() as session:
        return await session.scalar(
            select(Membership.id).where(Membership.guild_id == server.guild.id, Membership.user_id == learner.id)
        )


async def test_tier_role_vs_approval_gives_one_role_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start_senior_cohort(sandbox, server, bot, clock)
    tiers = bot.bot.tiers
    mapped_before: set[int] = set()
    async for learner in newcomers(server, bot):
        last = await earn_all_but_the_last(bot, server, learner)
        role = server.guild.add_role(f"Foundations {learner.name}", position=1)
        results = await together(
            decide(bot, server, last),
            tiers.set_tier_role(server.guild.id, COHORT, "foundations", role.id),
        )
        assert not any(isinstance(r, BaseException) for r in results), results
        await tiers.settle()
        [award] = await tier_awards(bot, [await membership_id(bot, server, learner)])
        assert award.status is AwardStatus.GRANTED and award.attempts == 1
        # The new mapping if it came first, else what the tier used until then.
        acceptable = {role.id} | (mapped_before or {r.id for r in server.guild.roles.values() if r.name == TIER_ROLE})
        assert award.role_id in acceptable
        held = [r for r in learner.roles if r.name.startswith(("Foundations", TIER_ROLE))]
        assert [r.id for r in held] == [award.role_id]
        mapped_before = {role.id}
    earned = [m for m in sandbox.messages_in(server.cohort_channel) if "earned **" in m.content]
    assert len(earned) == ROUNDS


async def test_erase_vs_approval_leaves_nothing_of_the_learner(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start_senior_cohort(sandbox, server, bot, clock)
    async for learner in newcomers(server, bot):
        last = await earn_all_but_the_last(bot, server, learner)
        membership = await membership_id(bot, server, learner)
        results = await together(
            decide(bot, server, last), bot.bot.mydata.erase(server.guild.id, learner.id)
        )
        assert not isinstance(results[1], BaseException), results
        if isinstance(results[0], BaseException):
            assert isinstance(results[0], NotFound) and "no longer exists" in results[0].message
        await bot.bot.tiers.settle()
        async with bot.bot.sessions() as session:
            kept = await session.scalar(select(func.count()).where(Submission.membership_id == membership))
            row = await session.get_one(Membership, membership)
        assert kept == 0 and row.user_id < 0
        # An award earned before the erasure may have been granted; none is left waiting for nobody.
        assert all(a.status is AwardStatus.GRANTED for a in await tier_awards(bot, [membership]))


@pytest.mark.usefixtures("spring")
async def test_erase_vs_check_in_or_submit_leaves_nothing_of_the_learner(
    server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    guild, enrolment = server.guild.id, bot.bot.enrolment
    channel, mod = server.cohort_channel.id, server.moderator.id
    await bot.bot.cohorts.create(NewCohort(guild, "Autumn", "ml-ai-study-guide", "2026-03-02", channel, mod))
    async for learner in newcomers(server, bot, join=False):
        # In both cohorts, joined in the other order than they were created: erase and /checkin lock both.
        for cohort in ("Autumn", COHORT):
            await enrolment.join(guild, cohort, learner.id, learner.name)
            clock.advance(timedelta(seconds=1))
        async with bot.bot.sessions() as session:
            mine = (await session.scalars(select(Membership.id).where(Membership.user_id == learner.id))).all()
        results = await together(
            bot.bot.progress.check_in(guild, learner.id, 30, "linear algebra"),
            submit(bot, server, learner),
            bot.bot.mydata.erase(guild, learner.id),
        )
        assert not isinstance(results[2], BaseException), results
        for late in results[:2]:
            if isinstance(late, BaseException):
                assert isinstance(late, NotFound) and "You are not in" in late.message, late
        async with bot.bot.sessions() as session:
            checkins = await session.scalar(select(func.count()).where(CheckIn.membership_id.in_(mine)))
            submissions = await session.scalar(select(func.count()).where(Submission.membership_id.in_(mine)))
        assert (checkins, submissions) == (0, 0)


@pytest.mark.usefixtures("spring")
async def test_leave_vs_leave_leaves_once(server: StudyServer, bot: RunningBot) -> None:
    enrolment, guild = bot.bot.enrolment, server.guild.id
    async for learner in newcomers(server, bot):
        _, loser = winner_and_loser(
            await together(enrolment.leave(guild, COHORT, learner.id), enrolment.leave(guild, None, learner.id))
        )
        assert isinstance(loser, NotFound) and "You are not in" in loser.message


# Settings and uploads: rows two people may create at the same moment.


@pytest.mark.usefixtures("spring")
async def test_two_first_settings_at_once_create_one_row_with_both_changes(
    server: StudyServer, bot: RunningBot
) -> None:
    learners, guild = bot.bot.learners, server.guild.id
    async for learner in newcomers(server, bot):
        results = await together(
            learners.update(guild, learner.id, timezone="Europe/Berlin"),
            learners.update(guild, learner.id, reminder_hour=7),
        )
        assert not any(isinstance(r, BaseException) for r in results), results
        prefs = await learners.prefs(guild, learner.id)
        assert (prefs.timezone, prefs.reminder_hour) == ("Europe/Berlin", 7)
    async with bot.bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LearnerSettings)) == ROUNDS


@pytest.mark.usefixtures("spring")
async def test_zone_change_vs_check_in_never_leaves_a_kept_streak_of_the_old_zone_holding(
    server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    learners, progress, guild = bot.bot.learners, bot.bot.progress, server.guild.id
    clock.advance(timedelta(hours=11))  # evening in UTC, the cohort's zone: already the next day in Auckland
    async for learner in newcomers(server, bot):
        await progress.check_in(guild, learner.id, 20, None)
        clock.advance(timedelta(days=1))
        results = await together(
            progress.check_in(guild, learner.id, 20, None),
            learners.update(guild, learner.id, timezone="Pacific/Auckland"),
        )
        assert not any(isinstance(r, BaseException) for r in results), results
        now = clock.now()
        async with bot.bot.sessions() as session:
            [membership_id] = (await session.scalars(select(Membership.id).where(Membership.user_id == learner.id)))
            row = await session.get(DailyStreak, membership_id)
            activity = await activity_of(session, [membership_id])
        assert row is not None
        holding_in_sql = (row.holds_until is None or row.holds_until > now) and row.computed_at > NEVER_PAUSED
        assert row.zone == "Pacific/Auckland" or not holding_in_sql, "a board would trust the old zone's days"
        view = await bot.bot.enrolment.cohort_for_reading(guild, None, learner.id)
        board = await progress.leaderboard(view, learner.id, RankBy.STREAK)
        pure = member_daily_streak(activity.days[membership_id], activity.moments[membership_id], [],
                                   "Pacific/Auckland", now)
        assert board.mine is not None and (board.mine.value, board.mine.detail) == (pure.current, pure.best)


@pytest.mark.usefixtures("spring")
async def test_two_moderator_roles_at_once_keep_one_setting(server: StudyServer, bot: RunningBot) -> None:
    cohorts = bot.bot.cohorts
    for i in range(ROUNDS):
        guild = 10_000 + i  # a server that has never set one
        results = await together(cohorts.set_moderator_role(guild, 1), cohorts.set_moderator_role(guild, 2))
        assert not any(isinstance(r, BaseException) for r in results), results
        assert await cohorts.moderator_role(guild) in (1, 2)
    async with bot.bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(GuildSettings)) == ROUNDS


def reader(data: bytes) -> Callable[[], Awaitable[bytes]]:
    """What the cog hands the catalog: a coroutine that fetches the uploaded file."""

    async def read() -> bytes:
        return data

    return read


UPLOAD_ROUNDS = 10
"""Within the server's cap on stored versions (25), one round an hour to stay within the upload quota."""


@pytest.mark.usefixtures("spring")
async def test_two_uploads_at_once_from_one_server_check_one_and_refuse_the_other(
    server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    catalog, guild, mod = bot.bot.catalog, server.guild.id, server.moderator.id
    for i in range(UPLOAD_ROUNDS):
        clock.advance(timedelta(hours=1))
        _, loser = winner_and_loser(
            await together(
                catalog.import_upload(guild, "a.yaml", reader(uploaded_yaml(title=f"Track {i}a")), mod),
                catalog.import_upload(guild, "b.yaml", reader(uploaded_yaml(title=f"Track {i}b")), mod),
            )
        )
        assert isinstance(loser, Conflict) and "still being checked" in loser.message
    async with bot.bot.sessions() as session:
        versions = (await session.scalars(select(RoadmapVersion.version).where(RoadmapVersion.guild_id == guild))).all()
    assert sorted(versions) == list(range(1, UPLOAD_ROUNDS + 1))


async def until_an_upload_waits(bot: RunningBot, started: asyncio.Event) -> None:
    """Return once the upload under test is blocked behind the other writer's lock."""
    if bot.bot.engine.dialect.name == "postgresql":
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND wait_event = 'transactionid'"  # behind another's uncommitted row
        )
        async with bot.bot.engine.connect() as probe:
            for _ in range(1000):
                if (await probe.scalar(waiting)) > 0:
                    return
                await probe.rollback()  # pg_stat_activity is read once per transaction
                await asyncio.sleep(0.01)
        raise AssertionError("the upload never waited for the lock")
    # SQLite shows no waiters: the upload has sent BEGIN IMMEDIATE; give it a moment to reach the lock.
    await started.wait()
    await asyncio.sleep(0.05)


@pytest.mark.parametrize("same_text", [True, False])
async def test_an_upload_that_loses_its_version_number_to_another_writer(
    server: StudyServer, bot: RunningBot, same_text: bool
) -> None:
    catalog, guild, mod = bot.bot.catalog, server.guild.id, server.moderator.id
    await catalog.import_upload(guild, "v1.yaml", reader(uploaded_yaml(title="Track 1")), mod)
    mine = uploaded_yaml(title="Track 2")
    theirs = mine if same_text else uploaded_yaml(title="Track 2, theirs")
    holding, release, started = asyncio.Event(), asyncio.Event(), asyncio.Event()

    # Another process: its own engine (within one engine, SQLite writers queue before BEGIN).
    elsewhere = create_engine(bot.bot.engine.url.render_as_string(hide_password=False))

    async def another_process_stores_version_2() -> None:
        async with session_factory(elsewhere).begin() as session:
            session.add(RoadmapVersion(
                guild_id=guild, roadmap_id=UPLOAD_ID, version=2, title="Track 2", yaml_text=theirs.decode(),
                sha256=hashlib.sha256(theirs).hexdigest(), uploaded_by=mod, created_at=WEEK_1,
            ))
            await session.flush()
            holding.set()
            await release.wait()

    def began(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement == "BEGIN IMMEDIATE" and holding.is_set():
            started.set()

    other = asyncio.create_task(another_process_stores_version_2())
    await holding.wait()
    event.listen(bot.bot.engine.sync_engine, "before_cursor_execute", began)
    upload = asyncio.create_task(catalog.import_upload(guild, "v2.yaml", reader(mine), mod))
    await until_an_upload_waits(bot, started)
    event.remove(bot.bot.engine.sync_engine, "before_cursor_execute", began)
    release.set()
    await other
    await elsewhere.dispose()
    [result] = await asyncio.gather(upload, return_exceptions=True)
    if same_text:
        assert result.version == 2  # the other writer stored this very file: it is that version
    elif bot.bot.engine.dialect.name == "postgresql":
        # It chose version 2 before the other committed it; the unique constraint decided.
        assert isinstance(result, Conflict) and "was stored at this very moment; upload yours again" in result.message
    else:
        assert result.version == 3  # SQLite: it waited at BEGIN IMMEDIATE and then numbered after the other


async def test_two_servers_first_cohorts_on_one_bundled_roadmap_share_one_snapshot(bot: RunningBot) -> None:
    cohorts = bot.bot.cohorts
    for roadmap in ("ml-ai-study-guide", "cv-ml-researcher", "ml-ai-expert", "ai-ml-career-paths"):
        requests = [
            NewCohort(guild, f"{roadmap} {guild}", roadmap, "2026-06-01", channel_id=guild, created_by=1)
            for guild in (20_001, 20_002)
        ]
        results = await together(*(cohorts.create(r) for r in requests))
        assert not any(isinstance(r, BaseException) for r in results), results
        assert results[0].cohort.roadmap_version_id == results[1].cohort.roadmap_version_id


async def test_two_cohorts_of_one_name_at_once_create_one(bot: RunningBot) -> None:
    for i in range(ROUNDS):
        guild = 30_000 + i
        requests = [NewCohort(guild, "Autumn", "ml-ai-study-guide", "2026-06-01", channel_id=c, created_by=1)
                    for c in (1, 2)]
        _, loser = winner_and_loser(await together(*(bot.bot.cohorts.create(r) for r in requests)))
        assert isinstance(loser, Conflict) and "There is already a cohort named 'Autumn'" in loser.message


@pytest.mark.usefixtures("spring")
async def test_erase_vs_erase_erases_once(server: StudyServer, bot: RunningBot) -> None:
    erase, guild = bot.bot.mydata.erase, server.guild.id
    async for learner in newcomers(server, bot):
        _, loser = winner_and_loser(await together(erase(guild, learner.id), erase(guild, learner.id)))
        assert isinstance(loser, NotFound) and "there is nothing to erase" in loser.message
        async with bot.bot.sessions() as session:
            kept = await session.scalar(select(func.count()).where(Membership.user_id == learner.id))
        assert kept == 0


# Through Discord: two interactions injected together into the real bot.

APOLOGY = "Sorry, something went wrong"


def reviews_of(sandbox: Sandbox, server: StudyServer, learner: Member) -> list[Message]:
    return [m for m in sandbox.messages_in(server.review_channel) if m.embeds[0]["title"].endswith(learner.name)]


def said(reply: Reply) -> str:
    """Everything the bot answered to one interaction: its response and followups."""
    return "\n".join(filter(None, [reply.content, *(m.content for m in reply.followups)]))


@pytest.mark.usefixtures("spring")
async def test_approve_click_vs_resubmit_command(sandbox: Sandbox, server: StudyServer, bot: RunningBot) -> None:
    async for learner in newcomers(server, bot):
        await sandbox.slash("submit", user=learner, link="https://example.org/v1")
        [review] = reviews_of(sandbox, server, learner)
        click, resubmit = await asyncio.gather(
            sandbox.click(review, "Approve", user=server.moderator),
            sandbox.slash("submit", user=learner, link="https://example.org/v2"),
        )
        clicked, submitted = said(click), said(resubmit)
        assert APOLOGY not in clicked + submitted
        mine = reviews_of(sandbox, server, learner)
        fields = {f["name"]: f["value"] for f in review.embeds[0]["fields"]}
        if "Submitted your week 1 checkpoint (version 2)" in submitted:
            # The refusal answers the click, unless the old message's "replaced" edit settled the click before it.
            answered = "replaced by a newer one" in (click.content or "")
            refusal = click if answered else (await click.wait_followups(1))[0]
            assert "This version was replaced by a newer one" in (refusal.content or "") and refusal.ephemeral
            assert "Replaced" in fields and "Decision" not in fields and len(mine) == 2
        else:
            # The refusal is the answer itself (the command is quick), or a follow-up if it took over a second.
            refusal = next(r for r in (resubmit, *resubmit.followups) if "already approved" in (r.content or ""))
            assert "already approved; nothing to resubmit" in submitted and refusal.ephemeral
            assert fields["Decision"].startswith("Approved by") and len(mine) == 1



@pytest.mark.usefixtures("spring")
async def test_join_vs_join_commands(sandbox: Sandbox, server: StudyServer, bot: RunningBot) -> None:
    async for learner in newcomers(server, bot, join=False):
        replies = await asyncio.gather(
            sandbox.slash("join", user=learner, cohort=COHORT), sandbox.slash("join", user=learner)
        )
        texts = sorted(said(r) for r in replies)
        assert all(r.ephemeral for r in replies if "Welcome" not in said(r))
        assert texts[0].startswith(f"Welcome to **{COHORT}**"), texts
        assert texts[1].startswith(f"You are already in '{COHORT}'"), texts
