"""Daily streaks kept as activity arrives give what the pure rules compute from the whole history, at every moment."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from bot.clock import ManualClock
from bot.db.models import Cohort, DailyStreak, LearnerSettings, Membership, MembershipStatus
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Member, Sandbox
from bot.services.progress import member_daily_streak
from bot.services.streak_book import (
    Member as Zoned,
)
from bot.services.streak_book import (
    check_in_days_of,
    cohort_pauses,
    standings,
    still_holds,
    submission_moments,
)
from bot.services.streaks import Streak, local_day

ZONES = ("Pacific/Honolulu", "Pacific/Auckland", "America/New_York", None)


async def both_ways(bot: RunningBot) -> tuple[dict[int, Streak], dict[int, Streak], int]:
    """Every active member's streak from the kept rows and from the pure rules; and how many rows hold."""
    now = bot.bot.clock.now()
    async with bot.bot.sessions() as session:
        found = (await session.execute(
            select(Membership.id, Membership.cohort_id, LearnerSettings.timezone)
            .outerjoin(LearnerSettings, (LearnerSettings.guild_id == Membership.guild_id)
                       & (LearnerSettings.user_id == Membership.user_id))
            .where(Membership.status == MembershipStatus.ACTIVE)
        )).all()
        cohort_id = found[0].cohort_id
        cohort_zone = await session.scalar(select(Cohort.timezone).where(Cohort.id == cohort_id))
        members = [Zoned(m, cohort_id, zone or cohort_zone) for m, _, zone in found]
        pauses = (await cohort_pauses(session, [cohort_id]))[cohort_id]
        kept = await standings(session, cohort_id, members, pauses, now)
        ids = [m.membership_id for m in members]
        days, moments = await check_in_days_of(session, ids), await submission_moments(session, ids)
        rows = {r.membership_id: r for r in await session.scalars(select(DailyStreak))}
    pure = {m.membership_id: member_daily_streak(days[m.membership_id], moments[m.membership_id], pauses, m.zone, now)
            for m in members}
    holding = sum(
        1 for m in members
        if m.membership_id in rows and still_holds(rows[m.membership_id], m.zone, pauses, local_day(now, m.zone))
    )
    return kept, pure, holding


async def test_kept_streaks_match_the_pure_rules_through_days_zones_pauses_and_the_correction(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock
) -> None:
    rng = random.Random(12)
    learners: list[Member] = server.learners
    grew = False
    for day in range(24):
        clock.advance(timedelta(hours=rng.choice((19, 24, 29))))
        for learner in learners:
            roll = rng.random()
            if roll < 0.55:
                reply = await sandbox.slash("checkin", user=learner, minutes=20)
                assert (reply.content or "").startswith("Checked in"), reply
            elif roll < 0.65:
                reply = await sandbox.slash("submit", user=learner, link=f"https://example.org/{learner.name}/{day}")
                assert reply.content is not None
        if day % 6 == 3:
            learner = rng.choice(learners)
            zone = rng.choice(ZONES)
            if zone is not None:
                await sandbox.slash("settings", user=learner, timezone=zone)
        if day == 8:
            await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
        if day == 11:
            await sandbox.slash("cohort resume", user=server.moderator, cohort="Spring")
        kept, pure, _ = await both_ways(running)
        assert kept == pure, f"day {day}"
        grew = grew or any(s.current >= 3 for s in pure.values())
        if day % 5 == 4:
            await running.bot.streak_book.correct()
            kept, pure, holding = await both_ways(running)
            assert kept == pure
            # While the cohort is paused no row holds (days spent paused change what counts): all are recomputed.
            assert holding == (0 if 8 <= day < 11 else len(pure)), "after the correction every kept row holds"
    assert grew, "the walk built streaks worth checking"


async def test_rows_are_kept_by_checkins_and_submissions_and_dropped_by_erase(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock
) -> None:
    ada, grace, _ = server.learners
    for _ in range(3):
        await sandbox.slash("checkin", user=ada, minutes=30)
        clock.advance(timedelta(days=1))
    await sandbox.slash("submit", user=grace, link="https://example.org/grace")
    kept, pure, holding = await both_ways(running)
    assert kept == pure
    assert holding == 2, "ada's check-ins and grace's submission each kept a row that holds"
    assert max(s.current for s in kept.values()) == 3

    # A row that no longer says the truth (history written around the bot) is never trusted blindly:
    # a zone change makes it not hold, and the board recomputes it.
    await sandbox.slash("settings", user=ada, timezone="Pacific/Auckland")
    kept, pure, holding = await both_ways(running)
    assert kept == pure and holding == 1

    prompt = await sandbox.slash("mydata erase", user=ada)
    done = await sandbox.click(prompt, "Erase my data", user=ada)
    assert "Erased" in (done.content or ""), done
    async with running.bot.sessions() as session:
        left = (await session.execute(select(DailyStreak.membership_id))).scalars().all()
    assert len(left) == 1, "ada's kept streak went with the rest of her data"


async def test_the_correction_leaves_a_fresher_row_alone(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await sandbox.slash("checkin", user=ada, minutes=30)
    async with running.bot.sessions.begin() as session:
        await session.execute(delete(DailyStreak))
    clock.advance(timedelta(days=1))
    await sandbox.slash("checkin", user=ada, minutes=30)
    # The correction computed as of a moment before that check-in must not overwrite it.
    clock.advance(timedelta(minutes=-1))
    await running.bot.streak_book.correct()
    clock.advance(timedelta(minutes=1))
    kept, pure, _ = await both_ways(running)
    assert kept == pure
    assert max(s.current for s in kept.values()) == 2


async def test_a_big_cohorts_board_acknowledges_first_then_shows_the_same_board(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = server.learners[0]
    await sandbox.slash("checkin", user=ada, minutes=30)
    at_once = await sandbox.slash("leaderboard", user=ada)
    monkeypatch.setattr(running.bot.get_cog("ProgressCommands"), "answer_at_once_up_to", 2)  # three members here
    deferred = await sandbox.slash("leaderboard", user=ada)
    assert at_once.type == 4 and deferred.deferred and deferred.ephemeral
    assert deferred.embeds == at_once.embeds
