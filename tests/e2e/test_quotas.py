"""Quotas on what one learner or one server can repeat, each refusal saying when to try again, through the sandbox."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import QuotaUse
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Reply, Sandbox
from tests.e2e.helpers import START, WEEK_1, assert_refused, db_rows, leave, reviews, start_cohort


def try_again(at: datetime) -> str:
    stamp = int(at.timestamp())
    return f"Try again <t:{stamp}:R> (<t:{stamp}:f>)."


async def refused_and_unchanged(bot: RunningBot, action: Awaitable[Reply], message: str) -> None:
    """Run `action` (a command not yet awaited): it is refused with `message` and changes nothing."""
    before = await db_rows(bot)
    reply = await action
    assert_refused(reply, message)
    assert not reply.attachments
    assert await db_rows(bot) == before


async def test_five_versions_of_a_checkpoint_a_day_then_wait_for_the_oldest_to_age_out(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await start_cohort(sandbox, server, bot, clock)
    ada, grace = server.learners[:2]
    for n in range(5):
        clock.set(WEEK_1 + timedelta(hours=n))
        reply = await sandbox.slash("submit", user=ada, link=f"https://example.org/v{n + 1}")
        assert "Submitted" in (reply.content or ""), reply
    posted = len(reviews(sandbox, server))
    assert posted == 5

    clock.set(WEEK_1 + timedelta(hours=23))
    await refused_and_unchanged(
        bot, sandbox.slash("submit", user=ada, link="https://example.org/v6"),
        "You have sent 5 versions of this checkpoint in the last 24 hours, the most you may. "
        + try_again(WEEK_1 + timedelta(hours=24)),
    )
    assert len(reviews(sandbox, server)) == posted, "a refused version posts nothing for review"
    theirs = await sandbox.slash("submit", user=grace, link="https://example.org/grace")
    assert "Submitted" in (theirs.content or ""), "another learner has their own quota"

    clock.set(WEEK_1 + timedelta(hours=24))
    later = await sandbox.slash("submit", user=ada, link="https://example.org/v6")
    assert "Submitted" in (later.content or ""), later


async def test_twenty_check_ins_a_day(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock):
    await start_cohort(sandbox, server, bot, clock)
    ada = server.learners[0]
    for n in range(20):
        clock.set(WEEK_1 + timedelta(minutes=10 * n))
        reply = await sandbox.slash("checkin", user=ada, minutes=5)
        assert (reply.content or "").startswith("Checked in"), reply
    await refused_and_unchanged(
        bot, sandbox.slash("checkin", user=ada, minutes=5),
        "You have checked in 20 times in the last 24 hours, the most you may. " + try_again(WEEK_1 + timedelta(days=1)),
    )
    clock.set(WEEK_1 + timedelta(days=1))
    assert (await sandbox.slash("checkin", user=ada, minutes=5)).content.startswith("Checked in")


async def test_three_data_exports_an_hour_and_erase_forgets_them(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await start_cohort(sandbox, server, bot, clock)
    ada = server.learners[0]
    for n in range(3):
        clock.set(WEEK_1 + timedelta(minutes=n))
        reply = await sandbox.slash("mydata export", user=ada)
        [attachment] = reply.attachments
    assert [use["action"] for use in json.loads(attachment.text())["quota_uses"]] == ["join"] + ["data-export"] * 3
    await refused_and_unchanged(
        bot, sandbox.slash("mydata export", user=ada),
        "You have exported your data 3 times in the last hour, the most you may. "
        + try_again(WEEK_1 + timedelta(hours=1)),
    )

    asked = await sandbox.slash("mydata erase", user=ada)
    await sandbox.click(asked, "Erase my data", user=ada)
    async with bot.bot.sessions() as session:
        left = (await session.scalars(select(QuotaUse.user_id))).all()
    assert ada.id not in left and server.learners[1].id in left


async def test_five_joins_a_day_on_a_server(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock):
    await start_cohort(sandbox, server, bot, clock)
    ada = server.learners[0]
    for n in range(4):
        clock.set(WEEK_1 + timedelta(hours=1 + n))
        await leave(sandbox, ada)
        rejoined = await sandbox.slash("join", user=ada)
        assert "Spring" in (rejoined.content or "") and rejoined.ephemeral, rejoined
    await leave(sandbox, ada)
    # The first join was before the cohort's first week opened, when start_cohort enrolled everyone.
    await refused_and_unchanged(
        bot, sandbox.slash("join", user=ada),
        "You have joined cohorts on this server 5 times in the last 24 hours, the most you may. "
        + try_again(START + timedelta(days=1)),
    )


async def test_ten_roster_downloads_an_hour_per_server(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await start_cohort(sandbox, server, bot, clock)
    for _ in range(10):
        assert (await sandbox.slash("cohort roster", cohort="Spring")).attachments
    await refused_and_unchanged(
        bot, sandbox.slash("cohort roster", cohort="Spring"),
        "This server has downloaded 10 rosters in the last hour, the most it may. "
        + try_again(WEEK_1 + timedelta(hours=1)),
    )


async def create_cohort_at(sandbox: Sandbox, server: StudyServer, name: str) -> Reply:
    return await sandbox.slash(
        "cohort create", name=name, roadmap="ml-ai-study-guide", start="2026-03-02",
        options={"channel": server.cohort_channel},
    )


async def test_ten_new_cohorts_a_day_and_twenty_five_running_per_server(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    for n in range(25):
        day, rest = divmod(n, 10)
        clock.set(START + timedelta(days=day, minutes=rest))
        created = await create_cohort_at(sandbox, server, f"Cohort {n}")
        assert created.content.startswith("Created"), created
        if rest == 9:
            await refused_and_unchanged(
                bot, create_cohort_at(sandbox, server, "One too many"),
                "This server has created 10 cohorts in the last 24 hours, the most it may. "
                + try_again(START + timedelta(days=day + 1)),
            )
    clock.set(START + timedelta(days=3))
    await refused_and_unchanged(
        bot, create_cohort_at(sandbox, server, "Cohort 25"),
        "This server already runs 25 cohorts; a server may run at most 25. End one with /cohort end first.",
    )
    await sandbox.slash("cohort end", cohort="Cohort 0")
    assert (await create_cohort_at(sandbox, server, "Cohort 25")).content.startswith("Created")


async def test_ten_pauses_a_day_per_cohort(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock):
    await start_cohort(sandbox, server, bot, clock)
    for n in range(10):
        clock.set(WEEK_1 + timedelta(minutes=2 * n))
        assert "Paused" in (await sandbox.slash("cohort pause", cohort="Spring")).content
        assert "Resumed" in (await sandbox.slash("cohort resume", cohort="Spring")).content
    await refused_and_unchanged(
        bot, sandbox.slash("cohort pause", cohort="Spring"),
        "This cohort has been paused 10 times in the last 24 hours, the most it may. "
        + try_again(WEEK_1 + timedelta(days=1)),
    )
