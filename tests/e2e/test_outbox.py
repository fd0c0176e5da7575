"""What the bot owes people survives Discord's failures and restarts: delivered once, in order, paced."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.clock import ManualClock
from bot.db.models import OutboxMessage, OutboxState, ReviewDecision, Submission, SubmissionVersion, TierAward
from bot.harness import RunningBot, StudyServer, build_study_server
from bot.sandbox import Member, Perm, Reply, Sandbox, SandboxFile
from bot.services.outbox import GIVE_UP_AFTER
from bot.telemetry.interactions import GIVE_WAY_AT_MOST
from tests.e2e.helpers import Launcher, buttons, dms, reviews, run, start_cohort

MESSAGES = "/channels/{channel_id}/messages"
EDIT_ORIGINAL = "/webhooks/{app_id}/{token}/messages/@original"
DOWNLOAD = "/attachments/{channel_id}/{attachment_id}/{filename}"
REPORT = b"%PDF-1.4 tiny"
BURST = 40
BUSY = 12


async def outbox(bot: RunningBot) -> list[OutboxMessage]:
    async with bot.bot.sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def sweep(bot: RunningBot, clock: ManualClock) -> None:
    """The minute sweep, once the back-off of a first failure has passed."""
    clock.advance(timedelta(minutes=1))
    await run(bot)
    await bot.bot.outbox.settle()


async def test_a_503_on_the_review_channel_is_posted_by_the_sweep_and_queued_meanwhile(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    sandbox.fail_next("POST", f"/channels/{server.review_channel.id}/messages", status=503)
    reply = await sandbox.slash("submit", user=ada, link="https://example.org/work")
    assert "Submitted" in reply.content
    assert reviews(sandbox, server) == []
    queue = await sandbox.slash("review queue", user=server.moderator)
    assert f"<@{ada.id}>" in queue.content and "not posted yet" in queue.content
    await sweep(bot, clock)
    [review] = reviews(sandbox, server)
    assert buttons(review) == [("Approve", False), ("Request changes", False)]
    assert [row.state for row in await outbox(bot)] == [OutboxState.SENT]
    await sweep(bot, clock)
    assert len(reviews(sandbox, server)) == 1


async def submit_report_while_the_review_channel_fails(sandbox: Sandbox, server: StudyServer, ada: Member) -> None:
    sandbox.fail_next("POST", f"/channels/{server.review_channel.id}/messages", status=503)
    reply = await sandbox.slash("submit", user=ada, file=SandboxFile("report.pdf", REPORT, "application/pdf"))
    assert "Submitted" in reply.content
    assert reviews(sandbox, server) == []


async def stored_attachment_url(bot: RunningBot) -> str | None:
    async with bot.bot.sessions() as session:
        return await session.scalar(select(SubmissionVersion.attachment_url))


async def test_a_review_message_posted_by_the_sweep_fetches_the_file_again_and_carries_it(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    await submit_report_while_the_review_channel_fails(sandbox, server, ada)
    [owed] = await outbox(bot)
    original = await stored_attachment_url(bot)
    assert owed.payload["attachment"] == {
        "url": original, "name": "report.pdf", "size": len(REPORT), "content_type": "application/pdf"
    }, "where to fetch the file again, never its bytes"
    sandbox.fail_next("GET", DOWNLOAD, status=503)
    await sweep(bot, clock)
    assert reviews(sandbox, server) == []
    [owed] = await outbox(bot)
    assert owed.state is OutboxState.PENDING and "could not fetch the submitted file" in (owed.last_error or "")
    clock.advance(timedelta(minutes=5))
    await sweep(bot, clock)
    [review] = reviews(sandbox, server)
    [kept] = review.attachments
    assert (kept.filename, kept.data) == ("report.pdf", REPORT)
    assert await stored_attachment_url(bot) == kept.url != original


async def test_a_file_discord_deleted_before_the_retry_leaves_the_review_message_without_it(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    await submit_report_while_the_review_channel_fails(sandbox, server, ada)
    original = await stored_attachment_url(bot)
    [upload] = [a for a in sandbox.store.attachments.values() if a.filename == "report.pdf"]
    del sandbox.store.attachments[upload.id]  # Discord deletes the learner's ephemeral upload
    await sweep(bot, clock)
    [review] = reviews(sandbox, server)
    assert review.attachments == []
    assert buttons(review) == [("Approve", False), ("Request changes", False)]
    assert [row.state for row in await outbox(bot)] == [OutboxState.SENT]
    assert await stored_attachment_url(bot) == original


async def test_a_503_on_the_dm_delays_the_approval_notice_but_never_loses_it(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    await sandbox.slash("submit", user=ada, link="https://example.org/work")
    sandbox.fail_next("POST", MESSAGES, status=503)  # the next message the bot sends is the DM
    click = await sandbox.click(reviews(sandbox, server)[0], "Approve", user=server.moderator)
    assert click.errors == []
    await sandbox.until(lambda: any(r.status == 503 for r in sandbox.requests), what="the DM to fail")
    await bot.bot.outbox.settle()
    assert sandbox.dms_to(ada) == []
    await sweep(bot, clock)
    [dm] = await dms(sandbox, ada)
    assert "was approved" in dm.content
    await sweep(bot, clock)
    assert len(sandbox.dms_to(ada)) == 1


async def test_a_failed_edit_after_the_decision_still_tells_the_learner_and_records_the_tier_check(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    await sandbox.slash("submit", user=ada, link="https://example.org/work")
    sandbox.fail_next("PATCH", EDIT_ORIGINAL, status=503)
    await sandbox.click(reviews(sandbox, server)[0], "Approve", user=server.moderator, settle=False)
    [dm] = await dms(sandbox, ada)
    assert "was approved" in dm.content
    await bot.bot.outbox.settle()
    kinds = [(row.kind, row.state) for row in await outbox(bot)]
    assert ("approval", OutboxState.SENT) in kinds and ("decision_notice", OutboxState.SENT) in kinds


async def test_a_click_on_a_decision_the_message_never_showed_is_refused_and_shows_it(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    """The decision was committed but its message never edited (the process stopped in between): the review
    message still offers live buttons; the next click is refused and puts the standing decision on it."""
    await start_cohort(sandbox, server, bot, clock)
    await sandbox.slash("submit", user=ada, link="https://example.org/work")
    [stale] = reviews(sandbox, server)
    [pending] = await bot.bot.submissions.queue(server.guild.id, None)
    result = await bot.bot.submissions.decide(
        server.guild.id, pending.submission_id, pending.version, server.moderator.id, ReviewDecision.APPROVED
    )
    await bot.bot.outbox.deliver(result.owed)
    assert buttons(stale) == [("Approve", False), ("Request changes", False)]

    again = await sandbox.click(stale, "Approve", user=server.moderator)
    await sandbox.until(lambda: bool(again.followups), what="the refusal after the edit")
    [refusal] = again.followups
    assert refusal.ephemeral and refusal.content == f"<@{server.moderator.id}> already approved this one."
    [shown] = reviews(sandbox, server)
    assert buttons(shown) == [("Approve", True), ("Request changes", True)]
    assert "Approved by" in str(shown.embeds[0]), shown.embeds[0]
    assert len(await dms(sandbox, ada)) == 1


async def test_owed_messages_left_by_a_stop_are_delivered_once_after_the_restart(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock, ada: Member
) -> None:
    first = await launch()
    await start_cohort(sandbox, server, first, clock)
    sandbox.fail_next("POST", f"/channels/{server.review_channel.id}/messages", status=503)
    await sandbox.slash("submit", user=ada, link="https://example.org/one")
    await sandbox.slash("submit", user=server.learners[1], link="https://example.org/two")
    assert reviews(sandbox, server) == [], "the second waits behind the first in the channel's lane"
    await first.stop()
    second = await launch()
    await second.bot.outbox.settle()
    posted = reviews(sandbox, server)
    assert [m.embeds[0]["title"].split(" · ")[1] for m in posted] == ["ada", "grace"]


async def test_a_review_message_sent_but_not_recorded_before_a_stop_is_not_posted_again(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock, ada: Member
) -> None:
    first = await launch()
    await start_cohort(sandbox, server, first, clock)
    await sandbox.slash("submit", user=ada, link="https://example.org/one")
    # As if the process died after Discord took the message but before anything was recorded.
    async with first.bot.sessions.begin() as session:
        await session.execute(update(OutboxMessage).values(state=OutboxState.SENDING, attempts=1))
        await session.execute(update(Submission).values(review_channel_id=None, review_message_id=None))
    await first.stop()
    second = await launch()
    await second.bot.outbox.settle()
    [review] = reviews(sandbox, server)
    async with second.bot.sessions() as session:
        assert await session.scalar(select(Submission.review_message_id)) == review.id
    assert [row.state for row in await outbox(second)] == [OutboxState.SENT]


async def test_an_erased_submission_is_owed_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    sandbox.fail_next("POST", f"/channels/{server.review_channel.id}/messages", status=503)
    await sandbox.slash("submit", user=ada, link="https://example.org/one")
    async with bot.bot.sessions.begin() as session:
        await session.execute(Submission.__table__.delete())
    await sweep(bot, clock)
    assert reviews(sandbox, server) == []
    assert [row.state for row in await outbox(bot)] == [OutboxState.SENT]
    async with bot.bot.sessions() as session:
        assert await session.scalar(select(TierAward.id)) is None


class TestBurst:
    @pytest.fixture
    def server(self) -> StudyServer:
        return build_study_server(tuple(f"learner{n:02}" for n in range(BURST)))

    async def test_a_burst_queues_durably_drains_in_order_and_is_paced(
        self, sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
    ) -> None:
        bot.bot.outbox.lane_rate = 20.0  # the production pace is 1 a second after a burst of 5: too slow here
        await start_cohort(sandbox, server, bot, clock)
        review_posts = f"/channels/{server.review_channel.id}/messages"
        sandbox.fail_next("POST", review_posts, times=1, status=503)  # the channel is down when the burst begins
        for learner in server.learners:
            reply = await sandbox.slash("submit", user=learner, link=f"https://example.org/{learner.name}")
            assert "Submitted" in reply.content
        assert reviews(sandbox, server) == []
        queue = await sandbox.slash("review queue", user=server.moderator)
        assert f"{BURST} waiting" in queue.content

        await sweep(bot, clock)
        posted = reviews(sandbox, server)
        assert [m.embeds[0]["title"].split(" · ")[1] for m in posted] == [m.name for m in server.learners]
        sent = sorted(r.time for r in sandbox.requests_to("POST", review_posts) if r.status == 200)
        busiest = max(sum(1 for t in sent if start <= t < start + 1) for start in sent)
        assert busiest <= 5 + 20, "never more than the burst plus a second's pace in any second"

    async def test_a_learner_hears_of_a_decision_while_the_review_channel_is_still_paced(
        self, sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
    ) -> None:
        bot.bot.outbox.lane_rate = 2.0  # after a burst of 5, the other 7 review messages take 3.5 s
        await start_cohort(sandbox, server, bot, clock)
        submitters = server.learners[:BUSY]
        for learner in submitters:  # answered at once, their review messages queued behind each other
            await sandbox.slash("submit", user=learner, link=f"https://example.org/{learner.name}", settle=False)
        burst = await sandbox.until(lambda: len(reviews(sandbox, server)) >= 5 and reviews(sandbox, server),
                                    what="the review channel's first burst")
        author = next(m for m in submitters if burst[0].embeds[0]["title"].endswith(f" · {m.name}"))
        await sandbox.click(burst[0], "Approve", user=server.moderator, settle=False)

        [notice] = await dms(sandbox, author)
        assert "was approved" in notice.content
        assert len(reviews(sandbox, server)) < BUSY, "the notice did not wait for the review channel's backlog"
        await bot.bot.outbox.settle()
        assert len(reviews(sandbox, server)) == BUSY


async def test_erasing_a_learner_drops_the_notices_still_owed_to_them(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    await sandbox.slash("submit", user=ada, link="https://example.org/work")
    sandbox.fail_next("POST", MESSAGES, status=503)  # the approval notice cannot be sent yet
    await sandbox.click(reviews(sandbox, server)[0], "Approve", user=server.moderator)
    await sandbox.until(lambda: any(r.status == 503 for r in sandbox.requests), what="the DM to fail")
    await bot.bot.outbox.settle()
    prompt = await sandbox.slash("mydata erase", user=ada)
    await sandbox.click(prompt, "Erase my data", user=ada)
    assert [row.kind for row in await outbox(bot)] == ["review_message"]
    await sweep(bot, clock)
    assert sandbox.dms_to(ada) == []


async def test_an_owed_message_discord_refuses_is_dropped_not_retried(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    review_posts = f"/channels/{server.review_channel.id}/messages"
    sandbox.fail_next("POST", review_posts, status=400, code=50035)
    await sandbox.slash("submit", user=ada, link="https://example.org/one")
    await sweep(bot, clock)
    assert [(row.state, row.attempts) for row in await outbox(bot)] == [(OutboxState.DROPPED, 1)]
    assert len(sandbox.requests_to("POST", review_posts)) == 1
    await sandbox.slash("submit", user=server.learners[1], link="https://example.org/two")
    assert len(reviews(sandbox, server)) == 1, "a dropped message does not hold up its lane"


async def test_a_message_that_keeps_failing_is_dropped_after_its_last_attempt(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    server.review_channel.set_overwrite(server.guild.bot_role, deny=Perm.SEND_MESSAGES)
    await sandbox.slash("submit", user=ada, link="https://example.org/one")
    for _ in range(GIVE_UP_AFTER):
        clock.advance(timedelta(hours=1))  # past the longest back-off
        await run(bot)
        await bot.bot.outbox.settle()
    assert [(row.state, row.attempts) for row in await outbox(bot)] == [(OutboxState.DROPPED, GIVE_UP_AFTER)]
    queue = await sandbox.slash("review queue", user=server.moderator)
    assert "check my access to the review channel" in queue.content


CALLBACK = "/interactions/{interaction_id}/{token}/callback"


async def hold_an_answer(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> tuple[asyncio.Event, asyncio.Task[Reply]]:
    """Grace checks in, and the sandbox holds the bot's answer until the returned event is set."""
    await start_cohort(sandbox, server, bot, clock)
    release = sandbox.hold_next("POST", CALLBACK)
    held = asyncio.create_task(sandbox.slash("checkin", user=server.learners[1], minutes=20))
    await sandbox.until(lambda: sandbox.requests_to("POST", CALLBACK), what="grace's answer on its way")
    return release, held


async def test_what_a_command_owes_waits_for_the_answers_still_awaited_and_then_goes_out(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    release, held = await hold_an_answer(sandbox, server, bot, clock)
    # settle=False: the sandbox's settling would wait for the bot's deliveries too.
    reply = await sandbox.slash("submit", user=ada, link="https://example.org/work", settle=False)
    assert "Submitted" in reply.content
    await asyncio.sleep(0.3)  # without giving way, the review message is posted in a few milliseconds
    assert reviews(sandbox, server) == []
    release.set()
    assert "Checked in" in (await held).content
    [review] = await sandbox.until(lambda: reviews(sandbox, server), within=GIVE_WAY_AT_MOST,
                                   what="the review message, once grace is answered")
    assert buttons(review) == [("Approve", False), ("Request changes", False)]


async def test_an_answer_that_never_comes_holds_what_is_owed_back_only_a_while(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    release, held = await hold_an_answer(sandbox, server, bot, clock)
    await sandbox.slash("submit", user=ada, link="https://example.org/work")
    [review] = await sandbox.until(lambda: reviews(sandbox, server), within=GIVE_WAY_AT_MOST + 5,
                                   what="the review message, while grace's answer is still held")
    assert buttons(review) == [("Approve", False), ("Request changes", False)]
    release.set()
    # Only to end the task: on a slow machine the sandbox may have stopped waiting for grace's answer (5 s).
    await asyncio.gather(held, return_exceptions=True)
