"""Week posts when Discord fails part-way: each part once, threads retried, refusals answered, order kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml
from sqlalchemy import select, update

from bot.clock import ManualClock
from bot.db.models import Delivery, DeliveryState
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Sandbox, SandboxFile
from bot.sandbox.faults import LOST
from tests.e2e.helpers import Launcher, create_cohort, run

MESSAGES = "/channels/{channel_id}/messages"
THREADS = "/channels/{channel_id}/messages/{message_id}/threads"
OPENS = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LONG_WEEK_PARTS = 3


def long_roadmap() -> bytes:
    """A roadmap whose first week needs several messages (bundled ones all fit in one)."""
    materials = [{"title": f"Reading {n}", "details": [f"Chapter {n}: " + "notes " * 60]} for n in range(30)]
    modules = [
        {"week": week, "title": f"Topic {week}", "phase": "core", "materials": materials if week == 1 else ["A book"],
         "checkpoint": {"title": f"Project {week}"}}
        for week in (1, 2, 3)
    ]
    roadmap = {"id": "long-week", "title": "Long Week", "summary": "Three weeks, the first one long.",
               "phases": [{"key": "core", "title": "Core"}], "modules": modules}
    return yaml.safe_dump(roadmap).encode()


async def create_long_cohort(sandbox: Sandbox, server: StudyServer, **options: object) -> None:
    reply = await sandbox.slash("cohort import-roadmap", user=server.moderator, file=SandboxFile("long.yaml",
                                                                                               long_roadmap()))
    assert "long-week" in reply.content, reply.content
    await create_cohort(sandbox, server, roadmap="long-week", **options)


def posts(sandbox: Sandbox, server: StudyServer) -> list[str]:
    """Footers of the week messages in the cohort channel, oldest first (one per part)."""
    return [m.embeds[0]["footer"]["text"] for m in sandbox.messages_in(server.cohort_channel) if m.embeds]


def headers(sandbox: Sandbox, server: StudyServer) -> list[str]:
    return [m.content for m in sandbox.messages_in(server.cohort_channel) if "is open." in m.content]


async def ledger_row(bot: RunningBot, week: int) -> Delivery:
    async with bot.bot.sessions() as session:
        row = await session.scalar(select(Delivery).where(Delivery.period == f"week-{week}"))
    assert row is not None
    return row


async def test_a_failure_on_the_second_part_resumes_there_without_a_second_header(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_long_cohort(sandbox, server)
    clock.set(OPENS)
    sandbox.fail_next("POST", MESSAGES, status=503, skip=1)
    await run(bot)
    row = await ledger_row(bot, 1)
    assert (row.state, row.parts_sent, row.thread_id) == (DeliveryState.FAILED, 1, None)

    clock.advance(timedelta(minutes=1))
    await run(bot)
    footers = posts(sandbox, server)
    assert [f.rsplit(" · ", 1)[-1] for f in footers] == [f"part {n}/{LONG_WEEK_PARTS}" for n in (1, 2, 3)]
    assert len(headers(sandbox, server)) == 1
    assert [t.name for t in server.guild.threads] == ["Week 1 · Topic 1"]
    row = await ledger_row(bot, 1)
    assert (row.state, row.parts_sent) == (DeliveryState.SENT, LONG_WEEK_PARTS)


async def test_a_part_whose_answer_was_lost_is_not_posted_twice(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_long_cohort(sandbox, server)
    clock.set(OPENS)
    sandbox.fail_next("POST", MESSAGES, status=LOST, skip=1)  # Discord made part 2, the bot never heard
    await run(bot)
    assert (await ledger_row(bot, 1)).parts_sent == 1
    clock.advance(timedelta(minutes=1))
    await run(bot)
    assert len(posts(sandbox, server)) == LONG_WEEK_PARTS
    assert len(headers(sandbox, server)) == 1


async def test_a_thread_that_failed_is_opened_on_the_retry_without_posting_again(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    sandbox.fail_next("POST", THREADS, status=503)
    clock.set(OPENS)
    await run(bot)
    row = await ledger_row(bot, 1)
    assert (row.state, row.parts_sent, row.thread_id) == (DeliveryState.FAILED, 1, None)
    assert server.guild.threads == []
    clock.advance(timedelta(minutes=1))
    await run(bot)
    assert len(headers(sandbox, server)) == 1
    assert [t.name for t in server.guild.threads] == ["Week 1 · Mathematics & ML Basics"]
    assert (await ledger_row(bot, 1)).state is DeliveryState.SENT


async def test_a_restart_between_the_post_and_its_thread_still_ends_with_the_thread(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    first = await launch()
    await create_cohort(sandbox, server)
    sandbox.fail_next("POST", THREADS, status=LOST)  # the thread is made but the answer is lost...
    clock.set(OPENS)
    await run(first)
    # ...and the process dies before the retry, with the row still claimed by the dead process.
    async with first.bot.sessions.begin() as session:
        await session.execute(update(Delivery).values(state=DeliveryState.CLAIMED))
    await first.stop()
    second = await launch()
    await run(second)
    assert len(headers(sandbox, server)) == 1
    assert len(server.guild.threads) == 1
    row = await ledger_row(second, 1)
    assert row.state is DeliveryState.SENT and row.thread_id == row.message_id


async def test_a_post_cut_off_before_it_was_recorded_gets_its_thread_after_a_restart(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    first = await launch()
    await create_cohort(sandbox, server)
    clock.set(OPENS)
    sandbox.fail_next("POST", THREADS, status=503)
    await run(first)
    # As if the process died after Discord took the post but before the ledger recorded it.
    async with first.bot.sessions.begin() as session:
        await session.execute(update(Delivery).values(state=DeliveryState.CLAIMED, parts_sent=0, message_id=None))
    await first.stop()
    second = await launch()
    await run(second)
    assert len(headers(sandbox, server)) == 1
    assert [t.id for t in server.guild.threads] == [sandbox.messages_in(server.cohort_channel)[0].id]


async def test_an_unexpected_thread_answer_is_retried_and_other_cohorts_still_post(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    other = server.review_channel
    await create_cohort(sandbox, server)
    reply = await sandbox.slash("cohort create", user=server.moderator, name="Autumn", roadmap="ml-ai-study-guide",
                                start="2026-03-02", review_channel=server.review_channel, options={"channel": other})
    assert reply.content.startswith("Created"), reply.content
    sandbox.fail_next("POST", THREADS, status=200, body={"unexpected": True})  # not an HTTP error at all
    clock.set(OPENS)
    await run(bot)
    rows = {r.subject: r for r in await all_rows(bot)}
    assert sorted(r.state for r in rows.values()) == [DeliveryState.FAILED, DeliveryState.SENT]
    clock.advance(timedelta(minutes=1))
    await run(bot)
    assert len(server.guild.threads) == 2
    assert {r.state for r in await all_rows(bot)} == {DeliveryState.SENT}
    assert len(headers(sandbox, server)) == 1
    assert len([m for m in sandbox.messages_in(other) if "is open." in m.content]) == 1


async def all_rows(bot: RunningBot) -> list[Delivery]:
    async with bot.bot.sessions() as session:
        return list((await session.scalars(select(Delivery))).all())


async def test_a_post_discord_refuses_goes_out_short_and_the_moderators_are_told(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    sandbox.fail_next("POST", MESSAGES, status=400, code=50035, message="Invalid Form Body")
    clock.set(OPENS)
    await run(bot)
    [short] = sandbox.messages_in(server.cohort_channel)
    assert "`/roadmap week:1`" in short.content and not short.embeds
    [told] = sandbox.messages_in(server.review_channel)
    assert "refused the full post of Week 1 of 'Spring'" in told.content and "HTTP 400" in told.content
    assert [t.id for t in server.guild.threads] == [sandbox.messages_in(server.cohort_channel)[0].id]
    assert len([r for r in sandbox.requests_to("POST", MESSAGES) if r.status == 400]) == 1, "a 400 is never resent"
    clock.set(OPENS + timedelta(days=7))
    await run(bot)
    assert len(headers(sandbox, server)) == 2


async def test_a_week_refused_even_in_short_form_is_skipped_so_later_weeks_still_come(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    sandbox.fail_next("POST", MESSAGES, times=2, status=400, code=50035)
    clock.set(OPENS)
    await run(bot)
    assert headers(sandbox, server) == []
    assert "skipped it" in sandbox.messages_in(server.review_channel)[0].content
    assert (await ledger_row(bot, 1)).state is DeliveryState.DROPPED
    clock.set(OPENS + timedelta(days=7))
    await run(bot)
    assert [h.split(" of ")[0] for h in headers(sandbox, server)] == ["**Week 2"]


async def test_a_week_backing_off_is_not_overtaken_by_the_next_one(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    sandbox.fail_next("POST", MESSAGES, status=503)
    clock.set(OPENS)
    await run(bot)
    clock.advance(timedelta(seconds=20))  # week 1 waits out its back-off while a moderator opens week 2
    await sandbox.slash("cohort advance", user=server.moderator, cohort="Spring")
    await run(bot)
    assert headers(sandbox, server) == []
    clock.advance(timedelta(minutes=1))
    await run(bot)
    assert [h.split(" of ")[0] for h in headers(sandbox, server)] == ["**Week 1", "**Week 2"]
