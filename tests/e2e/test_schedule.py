"""Weekly posts through the real bot: on local time, exactly once, across restarts, failures, pauses and the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.clock import ManualClock
from bot.db.models import CohortStatus, Delivery, DeliveryState
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Perm, Sandbox
from tests.e2e.helpers import Launcher, create_cohort, run, week_posts


async def test_week_opens_at_the_post_time_with_a_thread(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    clock.set(datetime(2026, 3, 2, 8, 59, tzinfo=UTC))
    await run(bot)
    assert week_posts(sandbox, server) == []
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await run(bot)
    assert week_posts(sandbox, server) == ["Week 1 · Mathematics & ML Basics"]
    post = sandbox.messages_in(server.cohort_channel)[0]
    assert "Posted late" not in post.content
    assert [t.name for t in server.guild.threads] == ["Week 1 · Mathematics & ML Basics"]
    due = post.embeds[0]["description"]
    assert f"<t:{int(datetime(2026, 3, 9, 9, tzinfo=UTC).timestamp())}:F>" in due


async def test_new_york_cohort_posts_at_nine_local_across_the_dst_change(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server, timezone="America/New_York")
    clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # 09:00 EST
    await run(bot)
    clock.set(datetime(2026, 3, 9, 12, 59, tzinfo=UTC))  # 08:59 EDT, the day after the change
    await run(bot)
    assert len(week_posts(sandbox, server)) == 1
    clock.set(datetime(2026, 3, 9, 13, 0, tzinfo=UTC))  # 09:00 EDT
    await run(bot)
    assert len(week_posts(sandbox, server)) == 2


async def test_restart_mid_cohort_posts_each_missed_week_once_in_order_marked_late(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    first = await launch()
    await create_cohort(sandbox, server)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await run(first)
    await first.stop()

    clock.set(datetime(2026, 3, 17, 10, 0, tzinfo=UTC))  # weeks 2 and 3 passed while it was down
    second = await launch()
    assert week_posts(sandbox, server) == [
        "Week 1 · Mathematics & ML Basics",
        "Week 2 · Neural Networks Fundamentals",
        "Week 3 · Deep Learning Frameworks",
    ]
    late = [m.content for m in sandbox.messages_in(server.cohort_channel)[1:]]
    assert all("Posted late" in content for content in late)
    await second.stop()

    third = await launch()
    await run(third)
    assert len(week_posts(sandbox, server)) == 3


async def test_restart_exactly_at_the_opening_moment_posts_once(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    first = await launch()
    await create_cohort(sandbox, server)
    await first.stop()
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    second = await launch()
    await run(second)
    await run(second)
    assert week_posts(sandbox, server) == ["Week 1 · Mathematics & ML Basics"]


async def test_past_start_posts_open_weeks_at_once_in_order_without_a_late_mark(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    await create_cohort(sandbox, server)
    await bot.bot.runner.settle()
    assert [t.split(" · ")[0] for t in week_posts(sandbox, server)] == ["Week 1", "Week 2", "Week 3"]
    assert not any("Posted late" in m.content for m in sandbox.messages_in(server.cohort_channel))


async def test_server_error_is_retried_with_backoff_and_posted_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    sandbox.fail_next("POST", "/channels/{channel_id}/messages", times=1, status=503)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await run(bot)
    assert week_posts(sandbox, server) == []
    clock.advance(timedelta(seconds=30))  # inside the first backoff: no new attempt
    await run(bot)
    assert week_posts(sandbox, server) == []
    clock.advance(timedelta(minutes=1))
    await run(bot)
    assert week_posts(sandbox, server) == ["Week 1 · Mathematics & ML Basics"]
    assert sandbox.messages_in(server.review_channel) == []


async def test_missing_access_is_reported_to_moderators_and_posted_once_fixed(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    server.cohort_channel.set_overwrite(server.guild.bot_role, deny=Perm.SEND_MESSAGES)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await run(bot)
    reports = sandbox.messages_in(server.review_channel)
    assert len(reports) == 1
    assert "Week 1 post of 'Spring'" in reports[0].content
    assert "missing permission" in reports[0].content

    server.cohort_channel.set_overwrite(server.guild.bot_role)
    clock.advance(timedelta(minutes=2))
    await run(bot)
    assert week_posts(sandbox, server) == ["Week 1 · Mathematics & ML Basics"]
    async with bot.bot.sessions() as session:
        row = await session.scalar(select(Delivery).where(Delivery.period == "week-1"))
    assert row is not None and row.state is DeliveryState.SENT and row.attempts == 2


async def test_repeated_server_errors_are_reported_after_three_attempts_and_later_weeks_wait(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    sandbox.fail_next("POST", "/channels/{channel_id}/messages", times=3, status=503)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    for _ in range(3):
        await run(bot)
        clock.advance(timedelta(minutes=5))
    assert len(sandbox.messages_in(server.review_channel)) == 1
    clock.set(datetime(2026, 3, 9, 9, 0, tzinfo=UTC))
    await run(bot)
    assert [t.split(" · ")[0] for t in week_posts(sandbox, server)] == ["Week 1", "Week 2"]


async def test_send_cut_off_after_posting_is_not_posted_again(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    first = await launch()
    await create_cohort(sandbox, server)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await run(first)
    # As if the process died after Discord accepted the post but before the ledger said so.
    async with first.bot.sessions.begin() as session:
        await session.execute(update(Delivery).values(state=DeliveryState.CLAIMED, sent_at=None))
    await first.stop()
    second = await launch()
    await run(second)
    assert week_posts(sandbox, server) == ["Week 1 · Mathematics & ML Basics"]


async def test_send_cut_off_before_posting_is_posted_after_the_restart(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    first = await launch()
    await create_cohort(sandbox, server)
    sandbox.fail_next("POST", "/channels/{channel_id}/messages", times=1, status=503)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await run(first)
    async with first.bot.sessions.begin() as session:
        await session.execute(update(Delivery).values(state=DeliveryState.CLAIMED, next_attempt_at=None))
    await first.stop()
    second = await launch()
    await run(second)
    assert week_posts(sandbox, server) == ["Week 1 · Mathematics & ML Basics"]


async def test_pause_holds_posts_and_resume_shifts_the_rest_by_the_paused_days(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await run(bot)
    clock.set(datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
    clock.set(datetime(2026, 3, 12, 12, 0, tzinfo=UTC))
    await run(bot)
    assert len(week_posts(sandbox, server)) == 1
    reply = await sandbox.slash("cohort resume", user=server.moderator, cohort="Spring")
    assert "Resumed" in reply.content
    await run(bot)
    assert len(week_posts(sandbox, server)) == 1
    # Paused for 7 days: week 2 moves from 9 March to 16 March, still at 09:00.
    clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=UTC))
    await run(bot)
    assert len(week_posts(sandbox, server)) == 2


async def test_two_week_module_is_posted_once_and_due_when_it_ends(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await sandbox.slash("cohort advance", user=server.moderator, cohort="Spring", to_week=19)
    await run(bot)
    titles = week_posts(sandbox, server)
    assert len(titles) == 19  # weeks 1-18 and the module of weeks 19-20
    assert titles[-1] == "Weeks 19-20 · Domain Applications"
    last = [m for m in sandbox.messages_in(server.cohort_channel) if m.embeds][-1]
    assert f"<t:{int(datetime(2026, 3, 16, 9, tzinfo=UTC).timestamp())}:F>" in last.embeds[0]["description"]
    clock.set(datetime(2026, 3, 9, 9, 0, tzinfo=UTC))  # week 20 opens inside the module: nothing to post
    await run(bot)
    assert len(week_posts(sandbox, server)) == 19
    clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=UTC))
    await run(bot)
    assert week_posts(sandbox, server)[-1] == "Week 21 · Research & Innovation"


async def test_cohort_completes_after_its_last_module_with_one_wrap_up(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    first = await launch()
    await create_cohort(sandbox, server, roadmap="ml-for-senior-engineers")
    clock.set(datetime(2026, 5, 25, 9, 0, tzinfo=UTC))  # week 13: the end of a 12-week roadmap
    await run(first)
    assert len(week_posts(sandbox, server)) == 12
    wrap_ups = [m for m in sandbox.messages_in(server.cohort_channel) if "reached the end" in m.content]
    assert len(wrap_ups) == 1
    view = await first.bot.cohorts.get(server.guild.id, "Spring")
    assert view.cohort.status is CohortStatus.COMPLETED
    await first.stop()
    second = await launch()
    await run(second)
    assert len([m for m in sandbox.messages_in(server.cohort_channel) if "reached the end" in m.content]) == 1


async def test_runner_keeps_one_job_per_cohort_at_its_next_opening(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    await create_cohort(sandbox, server, name="Autumn", start="2026-09-07")
    await bot.bot.runner.settle()
    assert await bot.bot.runner.rebuild() == 2
    await sandbox.slash("cohort end", user=server.moderator, cohort="Autumn")
    await bot.bot.runner.settle()
    assert bot.bot.runner.job_count() == 1
