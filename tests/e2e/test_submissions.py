"""Checkpoint submissions and their review, through the real bot: submit, resubmit, late, review, hear back."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import LearnerSettings, Submission, SubmissionStatus, SubmissionVersion
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Message, Sandbox, SandboxFile
from bot.services.events import CheckpointApproved
from tests.e2e.helpers import WEEK_1, Launcher, approve_latest, buttons, count, dms, reviews, start_cohort

MODAL_LINK = "Link to your work"
MODAL_NOTES = "Notes for the reviewer"


async def test_submit_with_options_posts_a_review_message_with_two_buttons(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    reply = await sandbox.slash("submit", user=ada, link="https://github.com/ada/linreg", notes="gradient descent")
    assert reply.ephemeral
    assert "Submitted your week 1 checkpoint (version 1), on time" in reply.content
    [review] = reviews(sandbox, server)
    embed = review.embeds[0]
    assert embed["title"] == "Week 1 checkpoint · ada"
    assert "Build a linear regression model from scratch" in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]}["Link"] == "https://github.com/ada/linreg"
    assert buttons(review) == [("Approve", False), ("Request changes", False)]


async def test_submit_without_link_or_file_opens_a_form(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    reply = await sandbox.slash("submit", user=ada)
    assert reply.modal is not None
    done = await sandbox.submit_modal(reply, {MODAL_LINK: "https://example.org/work", MODAL_NOTES: "see README"})
    assert "Submitted your week 1 checkpoint" in done.content
    fields = {f["name"]: f["value"] for f in reviews(sandbox, server)[0].embeds[0]["fields"]}
    assert fields["Notes"] == "see README"


async def test_a_submitted_file_travels_with_the_review_message_and_outlives_the_original(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    data = b"%PDF-1.4 tiny"
    reply = await sandbox.slash("submit", user=ada, file=SandboxFile("report.pdf", data, "application/pdf"))
    assert "Submitted" in reply.content
    [review] = reviews(sandbox, server)
    [kept] = review.attachments
    assert (kept.filename, kept.data) == ("report.pdf", data)
    fields = {f["name"]: f["value"] for f in review.embeds[0]["fields"]}
    assert fields["File"] == "📎 report.pdf (13 bytes, application/pdf), attached to this message"
    [original] = [a for a in sandbox.store.attachments.values() if a.filename == "report.pdf" and a is not kept]
    del sandbox.store.attachments[original.id]  # Discord deletes the learner's ephemeral upload

    async with aiohttp.ClientSession() as http:
        async with http.get(original.url) as gone:
            assert gone.status == 404
        async with http.get(kept.url) as lasting:
            assert await lasting.read() == data
    async with running.bot.sessions() as session:
        version = await session.scalar(select(SubmissionVersion))
    assert (version.attachment_name, version.attachment_size, version.attachment_type) == (
        "report.pdf", len(data), "application/pdf",
    )
    assert version.attachment_url == kept.url
    exported = json.loads((await sandbox.slash("mydata export", user=ada)).attachments[0].text())
    [exported_version] = exported["submissions"][0]["versions"]
    assert exported_version["attachment_url"] == kept.url
    assert exported_version["review_message"] == (
        f"https://discord.com/channels/{server.guild.id}/{server.review_channel.id}/{review.id}"
    )

    click = await sandbox.click(review, "Approve", user=server.moderator)
    assert click.errors == []
    assert review.attachments == [kept] and "Decision" in {f["name"] for f in review.embeds[0]["fields"]}


async def test_a_file_discord_will_not_hand_over_is_refused_and_nothing_is_stored(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    sandbox.fail_next("GET", "/attachments/{channel_id}/{attachment_id}/{filename}", status=404)
    reply = await sandbox.slash("submit", user=ada, file=SandboxFile("report.pdf", b"x", "application/pdf"))
    assert reply.ephemeral
    assert "I couldn't fetch report.pdf from Discord, so nothing was submitted. Attach it again" in reply.content
    assert await count(running, Submission) == 0
    assert reviews(sandbox, server) == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"link": "ftp://example.org/x"}, "must be a web address starting with http"),
        ({"link": "https://example.org/" + "a" * 2030}, "it can be at most 2,048"),
        ({"link": "https://example.org", "notes": "n" * 1001}, "Notes can be at most 1,000 characters"),
        ({"link": "https://example.org", "week": 30}, "there is no week 30"),
        ({"link": "https://example.org", "week": 3}, "Week 3 of 'Spring' has not opened yet"),
    ],
)
async def test_bad_submissions_are_refused_and_nothing_is_stored(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada, options: dict, expected: str
) -> None:
    reply = await sandbox.slash("submit", user=ada, **options)
    assert reply.ephemeral and expected in reply.content
    assert await count(running, Submission) == 0
    assert reviews(sandbox, server) == []


async def test_file_over_discords_limit_is_refused(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    big = SandboxFile("video.mp4", b"0" * (10 * 1024 * 1024 + 1), "video/mp4")
    reply = await sandbox.slash("submit", user=ada, file=big)
    assert reply.ephemeral
    assert "video.mp4 is 10.0 MB; in this server I can keep files up to 10 MB with the review message" in reply.content
    assert await count(running, Submission) == 0
    assert reviews(sandbox, server) == []


async def test_non_member_is_refused_before_any_form_opens(
    sandbox: Sandbox, server: StudyServer, running: RunningBot
) -> None:
    outsider = server.guild.add_member("olga")
    reply = await sandbox.slash("submit", user=outsider)
    assert reply.modal is None
    assert "You are not in any cohort" in reply.content
    reply = await sandbox.slash("submit", user=outsider, link="https://example.org")
    assert "You are not in any cohort" in reply.content
    assert await count(running, Submission) == 0


async def test_resubmission_replaces_the_pending_version_and_keeps_history(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    await sandbox.slash("submit", user=ada, link="https://example.org/v1")
    reply = await sandbox.slash("submit", user=ada, link="https://example.org/v2")
    assert "(version 2)" in reply.content
    first, second = reviews(sandbox, server)
    assert buttons(first) == []
    assert any(f["name"] == "Replaced" for f in first.embeds[0]["fields"])
    assert buttons(second) == [("Approve", False), ("Request changes", False)]
    async with running.bot.sessions() as session:
        links = (await session.scalars(select(SubmissionVersion.link).order_by(SubmissionVersion.version))).all()
    assert links == ["https://example.org/v1", "https://example.org/v2"]


async def test_after_the_deadline_a_submission_is_accepted_and_marked_late(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock, ada
) -> None:
    clock.set(datetime(2026, 3, 9, 9, 1, tzinfo=UTC))
    reply = await sandbox.slash("submit", user=ada, week=1, link="https://example.org")
    assert "**late**" in reply.content
    fields = {f["name"]: f["value"] for f in reviews(sandbox, server)[0].embeds[0]["fields"]}
    assert "**late**" in fields["Submitted"]


async def test_an_extension_moves_one_learners_deadline(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock, ada
) -> None:
    grace = server.learners[1]
    reply = await sandbox.slash(
        "cohort extend", user=server.moderator, cohort="Spring", member=ada, week=1, days=3
    )
    assert "(3 extra days)" in reply.content
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    assert "on time" in (await sandbox.slash("submit", user=ada, week=1, link="https://e.org/a")).content
    assert "**late**" in (await sandbox.slash("submit", user=grace, week=1, link="https://e.org/g")).content


async def test_the_review_message_shows_the_learners_extended_deadline_before_and_after_the_decision(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock, ada
) -> None:
    await sandbox.slash("cohort extend", user=server.moderator, cohort="Spring", member=ada, week=1, days=3)
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    await sandbox.slash("submit", user=ada, week=1, link="https://e.org/a")
    await sandbox.until(lambda: len(reviews(sandbox, server)) == 1, within=5, what="the review message")
    extended = f"due <t:{int(datetime(2026, 3, 12, 9, 0, tzinfo=UTC).timestamp())}:f>"

    def submitted() -> str:
        fields = {f["name"]: f["value"] for f in reviews(sandbox, server)[0].embeds[0]["fields"]}
        return fields["Submitted"]

    assert "**on time**" in submitted() and extended in submitted()
    await approve_latest(sandbox, server)
    assert "Approved by" in str(reviews(sandbox, server)[0].embeds[0])
    assert "**on time**" in submitted() and extended in submitted()


async def test_extension_refusals(sandbox: Sandbox, server: StudyServer, running: RunningBot, ada) -> None:
    outsider = server.guild.add_member("olga")
    moderator = server.moderator
    reply = await sandbox.slash("cohort extend", user=moderator, cohort="Spring", member=outsider, week=1, days=2)
    assert "is not in 'Spring'" in reply.content
    reply = await sandbox.slash("cohort extend", user=server.moderator, cohort="Spring", member=ada, week=40, days=2)
    assert "there is no week 40" in reply.content
    reply = await sandbox.slash("cohort extend", user=ada, cohort="Spring", member=ada, week=1, days=2)
    assert "Only moderators" in reply.content


async def test_approve_edits_the_review_message_tells_the_learner_and_raises_the_event(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    events: list[CheckpointApproved] = []

    async def listen(event: CheckpointApproved) -> None:
        events.append(event)

    running.bot.submissions.on_approved(listen)
    await sandbox.slash("submit", user=ada, link="https://example.org")
    click = await sandbox.click(reviews(sandbox, server)[0], "Approve", user=server.moderator)
    assert click.errors == []
    [review] = reviews(sandbox, server)
    decision = {f["name"]: f["value"] for f in review.embeds[0]["fields"]}["Decision"]
    assert decision.startswith(f"Approved by <@{server.moderator.id}>")
    assert buttons(review) == [("Approve", True), ("Request changes", True)]
    [dm] = await dms(sandbox, ada)
    assert "was approved" in dm.content
    assert [(e.user_id, e.week) for e in events] == [(ada.id, 1)]


async def test_a_quick_decision_answers_the_click_with_the_edited_message_a_slow_one_acknowledges_first(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = server.learners[1]
    for learner in (ada, first):
        await sandbox.slash("submit", user=learner, link=f"https://example.org/{learner.name}")
    quick = await sandbox.click(review_of(sandbox, server, ada), "Approve", user=server.moderator)
    assert quick.type == 7, "one request: the review message, decided"
    decide = running.bot.submissions.decide

    async def waited_for(*args: object, **kwargs: object) -> object:  # as behind another process's write lock
        await asyncio.sleep(0.2)
        return await decide(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(running.bot.submissions, "decide", waited_for)
    monkeypatch.setattr(running.bot.get_cog("SubmissionCommands"), "answer_within", 0.05)
    slow = await sandbox.click(review_of(sandbox, server, first), "Approve", user=server.moderator)
    assert slow.type == 6, "acknowledged, then edited"
    for learner in (ada, first):
        fields = {f["name"]: f["value"] for f in review_of(sandbox, server, learner).embeds[0]["fields"]}
        assert fields["Decision"].startswith(f"Approved by <@{server.moderator.id}>")


async def test_a_quick_link_submission_answers_in_one_request_a_slow_one_acknowledges_first(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = await sandbox.slash("submit", user=ada, link="https://example.org/v1")
    assert quick.type == 4 and quick.ephemeral, "one request: the answer itself"
    assert (quick.content or "").startswith("Submitted your week 1 checkpoint (version 1)")
    submit = running.bot.submissions.submit

    async def waited_for(request: object) -> object:  # as behind another process's write lock
        await asyncio.sleep(0.2)
        return await submit(request)  # type: ignore[arg-type]

    monkeypatch.setattr(running.bot.submissions, "submit", waited_for)
    monkeypatch.setattr(running.bot.get_cog("SubmissionCommands"), "answer_within", 0.05)
    slow = await sandbox.slash("submit", user=ada, link="https://example.org/v2")
    assert slow.type == 5, "acknowledged, then answered"
    [answer] = await slow.wait_followups(1)
    assert (answer.content or "").startswith("Submitted your week 1 checkpoint (version 2)") and answer.ephemeral


def review_of(sandbox: Sandbox, server: StudyServer, learner) -> Message:
    return next(m for m in reviews(sandbox, server) if f"· {learner.name}" in m.embeds[0]["title"])


async def test_request_changes_then_resubmit_then_approve(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    await sandbox.slash("submit", user=ada, link="https://example.org/v1")
    form = await sandbox.click(reviews(sandbox, server)[0], "Request changes", user=server.moderator)
    assert form.modal is not None
    await sandbox.submit_modal(form, {"What should the learner change?": "Plot the loss curve, please."})
    assert "Plot the loss curve" in (await dms(sandbox, ada))[0].content
    async with running.bot.sessions() as session:
        assert await session.scalar(select(Submission.status)) is SubmissionStatus.CHANGES_REQUESTED

    await sandbox.slash("submit", user=ada, link="https://example.org/v2")
    await sandbox.click(reviews(sandbox, server)[-1], "Approve", user=server.moderator)
    async with running.bot.sessions() as session:
        assert await session.scalar(select(Submission.status)) is SubmissionStatus.APPROVED
    reply = await sandbox.slash("submit", user=ada, link="https://example.org/v3")
    assert "already approved" in reply.content


async def test_non_moderator_click_is_refused_and_changes_nothing(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    await sandbox.slash("submit", user=ada, link="https://example.org")
    reply = await sandbox.click(reviews(sandbox, server)[0], "Approve", user=server.learners[1])
    assert reply.ephemeral and "Only moderators" in reply.content
    assert buttons(reviews(sandbox, server)[0]) == [("Approve", False), ("Request changes", False)]
    async with running.bot.sessions() as session:
        assert await session.scalar(select(Submission.status)) is SubmissionStatus.PENDING


async def test_second_decision_on_the_same_version_is_refused(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    await sandbox.slash("submit", user=ada, link="https://example.org")
    original = reviews(sandbox, server)[0]
    stale_copy = Message(**{**original.__dict__})
    await sandbox.click(original, "Approve", user=server.moderator)
    again = await sandbox.click(stale_copy, "Request changes", user=server.moderator)
    assert again.modal is not None
    refused = await sandbox.submit_modal(again, {"What should the learner change?": "late click"})
    # The click is acknowledged at once (a deferred update); the refusal follows, only for that moderator.
    [answer] = await refused.wait_followups(1)
    assert answer.ephemeral and f"<@{server.moderator.id}> already approved this one." in answer.content
    async with running.bot.sessions() as session:
        assert await session.scalar(select(Submission.status)) is SubmissionStatus.APPROVED


async def test_review_buttons_work_after_a_restart(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock, ada
) -> None:
    first = await launch()
    await start_cohort(sandbox, server, first, clock)
    await sandbox.slash("submit", user=ada, link="https://example.org")
    await first.stop()
    await launch()
    click = await sandbox.click(reviews(sandbox, server)[0], "Approve", user=server.moderator)
    assert click.errors == []
    assert "was approved" in (await dms(sandbox, ada))[0].content


async def test_closed_dms_fall_back_to_the_cohort_channel_and_are_remembered(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, ada
) -> None:
    ada.dms_closed = True

    def notices() -> list[Message]:
        return [m for m in sandbox.messages_in(server.cohort_channel) if m.content.startswith(f"<@{ada.id}>")]

    for number, week_link in enumerate(("https://example.org/a", "https://example.org/b"), start=1):
        await sandbox.slash("submit", user=ada, link=week_link)
        form = await sandbox.click(reviews(sandbox, server)[-1], "Request changes", user=server.moderator)
        await sandbox.submit_modal(form, {"What should the learner change?": "@everyone add tests"})
        await sandbox.until(lambda n=number: len(notices()) == n, within=5, what=f"{number} channel notices")
    posts = [r for r in sandbox.requests if r.method == "POST" and r.path.endswith(
        f"/channels/{server.cohort_channel.id}/messages") and r.json and r.json.get("content", "").startswith("<@")]
    assert len(posts) == 2
    assert all(r.json["allowed_mentions"] == {"parse": [], "users": [ada.id]} for r in posts)
    dm_attempts = [r for r in sandbox.requests if r.path.endswith("/users/@me/channels")]
    assert len(dm_attempts) == 1
    async with running.bot.sessions() as session:
        assert await session.scalar(select(LearnerSettings.dms_closed)) is True


async def test_review_queue_lists_pending_oldest_first_with_links(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, clock: ManualClock
) -> None:
    ada, grace, _ = server.learners
    await sandbox.slash("submit", user=grace, link="https://example.org/g")
    clock.advance(datetime(2026, 3, 2, 10, tzinfo=UTC) - WEEK_1)
    await sandbox.slash("submit", user=ada, link="https://example.org/a")
    reply = await sandbox.slash("review queue", user=server.moderator)
    lines = reply.content.splitlines()
    assert lines[0] == "2 waiting, oldest first:"
    assert f"<@{grace.id}>" in lines[1] and f"<@{ada.id}>" in lines[2]
    assert f"https://discord.com/channels/{server.guild.id}/{server.review_channel.id}/" in lines[1]
    refused = await sandbox.slash("review queue", user=ada)
    assert refused.ephemeral and "Only moderators" in refused.content
