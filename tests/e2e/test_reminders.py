"""Reminders through the real bot: local hours, DST, opt-out, pings, closed DMs, downtime, restarts, /settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import (
    AwardStatus,
    Delivery,
    DeliveryState,
    LearnerSettings,
    Membership,
    ReminderDelivery,
    TierAward,
)
from bot.db.statements import counting_statements
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Member, Perm, Reply, Sandbox, payloads
from bot.schedule.reminder_rules import DAILY_REMINDER
from bot.services.reminders import ReminderReport
from tests.e2e.helpers import Launcher, create_cohort

DAILY = "Daily reminder for **Spring**"
WEEKLY = "checkpoint **"
MESSAGES_ROUTE = "/channels/{channel_id}/messages"


# Helpers.


async def join(sandbox: Sandbox, *learners: Member) -> None:
    for learner in learners:
        reply = await sandbox.slash("join", user=learner)
        assert "Welcome" in reply.content, reply.content


async def settings(sandbox: Sandbox, learner: Member, **options: Any) -> Reply:
    return await sandbox.slash("settings", user=learner, **options)


async def sweep(bot: RunningBot, clock: ManualClock, at: datetime) -> ReminderReport:
    """Move the clock to `at`, let week posts settle, then run the reminder sweep as its job would."""
    clock.set(at)
    await bot.bot.runner.run_due()
    return await bot.bot.reminder_runner.run_due()


def dm_texts(sandbox: Sandbox, learner: Member, marker: str = DAILY) -> list[str]:
    return [m.content for m in sandbox.dms_to(learner) if marker in m.content]


def pings_in(sandbox: Sandbox, server: StudyServer, marker: str = DAILY) -> list[str]:
    return [m.content for m in sandbox.messages_in(server.cohort_channel) if marker in m.content]


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def membership_id(bot: RunningBot, learner: Member) -> int:
    async with bot.bot.sessions() as session:
        return await session.scalar(select(Membership.id).where(Membership.user_id == learner.id))


async def check_in(sandbox: Sandbox, clock: ManualClock, learner: Member, at: datetime) -> None:
    clock.set(at)
    reply = await sandbox.slash("checkin", user=learner, minutes=30)
    assert reply.ephemeral and not reply.errors, reply.content


async def submit(sandbox: Sandbox, clock: ManualClock, learner: Member, week: int, at: datetime) -> None:
    clock.set(at)
    reply = await sandbox.slash("submit", user=learner, week=week, link="https://example.com/my-work")
    assert reply.ephemeral and f"Submitted your week {week} checkpoint" in (reply.content or ""), reply


# Daily reminders: local hours, timezones, DST.


async def test_daily_reminder_goes_by_dm_at_six_pm_in_the_cohort_zone_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await create_cohort(sandbox, server)
    await join(sandbox, ada)
    await sweep(bot, clock, utc(2, 17, 59))
    assert dm_texts(sandbox, ada) == []
    report = await sweep(bot, clock, utc(2, 18))
    assert report.dms == 1
    [text] = dm_texts(sandbox, ada)
    assert "Week 1 · Mathematics & ML Basics" in text and "/checkin" in text
    await sweep(bot, clock, utc(2, 18, 1))
    await sweep(bot, clock, utc(2, 23, 59))
    assert len(dm_texts(sandbox, ada)) == 1
    await sweep(bot, clock, utc(3, 18))
    assert len(dm_texts(sandbox, ada)) == 2


async def test_learners_in_utc_plus_13_and_minus_10_each_get_theirs_at_their_own_six_pm(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    tonga, hawaii = server.learners[:2]
    await create_cohort(sandbox, server)
    await join(sandbox, tonga, hawaii)
    await settings(sandbox, tonga, timezone="Pacific/Tongatapu")  # UTC+13
    await settings(sandbox, hawaii, timezone="Pacific/Honolulu")  # UTC-10
    await sweep(bot, clock, utc(3, 3, 59))
    assert dm_texts(sandbox, tonga) == dm_texts(sandbox, hawaii) == []
    await sweep(bot, clock, utc(3, 4))  # 18:00 on Monday 2 March in Honolulu; 17:00 Tuesday in Tonga
    assert (len(dm_texts(sandbox, hawaii)), len(dm_texts(sandbox, tonga))) == (1, 0)
    await sweep(bot, clock, utc(3, 5))  # 18:00 on Tuesday 3 March in Tonga
    assert (len(dm_texts(sandbox, hawaii)), len(dm_texts(sandbox, tonga))) == (1, 1)
    await sweep(bot, clock, utc(4, 4))
    await sweep(bot, clock, utc(4, 5))
    assert (len(dm_texts(sandbox, hawaii)), len(dm_texts(sandbox, tonga))) == (2, 2)
    async with bot.bot.sessions() as session:
        periods = (await session.scalars(
            select(Delivery.period).where(Delivery.kind == DAILY_REMINDER).order_by(Delivery.id)
        )).all()
    # Each reminder is for the learner's own local day.
    assert periods == ["2026-03-02", "2026-03-03", "2026-03-03", "2026-03-04"]


async def test_berlin_learner_keeps_six_pm_local_across_the_spring_dst_change(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await create_cohort(sandbox, server, timezone="Europe/Berlin")
    await join(sandbox, ada)
    await sweep(bot, clock, utc(28, 16, 59))  # Saturday 17:59 CET
    assert dm_texts(sandbox, ada) == []
    await sweep(bot, clock, utc(28, 17))  # Saturday 18:00 CET
    assert len(dm_texts(sandbox, ada)) == 1
    await sweep(bot, clock, utc(29, 15, 59))  # Sunday 17:59 CEST: clocks went forward at 02:00
    assert len(dm_texts(sandbox, ada)) == 1
    await sweep(bot, clock, utc(29, 16))  # Sunday 18:00 CEST
    assert len(dm_texts(sandbox, ada)) == 2


async def test_a_learner_in_two_cohorts_gets_one_daily_reminder_naming_the_first_they_joined(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await create_cohort(sandbox, server)
    reply = await sandbox.slash("cohort create", user=server.moderator, name="Autumn", roadmap="ml-ai-study-guide",
                                start="2026-03-02", options={"channel": server.review_channel})
    assert reply.content.startswith("Created"), reply.content
    await sandbox.slash("join", user=ada, cohort="Spring")
    await sandbox.slash("join", user=ada, cohort="Autumn")
    await sweep(bot, clock, utc(2, 18))
    assert [m.content.split(":")[0] for m in sandbox.dms_to(ada)] == ["⏰ Daily reminder for **Spring**"]


# Who gets none.


async def test_reminders_off_silences_daily_and_weekly_until_turned_back_on(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace = server.learners[:2]
    await create_cohort(sandbox, server)
    await join(sandbox, ada, grace)
    await settings(sandbox, ada, reminders="off")
    await sweep(bot, clock, utc(2, 18))
    await sweep(bot, clock, utc(7, 9))  # 48 h before week 1's deadline
    await sweep(bot, clock, utc(7, 18))
    assert sandbox.dms_to(ada) == []
    assert len(dm_texts(sandbox, grace)) == 2 and len(dm_texts(sandbox, grace, WEEKLY)) == 1
    clock.set(utc(8, 18, 30))
    await settings(sandbox, ada, reminders="dm")  # after today's moment: today's is not sent late
    await sweep(bot, clock, utc(8, 18, 31))
    assert sandbox.dms_to(ada) == []
    await sweep(bot, clock, utc(9, 18))
    assert len(dm_texts(sandbox, ada)) == 1


async def test_learners_who_checked_in_that_local_day_get_no_daily_reminder(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace = server.learners[:2]
    await create_cohort(sandbox, server)
    await join(sandbox, ada, grace)
    await check_in(sandbox, clock, ada, utc(2, 12))
    await check_in(sandbox, clock, grace, utc(2, 12))
    await sweep(bot, clock, utc(2, 18))
    assert sandbox.dms_to(ada) == sandbox.dms_to(grace) == []
    await check_in(sandbox, clock, ada, utc(3, 10))
    await sweep(bot, clock, utc(3, 18))  # grace checked in yesterday, not today
    assert (dm_texts(sandbox, ada), len(dm_texts(sandbox, grace))) == ([], 1)


async def test_paused_and_ended_cohorts_and_people_who_left_get_none(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace, alan = server.learners
    await create_cohort(sandbox, server)
    await join(sandbox, ada, grace, alan)
    leave = await sandbox.slash("leave", user=alan)
    await sandbox.click(leave, "Leave", user=alan)
    clock.set(utc(2, 12))
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
    await sweep(bot, clock, utc(2, 18))
    assert all(sandbox.dms_to(learner) == [] for learner in server.learners)
    clock.set(utc(3, 10))
    await sandbox.slash("cohort resume", user=server.moderator, cohort="Spring")
    await sweep(bot, clock, utc(3, 18))
    assert [len(dm_texts(sandbox, learner)) for learner in server.learners] == [1, 1, 0]
    clock.set(utc(4, 10))
    await sandbox.slash("cohort end", user=server.moderator, cohort="Spring")
    await sweep(bot, clock, utc(4, 18))
    assert [len(dm_texts(sandbox, learner)) for learner in server.learners] == [1, 1, 0]


# Channel delivery and closed DMs.


async def test_channel_delivery_is_one_message_pinging_exactly_those_learners(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace, alan = server.learners
    await create_cohort(sandbox, server)
    await join(sandbox, ada, grace, alan)
    await settings(sandbox, ada, reminders="channel")
    await settings(sandbox, grace, reminders="channel")
    await sweep(bot, clock, utc(2, 18))
    [ping] = pings_in(sandbox, server)
    assert f"<@{ada.id}>" in ping and f"<@{grace.id}>" in ping and f"<@{alan.id}>" not in ping
    [request] = [r for r in sandbox.requests_to("POST", MESSAGES_ROUTE) if DAILY in (r.json or {}).get("content", "")
                 and r.path == f"/channels/{server.cohort_channel.id}/messages"]
    mentions = request.json["allowed_mentions"]
    assert {int(user) for user in mentions["users"]} == {ada.id, grace.id}
    assert mentions["parse"] == []
    assert sandbox.dms_to(ada) == sandbox.dms_to(grace) == []
    assert len(dm_texts(sandbox, alan)) == 1


async def test_channel_pings_split_to_fit_and_each_message_pings_only_its_own_learners(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    learners = [server.guild.add_member(f"learner{i:02d}") for i in range(95)]
    await create_cohort(sandbox, server)
    await join(sandbox, *learners)
    for learner in learners:
        await settings(sandbox, learner, reminders="channel")
    await sweep(bot, clock, utc(2, 18))
    requests = [r for r in sandbox.requests_to("POST", MESSAGES_ROUTE)
                if r.path == f"/channels/{server.cohort_channel.id}/messages" and DAILY in r.json["content"]]
    assert len(requests) == 2
    pinged: list[int] = []
    for request in requests:
        content = request.json["content"]
        assert len(content) <= 2000
        allowed_users = sorted(int(user) for user in request.json["allowed_mentions"]["users"])
        assert allowed_users == sorted(m.id for m in learners if f"<@{m.id}>" in content)
        pinged += allowed_users
    assert sorted(pinged) == sorted(m.id for m in learners)


async def test_closed_dms_fall_back_to_the_channel_then_go_straight_there_until_settings_change(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    ada.dms_closed = True
    await create_cohort(sandbox, server)
    await join(sandbox, ada)
    await sweep(bot, clock, utc(2, 18))
    dm_path = f"/channels/{sandbox.world.dm_channels[ada.id].id}/messages"
    refused = sandbox.requests_to("POST", dm_path)
    assert [(r.status, r.error_code) for r in refused] == [(403, 50007)]
    [ping] = pings_in(sandbox, server)
    assert ping.startswith(f"<@{ada.id}>")
    async with bot.bot.sessions() as session:
        remembered = await session.scalar(select(LearnerSettings.dms_closed).where(LearnerSettings.user_id == ada.id))
    assert remembered is True

    await sweep(bot, clock, utc(3, 18))
    assert len(sandbox.requests_to("POST", dm_path)) == 1  # no new DM attempt
    assert len(pings_in(sandbox, server)) == 2
    request = sandbox.requests_to("POST", f"/channels/{server.cohort_channel.id}/messages")[-1]
    assert [int(user) for user in request.json["allowed_mentions"]["users"]] == [ada.id]

    ada.dms_closed = False
    clock.set(utc(4, 10))
    await settings(sandbox, ada, reminders="dm")  # changing the settings makes the bot try DMs again
    await sweep(bot, clock, utc(4, 18))
    assert len(dm_texts(sandbox, ada)) == 1
    assert len(pings_in(sandbox, server)) == 2


async def test_a_channel_that_refuses_pings_is_reported_and_the_dms_still_go(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace = server.learners[:2]
    await create_cohort(sandbox, server)
    await join(sandbox, ada, grace)
    await settings(sandbox, ada, reminders="channel")
    await sweep(bot, clock, utc(2, 17))  # week 1's post is out before the permission goes
    server.cohort_channel.set_overwrite(server.guild.bot_role, deny=Perm.SEND_MESSAGES)
    report = await sweep(bot, clock, utc(2, 18))
    assert (report.failed, report.dms) == (1, 1)
    assert len(dm_texts(sandbox, grace)) == 1
    [told] = [m.content for m in sandbox.messages_in(server.review_channel) if "could not post reminders" in m.content]
    assert f"<#{server.cohort_channel.id}>" in told and "missing permission" in told
    async with bot.bot.sessions() as session:
        states = dict((await session.execute(
            select(Delivery.subject, Delivery.state).where(Delivery.kind == DAILY_REMINDER)
        )).all())
    assert states == {f"learner:{server.guild.id}:{ada.id}": DeliveryState.FAILED,
                      f"learner:{server.guild.id}:{grace.id}": DeliveryState.SENT}
    server.cohort_channel.set_overwrite(server.guild.bot_role)
    await sweep(bot, clock, utc(2, 18, 5))  # a failed reminder is not sent again (at most once)
    assert pings_in(sandbox, server) == []


async def test_a_429_waits_retry_after_and_the_reminder_goes_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await create_cohort(sandbox, server)
    await join(sandbox, ada)
    await sweep(bot, clock, utc(2, 17))  # week 1's post is out of the way
    sandbox.fail_next("POST", MESSAGES_ROUTE, status=429, retry_after=0.05)
    report = await sweep(bot, clock, utc(2, 18))
    assert (report.dms, report.failed) == (1, 0)
    assert len(dm_texts(sandbox, ada)) == 1
    dm_path = f"/channels/{sandbox.world.dm_channels[ada.id].id}/messages"
    assert [r.status for r in sandbox.requests_to("POST", dm_path)] == [429, 200]


# Downtime and restarts.


async def test_downtime_sends_only_what_is_still_worth_sending_once_and_drops_the_rest(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    ada, grace = server.learners[:2]
    first = await launch()
    await create_cohort(sandbox, server)
    await join(sandbox, ada, grace)
    await sweep(first, clock, utc(5, 12))
    await first.stop()

    clock.set(utc(8, 19))  # down from Thursday noon to Sunday 19:00: four daily moments passed
    second = await launch()
    for learner in (ada, grace):
        # Only today's daily reminder, and the weekly one since Monday's deadline is still ahead.
        assert len(dm_texts(sandbox, learner)) == 1
        assert len(dm_texts(sandbox, learner, WEEKLY)) == 1
    await second.stop()

    clock.set(utc(17, 10))  # down for 8 days: week 2's reminder moment and deadline both passed
    await launch()
    for learner in (ada, grace):
        assert len(sandbox.dms_to(learner)) == 2
    digests = [m.content for m in sandbox.messages_in(server.review_channel) if "Weekly digest" in m.content]
    assert len(digests) == 1 and "week 3 of 21" in digests[0]  # week 2's digest is over a week old: dropped


async def test_restart_exactly_at_a_reminder_moment_sends_once(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    ada = server.learners[0]
    first = await launch()
    await create_cohort(sandbox, server)
    await join(sandbox, ada)
    await sweep(first, clock, utc(2, 18))
    await first.stop()
    second = await launch()  # back at the very same moment
    await second.bot.reminder_runner.run_due()
    assert len(dm_texts(sandbox, ada)) == 1

    await sweep(second, clock, utc(3, 17, 59))
    await second.stop()
    clock.set(utc(3, 18))  # down just before the moment, up exactly at it
    third = await launch()
    await third.bot.reminder_runner.run_due()
    await third.bot.reminder_runner.run_due()
    assert len(dm_texts(sandbox, ada)) == 2


# Weekly reminders and the moderators' digest.


async def test_weekly_reminder_48h_before_the_deadline_only_to_those_without_a_submission(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace, alan = server.learners
    await create_cohort(sandbox, server)
    await join(sandbox, ada, grace, alan)
    await submit(sandbox, clock, ada, 1, utc(5, 10))
    extended = await sandbox.slash("cohort extend", user=server.moderator, cohort="Spring", member=alan, week=1,
                                   days=2)
    assert "2 extra days" in extended.content, extended.content
    checkpoint = (await bot.bot.cohorts.get(server.guild.id, "Spring")).roadmap.modules[0].checkpoint.title
    deadline = utc(9, 9)
    await sweep(bot, clock, deadline - timedelta(hours=48, minutes=1))
    assert [dm_texts(sandbox, learner, WEEKLY) for learner in server.learners] == [[], [], []]
    await sweep(bot, clock, deadline - timedelta(hours=48))
    assert dm_texts(sandbox, ada, WEEKLY) == dm_texts(sandbox, alan, WEEKLY) == []
    [text] = dm_texts(sandbox, grace, WEEKLY)
    assert f"**{checkpoint}**" in text and f"<t:{int(deadline.timestamp())}:F>" in text
    await sweep(bot, clock, deadline)  # alan's own deadline is two days later: his reminder comes now
    [text] = dm_texts(sandbox, alan, WEEKLY)
    assert f"<t:{int((deadline + timedelta(days=2)).timestamp())}:F>" in text
    await sweep(bot, clock, deadline + timedelta(days=1))
    assert [len(dm_texts(sandbox, learner, WEEKLY)) for learner in server.learners] == [0, 1, 1]


async def test_moderator_digest_sums_up_the_week_in_the_review_channel_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace, alan = server.learners
    await create_cohort(sandbox, server)
    await join(sandbox, ada, grace, alan)
    await submit(sandbox, clock, ada, 1, utc(4, 10))  # older: listed first among pending reviews
    await submit(sandbox, clock, grace, 1, utc(6, 10))
    await check_in(sandbox, clock, grace, utc(7, 12))
    async with bot.bot.sessions.begin() as session:
        session.add(TierAward(membership_id=await membership_id(bot, grace), tier_key="beginner",
                              status=AwardStatus.GRANTED, attempts=1, earned_at=utc(8, 12), granted_at=utc(8, 12)))
    await sweep(bot, clock, utc(9, 8, 59))
    assert [m for m in sandbox.messages_in(server.review_channel) if "Weekly digest" in m.content] == []
    await sweep(bot, clock, utc(9, 9))  # week 2 opens
    await sweep(bot, clock, utc(9, 9, 5))
    [digest] = [m.content for m in sandbox.messages_in(server.review_channel) if "Weekly digest" in m.content]
    assert "Weekly digest · Spring** — week 2 of 21" in digest
    assert "Submissions in the last 7 days: 2" in digest
    pending = digest.split("Pending reviews, oldest first: 2**")[1]
    assert pending.index(f"<@{ada.id}>") < pending.index(f"<@{grace.id}>")
    review = sandbox.messages_in(server.review_channel)[0]
    assert f"[review](https://discord.com/channels/{server.guild.id}/{server.review_channel.id}/{review.id})" in pending
    inactive = digest.split("No check-in or submission for 7 days: 1**")[1].splitlines()[1]
    assert inactive == f"<@{alan.id}>"
    assert f"<@{grace.id}> · ML/AI Foundations" in digest.split("Tier awards in the last 7 days: 1**")[1]
    sent = sandbox.requests_to("POST", f"/channels/{server.review_channel.id}/messages")[-1]
    assert sent.json["allowed_mentions"] == {"parse": []}  # names learners without pinging them


# A fixed number of queries.


async def test_recipients_take_the_same_number_of_queries_for_5_or_50_learners(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    learners = [server.guild.add_member(f"learner{i:02d}") for i in range(50)]
    await create_cohort(sandbox, server)
    await join(sandbox, *learners[:5])
    for learner in learners[:5:2]:
        await settings(sandbox, learner, reminders="channel")
    five = await counted_sweep(bot, clock, utc(2, 18))

    await join(sandbox, *learners[5:])
    for learner in learners[5::2]:
        await settings(sandbox, learner, reminders="channel")
    fifty = await counted_sweep(bot, clock, utc(3, 18))

    assert (five.report.dms, five.report.pinged, fifty.report.dms, fifty.report.pinged) == (2, 3, 24, 26)
    assert fifty.plan == five.plan
    assert fifty.sweep == five.sweep


class Counted:
    def __init__(self) -> None:
        self.plan = 0
        self.sweep = 0
        self.report = ReminderReport()


async def counted_sweep(bot: RunningBot, clock: ManualClock, at: datetime) -> Counted:
    """SQL statements for working out the recipients alone, then for the whole sweep (claims, sends, ledger)."""
    clock.set(at)
    await bot.bot.runner.run_due()
    await bot.bot.outbox.settle()  # messages still owed (welcomes) are not the sweep's statements
    counted = Counted()
    with counting_statements(bot.bot.engine) as counter:
        await bot.bot.reminders.plan(at, since=at - timedelta(minutes=1))
    counted.plan = counter.count
    with counting_statements(bot.bot.engine) as counter:
        counted.report = await bot.bot.reminder_runner.run_due()
    counted.sweep = counter.count
    return counted


# /settings.


async def test_settings_without_options_shows_the_defaults(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await create_cohort(sandbox, server, timezone="Europe/Berlin")
    await join(sandbox, ada)
    reply = await settings(sandbox, ada)
    assert reply.ephemeral
    assert "not set (using your cohort's, **Europe/Berlin**)" in reply.content
    assert "by direct message**, daily at **18:00**" in reply.content
    assert f"<t:{int(utc(2, 17).timestamp())}:F>" in reply.content  # 18:00 in Berlin


async def test_settings_change_all_three_and_autocomplete_offers_zones(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await create_cohort(sandbox, server)
    await join(sandbox, ada)
    choices = await sandbox.autocomplete("settings", "timezone", "tonga", user=ada)
    assert "Pacific/Tongatapu" in [c["value"] for c in choices]
    reply = await settings(sandbox, ada, timezone="Pacific/Tongatapu", reminders="channel", reminder_hour=7)
    assert reply.ephemeral and reply.content.startswith("Saved.")
    assert "**Pacific/Tongatapu**" in reply.content and "daily at **07:00**" in reply.content
    async with bot.bot.sessions() as session:
        row = await session.scalar(select(LearnerSettings).where(LearnerSettings.user_id == ada.id))
    assert (row.timezone, row.reminder_delivery, row.reminder_hour) == (
        "Pacific/Tongatapu", ReminderDelivery.CHANNEL, 7)
    reply = await settings(sandbox, ada, reminders="off")
    assert "Reminders: **off**" in reply.content and "**Pacific/Tongatapu**" in reply.content


async def out_of_range_hour(sandbox: Sandbox, server: StudyServer, learner: Member, hour: int) -> Reply:
    """/settings reminder_hour:`hour` as a client that ignores the command's 0-23 range would send it."""
    schema = sandbox.commands.lookup("settings", None)
    assert schema is not None
    return await sandbox.interact({
        "type": 2,
        "channel_id": str(server.cohort_channel.id),
        "guild_id": str(server.guild.id),
        "member": payloads.member(learner, channel=server.cohort_channel),
        "data": {"id": schema["id"], "name": "settings", "type": 1,
                 "options": [{"name": "reminder_hour", "type": 4, "value": hour}]},
    })


async def settings_rows(bot: RunningBot) -> list[tuple]:
    async with bot.bot.sessions() as session:
        rows = await session.execute(select(LearnerSettings).order_by(LearnerSettings.id))
        return [(r.user_id, r.timezone, r.reminder_delivery, r.reminder_hour, r.updated_at) for (r,) in rows]


async def test_settings_refusals_are_ephemeral_and_change_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace = server.learners[:2]
    await create_cohort(sandbox, server)
    await join(sandbox, ada)
    await settings(sandbox, ada, timezone="Europe/Berlin")
    before = await settings_rows(bot)
    clock.advance(timedelta(hours=1))

    unknown = await settings(sandbox, ada, timezone="Mars/Olympus_Mons", reminder_hour=7)
    assert unknown.ephemeral and "'Mars/Olympus_Mons' is not a timezone I know" in unknown.content
    # Discord enforces 0-23; a client that skips the check meets the bot's own.
    late = await out_of_range_hour(sandbox, server, ada, 24)
    assert late.ephemeral and "24 is not an hour of the day. Use 0 to 23" in late.content
    stranger = await settings(sandbox, grace, reminders="channel")
    assert stranger.ephemeral and "You are not in any cohort on this server" in stranger.content
    assert await settings_rows(bot) == before
