"""/checkin, /progress and /leaderboard through the real bot: answers, refusals, and a fixed number of queries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import (
    CheckIn,
    Membership,
    MembershipStatus,
)
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Member, Reply, Sandbox, SandboxError
from tests.e2e.helpers import (
    add_history,
    assert_refused,
    create_cohort,
    db_rows,
    decide_latest,
    guild_command,
    reviews,
    statements,
    submit,
)

WEEK_1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK_2 = WEEK_1 + timedelta(days=7)
WEEK_3 = WEEK_2 + timedelta(days=7)


def stamp(moment: datetime, style: str) -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


def fields(reply: Reply) -> dict[str, str]:
    return {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}


def lines(reply: Reply) -> list[str]:
    return reply.embeds[0]["description"].splitlines()


async def check_ins(bot: RunningBot) -> list[tuple[date, int | None, str | None]]:
    async with bot.bot.sessions() as session:
        rows = await session.execute(select(CheckIn.local_date, CheckIn.minutes, CheckIn.note).order_by(CheckIn.id))
        return [tuple(row) for row in rows.all()]


async def check_in_on(sandbox: Sandbox, clock: ManualClock, learner: Member, when: datetime, **options: Any) -> Reply:
    clock.set(when)
    reply = await sandbox.slash("checkin", user=learner, **options)
    assert reply.content.startswith("Checked in"), reply.content
    return reply


# /checkin.


async def test_checkin_logs_minutes_and_note_on_the_learners_day(
    sandbox: Sandbox, running: RunningBot, ada: Member
) -> None:
    reply = await sandbox.slash("checkin", user=ada, minutes=45, note="Gradient descent by hand")
    assert reply.ephemeral
    assert reply.content == "Checked in for **Mon 02 Mar** (UTC): 45 minutes. Daily streak: **1 day** (best 1)."
    assert await check_ins(running) == [(date(2026, 3, 2), 45, "Gradient descent by hand")]


async def test_checkin_uses_the_learners_timezone_else_the_cohorts(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    grace = server.learners[1]
    await create_cohort(sandbox, server, timezone="Pacific/Honolulu")
    for learner in (ada, grace):
        await sandbox.slash("join", user=learner)
    await bot.bot.learners.update(server.guild.id, ada.id, timezone="Pacific/Tongatapu")
    clock.set(datetime(2026, 3, 2, 11, 30, tzinfo=UTC))  # 00:30 Tuesday in Tonga, 01:30 Monday in Honolulu

    mine = await sandbox.slash("checkin", user=ada)
    theirs = await sandbox.slash("checkin", user=grace)

    assert mine.content.startswith("Checked in for **Tue 03 Mar** (Pacific/Tongatapu). Daily streak: **1 day**")
    assert theirs.content.startswith("Checked in for **Mon 02 Mar** (Pacific/Honolulu).")
    assert [day for day, _, _ in await check_ins(bot)] == [date(2026, 3, 3), date(2026, 3, 2)]


async def test_several_checkins_a_day_are_kept_and_count_once(
    sandbox: Sandbox, running: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await sandbox.slash("checkin", user=ada, minutes=30)
    clock.advance(timedelta(hours=5))
    reply = await sandbox.slash("checkin", user=ada, minutes=20, note="evening review")
    assert "Daily streak: **1 day** (best 1). You had already checked in today" in reply.content
    assert await check_ins(running) == [(date(2026, 3, 2), 30, None), (date(2026, 3, 2), 20, "evening review")]


async def test_the_daily_streak_grows_by_day_and_breaks_after_a_whole_day_without_study(
    sandbox: Sandbox, running: RunningBot, clock: ManualClock, ada: Member
) -> None:
    for day in (2, 3, 4):
        reply = await check_in_on(sandbox, clock, ada, datetime(2026, 3, day, 20, 0, tzinfo=UTC))
    assert "Daily streak: **3 days** (best 3)" in reply.content
    reply = await check_in_on(sandbox, clock, ada, datetime(2026, 3, 6, 7, 0, tzinfo=UTC))
    assert "Daily streak: **1 day** (best 3)" in reply.content


async def test_checkin_while_the_cohort_is_paused_says_the_streak_is_frozen(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada: Member
) -> None:
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
    reply = await sandbox.slash("checkin", user=ada, minutes=10)
    assert "'Spring' is paused, so your streak is frozen until it resumes." in reply.content


async def test_checkin_limits_are_in_the_synced_command(sandbox: Sandbox, running: RunningBot, ada: Member) -> None:
    [command] = [c for c in sandbox.synced_commands() if c["name"] == "checkin"]
    options = {o["name"]: o for o in command["options"]}
    assert (options["minutes"]["min_value"], options["minutes"]["max_value"]) == (1, 1440)
    assert options["note"]["max_length"] == 500
    with pytest.raises(SandboxError, match="outside"):
        await sandbox.slash("checkin", user=ada, minutes=1441)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([{"name": "minutes", "type": 4, "value": 0}], "Minutes must be between 1 and 1,440 (a whole day); you sent 0"),
        ([{"name": "minutes", "type": 4, "value": 1441}], "Minutes must be between 1 and 1,440"),
        ([{"name": "note", "type": 3, "value": "n" * 501}], "A note can be at most 500 characters (yours is 501)"),
    ],
)
async def test_out_of_range_values_from_an_old_client_are_refused_and_nothing_is_recorded(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada: Member, options: list, expected: str
) -> None:
    before = await db_rows(running)
    reply = await sandbox.interact(guild_command(sandbox, ada, server.cohort_channel, "checkin", options))
    assert_refused(reply, expected)
    assert await db_rows(running) == before


async def test_checkin_by_someone_in_no_cohort_is_refused(
    sandbox: Sandbox, server: StudyServer, running: RunningBot
) -> None:
    outsider = server.guild.add_member("olga")
    before = await db_rows(running)
    assert_refused(await sandbox.slash("checkin", user=outsider, minutes=5), "You are not in any cohort", "/join")
    assert await db_rows(running) == before


# /progress.


@pytest.fixture
async def two_weeks_in(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock, ada: Member
) -> RunningBot:
    """Ada: week 1 approved, check-ins on the 2nd and the 7th-9th. Grace: week 1 missing, week 2 sent back.
    Alan: week 1 handed in late. The clock ends on Monday 9 March, 10:00 UTC (week 2 open)."""
    grace, alan = server.learners[1], server.learners[2]
    await check_in_on(sandbox, clock, ada, WEEK_1, minutes=30)
    await submit(sandbox, ada, 1)
    await decide_latest(sandbox, server, approve=True)
    for day in (7, 8):
        await check_in_on(sandbox, clock, ada, datetime(2026, 3, day, 18, 0, tzinfo=UTC), minutes=60)
    clock.set(WEEK_2 + timedelta(hours=1))
    await running.bot.runner.run_due()
    await check_in_on(sandbox, clock, ada, clock.now(), minutes=15)
    await submit(sandbox, grace, 2)
    await decide_latest(sandbox, server, approve=False)
    await submit(sandbox, alan, 1)
    return running


async def test_progress_shows_each_week_streaks_tiers_and_the_next_deadline(
    sandbox: Sandbox, two_weeks_in: RunningBot, ada: Member
) -> None:
    reply = await sandbox.slash("progress", user=ada)
    assert reply.ephemeral
    embed = reply.embeds[0]
    assert embed["title"] == "Progress · ada"
    assert lines(reply)[:6] == [
        "**Spring** — ML/AI Learning Roadmap: Complete Study Guide · week 2 of 21",
        "1 approved · 0 pending review · 0 changes requested · 0 missing",
        "",
        "✅ Week 1 · Mathematics & ML Basics — approved",
        f"📝 Week 2 · Neural Networks Fundamentals — open, due {stamp(WEEK_3, 'R')}",
        "· 18 more checkpoints to come",
    ]
    assert fields(reply) == {
        "Daily streak": "**3 days** (best 3)\nChecked in today ✓",
        "Weekly streak": "**1 checkpoint** on time in a row (best 1)",
        "Study logged": "4 days, 165 minutes",
        "Tiers earned": "None yet.",
        "Next tier": "**ML/AI Foundations** (weeks 1-4): 1 of 4 checkpoints approved; still needs weeks 2-4.",
        "Next deadline": f"Week 2 checkpoint: {stamp(WEEK_3, 'F')} ({stamp(WEEK_3, 'R')})",
    }
    assert embed["footer"]["text"] == "Days count in UTC."


async def test_progress_of_a_long_roadmap_fits_in_one_embed(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, ada: Member
) -> None:
    await create_cohort(sandbox, server, roadmap="ml-ai-expert", start="2025-04-14")  # 46 weeks ago
    await bot.bot.runner.settle()
    await sandbox.slash("join", user=ada)
    reply = await sandbox.slash("progress", user=ada)
    assert reply.errors == [] and len(reply.embeds) == 1, reply
    assert lines(reply)[1] == "0 approved · 0 pending review · 0 changes requested · 23 missing"
    assert lines(reply)[-1] == "· 9 more checkpoints to come"


async def test_a_moderator_sees_missing_sent_back_and_late_checkpoints_of_others(
    sandbox: Sandbox, server: StudyServer, two_weeks_in: RunningBot
) -> None:
    grace, alan = server.learners[1], server.learners[2]
    theirs = await sandbox.slash("progress", user=server.moderator, member=grace)
    assert theirs.embeds[0]["title"] == "Progress · grace"
    assert lines(theirs)[1] == "0 approved · 0 pending review · 1 changes requested · 1 missing"
    assert lines(theirs)[3:5] == [
        "❌ Week 1 · Mathematics & ML Basics — missing",
        "🔁 Week 2 · Neural Networks Fundamentals — changes requested",
    ]
    assert fields(theirs)["Weekly streak"] == "**0 checkpoints** on time in a row (best 0)"
    late = await sandbox.slash("progress", user=server.moderator, member=alan, cohort="spring")
    assert lines(late)[3] == "⏳ Week 1 · Mathematics & ML Basics — pending review · late"
    assert fields(late)["Daily streak"].startswith("**1 day** (best 1)")


async def test_the_learners_own_timezone_sets_today_and_the_footer(
    sandbox: Sandbox, server: StudyServer, two_weeks_in: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await two_weeks_in.bot.learners.update(server.guild.id, ada.id, timezone="Pacific/Tongatapu")
    clock.set(datetime(2026, 3, 9, 11, 30, tzinfo=UTC))  # already Tuesday the 10th in Tonga
    reply = await sandbox.slash("progress", user=ada)
    assert fields(reply)["Daily streak"] == "**3 days** (best 3)\nNot yet today: /checkin keeps it going."
    assert reply.embeds[0]["footer"]["text"] == "Days count in Pacific/Tongatapu."


async def test_another_members_progress_is_for_moderators_only(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada: Member
) -> None:
    grace = server.learners[1]
    before = await db_rows(running)
    refused = await sandbox.slash("progress", user=ada, member=grace)
    assert_refused(refused, "Only moderators can see another member's progress", "/progress alone shows yours")
    assert refused.embeds == []
    assert (await sandbox.slash("progress", user=ada, member=ada)).embeds[0]["title"] == "Progress · ada"
    assert await db_rows(running) == before


@pytest.mark.parametrize(
    ("who", "options", "expected"),
    [
        ("ada", {"cohort": "Autumn"}, "There is no cohort named 'Autumn'"),
        ("olga", {}, "You are not in any cohort on this server. /join one first."),
        ("olga", {"cohort": "Spring"}, "You are not in 'Spring'. Use /join to enrol."),
        ("maria", {"member": "olga"}, "is not in any cohort on this server. Name the cohort"),
        ("maria", {"member": "olga", "cohort": "Spring"}, "is not in 'Spring'."),
    ],
)
async def test_progress_refusals(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, who: str, options: dict, expected: str
) -> None:
    olga = server.guild.add_member("olga")
    people = {"ada": server.learners[0], "olga": olga, "maria": server.moderator}
    options = dict(options)  # the parameter is shared by the sqlite and postgres runs
    if "member" in options:
        options["member"] = people[options["member"]]
    reply = await sandbox.slash("progress", user=people[who], **options)
    assert_refused(reply, expected)
    assert reply.embeds == []


# /leaderboard.


async def test_leaderboard_by_streak_lists_the_top_ten_and_the_callers_own_rank(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock
) -> None:
    crowd = [server.guild.add_member(f"m{k:02d}") for k in range(1, 15)]
    for member in crowd:
        await sandbox.slash("join", user=member)
    # m01..m14: m{k} checks in on the last k of 14 days, so their streak is k.
    for day in range(14):
        clock.set(WEEK_1 + timedelta(days=day))
        for k, member in enumerate(crowd, start=1):
            if day >= 14 - k:
                await sandbox.slash("checkin", user=member)

    reply = await sandbox.slash("leaderboard", user=crowd[2])

    assert reply.ephemeral
    text = lines(reply)
    assert text[0] == "**Spring** · by current daily streak · 17 members"
    top = text[2:12]
    assert top[0] == f"#1 <@{crowd[13].id}> — 14 days (best 14)"
    assert top[9] == f"#10 <@{crowd[4].id}> — 5 days (best 5)"
    assert text[12:] == ["", f"You: #12 <@{crowd[2].id}> — 3 days (best 3)"]


async def test_leaderboard_by_approved_checkpoints_shares_ranks_on_ties(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock, ada: Member
) -> None:
    grace, alan = server.learners[1], server.learners[2]
    for learner in (ada, grace):
        await submit(sandbox, learner, 1)
        await decide_latest(sandbox, server, approve=True)
    reply = await sandbox.slash("leaderboard", user=alan, by="approved")
    assert lines(reply) == [
        "**Spring** · by approved checkpoints · 3 members",
        "",
        f"#1 <@{ada.id}> — 1 approved checkpoint",
        f"#1 <@{grace.id}> — 1 approved checkpoint",
        "",
        f"You: #3 <@{alan.id}> — 0 approved checkpoints",
    ]


async def test_the_approved_count_follows_approvals_sent_back_work_two_at_once_and_erasure(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock, ada: Member
) -> None:
    grace = server.learners[1]
    clock.set(WEEK_1 + timedelta(weeks=2, days=1))  # three weeks open
    await submit(sandbox, ada, 1)
    await decide_latest(sandbox, server, approve=False)  # sent back: not counted
    assert await approved_of(running) == {ada.id: 0, grace.id: 0, server.learners[2].id: 0}
    await submit(sandbox, ada, 1)
    await decide_latest(sandbox, server, approve=True)  # the second version approved: counted once
    await submit(sandbox, ada, 2)
    await submit(sandbox, ada, 3)
    week_2, week_3 = [m for m in reviews(sandbox, server) if m.components][-2:]
    clicks = await asyncio.gather(  # two moderators, the same learner, the same instant
        sandbox.click(week_2, "Approve", user=server.moderator), sandbox.click(week_3, "Approve", user=server.moderator)
    )
    assert [c.errors for c in clicks] == [[], []]
    assert (await approved_of(running))[ada.id] == 3
    board = await sandbox.slash("leaderboard", user=grace, by="approved")
    assert lines(board)[2] == f"#1 <@{ada.id}> — 3 approved checkpoints"

    prompt = await sandbox.slash("mydata erase", user=ada)
    await sandbox.click(prompt, "Erase my data", user=ada)
    assert ada.id not in await approved_of(running)
    async with running.bot.sessions() as session:
        assert await session.scalar(select(func.max(Membership.approved))) == 0


async def approved_of(running: RunningBot) -> dict[int, int]:
    async with running.bot.sessions() as session:
        return dict((await session.execute(select(Membership.user_id, Membership.approved))).tuples().all())


async def test_leaderboard_for_a_named_cohort_tells_an_outsider_they_are_not_in_it(
    sandbox: Sandbox, server: StudyServer, running: RunningBot
) -> None:
    reply = await sandbox.slash("leaderboard", user=server.moderator, cohort="Spring")
    assert lines(reply) == [
        "**Spring** · by current daily streak · 3 members",
        "",
        "No one is on the board yet. Check in with /checkin.",
        "",
        "You are not in 'Spring'.",
    ]


async def test_leaderboard_refusals(sandbox: Sandbox, server: StudyServer, running: RunningBot, ada: Member) -> None:
    assert_refused(await sandbox.slash("leaderboard", user=ada, cohort="Autumn"), "There is no cohort named 'Autumn'")
    raw = guild_command(sandbox, ada, server.cohort_channel, "leaderboard", [{"name": "by", "type": 3, "value": "x"}])
    assert_refused(await sandbox.interact(raw), "Rank by `streak` or `approved`.")
    with pytest.raises(SandboxError, match="not one of the choices"):
        await sandbox.slash("leaderboard", user=ada, by="fastest")


# A fixed number of queries, whatever the history.


async def test_progress_and_leaderboard_cost_the_same_queries_for_a_small_and_a_large_history(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada: Member
) -> None:
    await sandbox.slash("checkin", user=ada, minutes=20)
    await submit(sandbox, ada, 1)

    def progress() -> Awaitable[Reply]:
        return sandbox.slash("progress", user=ada)

    def by_streak() -> Awaitable[Reply]:
        return sandbox.slash("leaderboard", user=ada)

    def by_approved() -> Awaitable[Reply]:
        return sandbox.slash("leaderboard", user=ada, by="approved")

    small = [await statements(running, call) for call in (progress, by_streak, by_approved)]

    crowd = [server.guild.add_member(f"m{k:02d}") for k in range(30)]
    for member in crowd:
        await sandbox.slash("join", user=member)
    async with running.bot.sessions() as session:
        rows = (await session.execute(
            select(Membership.id, Membership.cohort_id).where(Membership.status == MembershipStatus.ACTIVE)
        )).all()
    await add_history(running, [m for m, _ in rows], rows[0].cohort_id, days=90, weeks=18)

    large = [await statements(running, call) for call in (progress, by_streak, by_approved)]
    assert large == small
    assert all(count <= 16 for count in small), small
