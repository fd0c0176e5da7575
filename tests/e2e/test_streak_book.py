"""Daily streaks kept as activity arrives give what the pure rules compute from the whole history, at every moment."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, insert, select, update

from bot.clock import ManualClock
from bot.db.models import (
    Cohort,
    DailyStreak,
    LearnerSettings,
    Membership,
    MembershipStatus,
    Submission,
    SubmissionStatus,
)
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Member, Sandbox
from bot.services.activity import activity_of, cohort_pauses, member_daily_streak
from bot.services.boards import streak_board
from bot.services.progress import LEADERBOARD_SIZE, PAUSE_SETTLES, RankBy, Standing
from bot.services.streak_book import still_holds
from bot.services.streaks import Streak

ZONES = ("Pacific/Honolulu", "Pacific/Auckland", "America/New_York", None)


async def both_ways(bot: RunningBot) -> tuple[dict[int, Streak], dict[int, Streak], int]:
    """Every active member's streak on the board (kept rows) and from the pure rules; and how many rows hold."""
    now = bot.bot.clock.now()
    async with bot.bot.sessions() as session:
        found = (await session.execute(
            select(Membership.id, Membership.cohort_id, LearnerSettings.timezone, Membership.user_id)
            .outerjoin(LearnerSettings, (LearnerSettings.guild_id == Membership.guild_id)
                       & (LearnerSettings.user_id == Membership.user_id))
            .where(Membership.status == MembershipStatus.ACTIVE)
        )).all()
        cohort_id = found[0].cohort_id
        cohort_zone = await session.scalar(select(Cohort.timezone).where(Cohort.id == cohort_id))
        zones = {m: zone or cohort_zone for m, _, zone, _ in found}
        pauses = (await cohort_pauses(session, [cohort_id]))[cohort_id]
        kept = {}
        for m, _, _, user_id in found:
            mine = (await streak_board(session, cohort_id, cohort_zone, pauses, user_id, now, LEADERBOARD_SIZE)).mine
            assert mine is not None
            kept[m] = Streak(mine.value, mine.detail)
        activity = await activity_of(session, list(zones))
        rows = {r.membership_id: r for r in await session.scalars(select(DailyStreak))}
    pure = {m: member_daily_streak(activity.days[m], activity.moments[m], pauses, zone, now)
            for m, zone in zones.items()}
    holding = sum(
        1 for m, zone in zones.items() if m in rows and still_holds(rows[m], zone, pauses, now)
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
    assert holding == 3, "a row from /join for each, rewritten by ada's check-ins and grace's submission"
    assert max(s.current for s in kept.values()) == 3

    # A row that no longer says the truth is never trusted blindly: a zone change makes it not hold, and the
    # board recomputes it.
    await sandbox.slash("settings", user=ada, timezone="Pacific/Auckland")
    kept, pure, holding = await both_ways(running)
    assert kept == pure and holding == 2

    prompt = await sandbox.slash("mydata erase", user=ada)
    done = await sandbox.click(prompt, "Erase my data", user=ada)
    assert "Erased" in (done.content or ""), done
    async with running.bot.sessions() as session:
        left = (await session.execute(select(DailyStreak.membership_id))).scalars().all()
    assert len(left) == 2, "ada's kept streak went with the rest of her data"


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


async def test_after_a_resume_the_next_sweep_corrects_the_rows_rather_than_the_next_day(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock
) -> None:
    for learner in server.learners:
        await sandbox.slash("checkin", user=learner, minutes=30)
    await running.bot.streak_book.sweep()  # today's correction done
    clock.advance(timedelta(minutes=5))
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
    clock.advance(timedelta(hours=2))
    await sandbox.slash("cohort resume", user=server.moderator, cohort="Spring")
    clock.advance(timedelta(minutes=1))
    # The schedule run each change starts (its sweeps included), then the next minute's.
    await running.bot.runner.settle()
    await running.bot.streak_book.sweep()
    kept, pure, holding = await both_ways(running)
    assert kept == pure and holding == len(pure), "the same day, every row holds again"
    clock.advance(timedelta(minutes=1))
    assert await running.bot.streak_book.sweep() == 0, "nothing changed since: no correction"


async def test_a_big_cohorts_board_acknowledges_first_just_after_a_pause_then_shows_the_same_board(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await sandbox.slash("checkin", user=ada, minutes=30)
    at_once = await sandbox.slash("leaderboard", user=ada)
    monkeypatch.setattr(running.bot.get_cog("ProgressCommands"), "answer_at_once_up_to", 2)  # three members here
    # Never paused, its kept rows hold: the board costs what a small one does and answers at once.
    big = await sandbox.slash("leaderboard", user=ada)
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
    await sandbox.slash("cohort resume", user=server.moderator, cohort="Spring")
    deferred = await sandbox.slash("leaderboard", user=ada)
    approved = await sandbox.slash("leaderboard", user=ada, by="approved")
    # Corrected since (the schedule's next minute), the board of a cohort that was once paused answers at once again.
    clock.advance(PAUSE_SETTLES)
    await running.bot.streak_book.sweep()
    later = await sandbox.slash("leaderboard", user=ada)
    assert at_once.type == big.type == approved.type == later.type == 4
    assert deferred.deferred and deferred.ephemeral
    assert deferred.embeds == big.embeds == at_once.embeds


def ranked_by_hand(scores: dict[int, tuple[int, int, str]], caller: int) -> tuple[list[Standing], Standing | None]:
    """The board as every member's score sorted in Python (what the indexed queries must give)."""
    order = sorted(scores, key=lambda u: (-scores[u][0], -scores[u][1], scores[u][2].casefold()))
    top, mine, rank, previous = [], None, 0, None
    for position, user_id in enumerate(order, start=1):
        value, detail, name = scores[user_id]
        if (value, detail) != previous:
            rank, previous = position, (value, detail)
        standing = Standing(rank, user_id, name, value, detail)
        if position <= LEADERBOARD_SIZE and value > 0:
            top.append(standing)
        if user_id == caller:
            mine = standing
    return top, mine


async def test_boards_read_by_indexed_queries_rank_like_every_members_score_sorted_by_hand(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock
) -> None:
    rng = random.Random(5)
    crowd = [server.guild.add_member(f"{rng.choice('aAbBéÉ')}{k:02d}") for k in range(27)]
    for member in crowd:
        await sandbox.slash("join", user=member)
    learners = [*server.learners, *crowd]
    # Short runs so that many tie, some kept rows that hold, some not (a zone change, none kept yet).
    for day in range(9):
        clock.advance(timedelta(hours=rng.choice((20, 24, 28))))
        for learner in learners:
            if rng.random() < 0.5:
                await sandbox.slash("checkin", user=learner, minutes=15)
        if day == 4:
            await running.bot.streak_book.correct()
    for learner in crowd[:3]:  # their kept rows no longer hold: the board recomputes them
        await sandbox.slash("settings", user=learner, timezone="Pacific/Auckland")
    await sandbox.slash("submit", user=crowd[1], link="https://example.org/late")
    async with running.bot.sessions.begin() as session:  # a member who left is on no board
        await session.execute(update(Membership).where(Membership.user_id == crowd[2].id)
                              .values(status=MembershipStatus.LEFT))
    kept, pure, holding = await both_ways(running)
    assert kept == pure and 0 < holding < len(pure), "both kinds of row are on the board"
    async with running.bot.sessions() as session:
        found = (await session.execute(
            select(Membership.id, Membership.user_id, Membership.display_name)
            .where(Membership.status == MembershipStatus.ACTIVE)
        )).all()
    scores = {user_id: (pure[m].current, pure[m].best, name) for m, user_id, name in found}
    assert len(scores) >= LEADERBOARD_SIZE + 10
    view = await running.bot.enrolment.cohort_for_reading(server.guild.id, None, learners[0].id)
    for learner in [*learners, server.moderator]:
        board = await running.bot.progress.leaderboard(view, learner.id, RankBy.STREAK)
        assert (list(board.top), board.mine) == ranked_by_hand(scores, learner.id), learner.name
    assert len({s.value for s in board.top}) < len(board.top), "the walk made ties worth checking"


async def test_the_approved_board_counts_only_approved_checkpoints_of_active_members(
    sandbox: Sandbox, server: StudyServer, running: RunningBot
) -> None:
    rng = random.Random(9)
    crowd = [server.guild.add_member(f"{rng.choice('aAbB')}{k:02d}") for k in range(20)]
    for member in crowd:
        await sandbox.slash("join", user=member)
    async with running.bot.sessions.begin() as session:
        found = (await session.execute(
            select(Membership.id, Membership.cohort_id, Membership.user_id, Membership.display_name)
        )).all()
        scores = {}
        for membership_id, cohort_id, user_id, name in found:
            statuses = [rng.choice(list(SubmissionStatus)) for _ in range(rng.randrange(6))]
            for week, status in enumerate(statuses, start=1):
                await session.execute(insert(Submission).values(
                    cohort_id=cohort_id, membership_id=membership_id, week=week, status=status, current_version=1,
                    created_at=clock_now(running), updated_at=clock_now(running)))
            scores[user_id] = (statuses.count(SubmissionStatus.APPROVED), 0, name)
            # As a moderator's approval keeps it (the flow itself: test_the_approved_count_follows_approvals).
            await session.execute(update(Membership).where(Membership.id == membership_id)
                                  .values(approved=scores[user_id][0]))
        gone = found[-1].user_id
        await session.execute(update(Membership).where(Membership.user_id == gone).values(status=MembershipStatus.LEFT))
        del scores[gone]
    view = await running.bot.enrolment.cohort_for_reading(server.guild.id, None, server.learners[0].id)
    for user_id in [*scores, gone]:
        board = await running.bot.progress.leaderboard(view, user_id, RankBy.APPROVED)
        assert (list(board.top), board.mine) == ranked_by_hand(scores, user_id)


def clock_now(bot: RunningBot) -> datetime:
    return bot.bot.clock.now()
