"""Peer review through the real bot and the sandbox: turning it on, assignment at the deadline, the DM, the Review
button and its form, what authors and moderators see, edits, discards, a reviewer who leaves or lets it lapse,
restarts, and every refusal."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import (
    Membership,
    PeerAssignment,
    PeerReview,
    PeerSettings,
    PeerState,
    Submission,
    SubmissionStatus,
)
from bot.harness import RunningBot, StudyServer, build_study_server
from bot.sandbox import Message, Reply, Sandbox
from tests.e2e.helpers import Launcher, assert_refused, create_cohort

WEEK_1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE_1 = WEEK_1 + timedelta(days=7)
MET = "Requirements fully met"
PARTLY = "Requirements partly met"
COMMENT = "Comment for the author (optional)"
WAIT = 5.0
SETTLE_WITHIN = 60.0


@pytest.fixture
def server() -> StudyServer:
    return build_study_server(("ada", "grace", "alan", "linus"))


async def settle(bot: RunningBot) -> None:
    # Bounded, so a delivery that never finishes fails the test instead of hanging it.
    async with asyncio.timeout(SETTLE_WITHIN):
        await bot.bot.runner.settle()
        await bot.bot.outbox.settle()


async def sweep_at(bot: RunningBot, clock: ManualClock, moment: datetime) -> None:
    """Move the clock and run what the minute sweep runs, then let the outbox deliver."""
    clock.set(moment)
    await settle(bot)
    await bot.bot.runner.run_due()
    await settle(bot)


async def start(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, *, reviewers: int = 1, **peer: object
) -> None:
    await create_cohort(sandbox, server)
    reply = await sandbox.slash(
        "cohort peer-review", user=server.moderator, cohort="Spring", reviewers=reviewers, **peer
    )
    assert reply.content.startswith("Peer review is on for **Spring**"), reply.content
    for learner in server.learners:
        await sandbox.slash("join", user=learner)
    await sweep_at(bot, clock, WEEK_1)


async def submit_all(sandbox: Sandbox, learners) -> None:
    for learner in learners:
        reply = await sandbox.slash("submit", user=learner, link=f"https://github.com/{learner.name}/week1")
        assert "Submitted" in reply.content, reply.content


def peer_dms(sandbox: Sandbox, member) -> list[Message]:
    return [m for m in sandbox.dms_to(member) if "to peer-review" in m.content]


def review_buttons(message: Message) -> list[str]:
    return [c["label"] for row in message.components for c in row["components"] if c["label"].startswith("Review")]


async def assignments(bot: RunningBot) -> list[PeerAssignment]:
    async with bot.bot.sessions() as session:
        return list((await session.scalars(select(PeerAssignment).order_by(PeerAssignment.id))).all())


async def count(bot: RunningBot, model: type) -> int:
    async with bot.bot.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


def member_by_user(server: StudyServer, user_id: int):
    return next(m for m in server.learners if m.id == user_id)


async def user_of(bot: RunningBot, membership_id: int) -> int:
    async with bot.bot.sessions() as session:
        return (await session.get_one(Membership, membership_id)).user_id


async def test_each_submitter_gets_one_dm_and_reviews_through_the_form(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start(sandbox, server, bot, clock)
    await submit_all(sandbox, server.learners[:3])  # linus hands nothing in: he reviews nothing
    await sweep_at(bot, clock, DEADLINE_1 - timedelta(minutes=1))
    assert await assignments(bot) == []  # nothing before the deadline
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(minutes=1))
    made = await assignments(bot)
    assert len(made) == 3
    for learner in server.learners[:3]:
        [dm] = peer_dms(sandbox, learner)
        assert review_buttons(dm) == ["Review 1"]
        assert "You have a checkpoint to peer-review in 'Spring'" in dm.content
    assert peer_dms(sandbox, server.learners[3]) == []

    ada = server.learners[0]
    [dm] = peer_dms(sandbox, ada)
    [mine] = [a for a in made if await user_of(bot, a.reviewer_id) == ada.id]
    opened = await sandbox.click(dm, "Review 1", user=ada)
    assert opened.modal is not None
    done = await sandbox.submit_modal(opened, {MET: ["0", "1"], PARTLY: ["2"], COMMENT: "Nice work @everyone"})
    assert "is sent" in done.content and done.ephemeral
    await settle(bot)
    author = member_by_user(server, await author_of(bot, mine.submission_id))
    notice = await sandbox.until(
        lambda: [m for m in sandbox.dms_to(author) if "reviewed your week 1 checkpoint" in m.content], WAIT, "notice"
    )
    assert notice[0].content.startswith("ada reviewed your week 1 checkpoint in 'Spring':")
    assert "✅ met — Implement gradient descent" in notice[0].content
    assert "🟡 partly — Compare with sklearn implementation" in notice[0].content
    assert "> Nice work @everyone" in notice[0].content
    [sent] = [r for r in sandbox.requests_to("POST", "/channels/{channel_id}/messages")
              if "Nice work @everyone" in ((r.json or {}).get("content") or "")]
    assert sent.json["allowed_mentions"]["parse"] == []  # the reviewer's words never ping
    review_message = await sandbox.until(lambda: _review_message_of(sandbox, server, author.name), WAIT, "verdicts")
    fields = {f["name"]: f["value"] for f in review_message.embeds[0]["fields"]}
    assert "ada: ✅ 2 · 🟡 1 · ❌ 0 — “Nice work @everyone”" in fields["Peer reviews (advice only)"]
    assert [c["label"] for row in review_message.components for c in row["components"]] == [
        "Approve", "Request changes",
    ]
    async with bot.bot.sessions() as session:  # advice only: the submission still waits for a moderator
        assert (await session.get_one(Submission, mine.submission_id)).status is SubmissionStatus.PENDING


async def author_of(bot: RunningBot, submission_id: int) -> int:
    async with bot.bot.sessions() as session:
        submission = await session.get_one(Submission, submission_id)
        return (await session.get_one(Membership, submission.membership_id)).user_id


def _review_message_of(sandbox: Sandbox, server: StudyServer, name: str) -> Message | None:
    for message in sandbox.messages_in(server.review_channel):
        if message.embeds and message.embeds[0]["title"].endswith(f"· {name}"):
            names = [f["name"] for f in message.embeds[0].get("fields", [])]
            if "Peer reviews (advice only)" in names:
                return message
    return None


async def reviews(bot: RunningBot) -> list[PeerReview]:
    async with bot.bot.sessions() as session:
        return list((await session.scalars(select(PeerReview).order_by(PeerReview.id))).all())


async def settings_row(bot: RunningBot) -> tuple | None:
    async with bot.bot.sessions() as session:
        row = await session.scalar(select(PeerSettings))
        return (row.reviewers, row.anonymous, row.due_days) if row else None


async def assigned_week_1(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, **peer) -> None:
    await start(sandbox, server, bot, clock, **peer)
    await submit_all(sandbox, server.learners[:3])
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(minutes=1))


async def review_of(sandbox: Sandbox, learner, values: dict, *, button: str = "Review 1") -> Reply:
    [dm] = peer_dms(sandbox, learner)
    opened = await sandbox.click(dm, button, user=learner)
    assert opened.modal is not None, opened.content
    return await sandbox.submit_modal(opened, values)


async def test_turning_it_on_refuses_bad_values_and_an_ended_cohort_changing_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
) -> None:
    await create_cohort(sandbox, server)
    mod = server.moderator
    on = await sandbox.slash("cohort peer-review", user=mod, cohort="Spring", reviewers=2, anonymous=True, due_days=5)
    assert "each submission gets 2 peers" in on.content and "anonymously" in on.content and "5 days" in on.content
    for options, sentence in (
        ({"reviewers": 4}, "Peer reviewers per submission are 0 to 3 (0 turns peer review off)."),
        ({"reviewers": -1}, "Peer reviewers per submission are 0 to 3 (0 turns peer review off)."),
        ({"reviewers": 1, "due_days": 0}, "Peers have 1 to 14 days to review; 0 is outside."),
        ({"reviewers": 1, "due_days": 15}, "Peers have 1 to 14 days to review; 15 is outside."),
    ):
        assert_refused(await sandbox.slash("cohort peer-review", user=mod, cohort="Spring", **options), sentence)
        assert await settings_row(bot) == (2, True, 5)
    learner = server.learners[0]
    await sandbox.slash("join", user=learner)
    refused = await sandbox.slash("cohort peer-review", user=learner, cohort="Spring", reviewers=1)
    assert_refused(refused, "Only moderators can do that")
    off = await sandbox.slash("cohort peer-review", user=mod, cohort="Spring", reviewers=0)
    assert off.content.startswith("Peer review is off for **Spring**")
    await sandbox.slash("cohort end", user=mod, cohort="Spring")
    ended = await sandbox.slash("cohort peer-review", user=mod, cohort="Spring", reviewers=1)
    assert_refused(ended, "'Spring' has ended, so peer review can't be turned on for it.")
    assert await settings_row(bot) == (0, True, 5)


async def test_a_second_review_is_refused_and_an_edit_before_the_deadline_is_told_to_the_author(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await assigned_week_1(sandbox, server, bot, clock)
    ada = server.learners[0]
    [dm] = peer_dms(sandbox, ada)
    first = await sandbox.click(dm, "Review 1", user=ada)
    second = await sandbox.click(dm, "Review 1", user=ada)  # two forms open at once
    done = await sandbox.submit_modal(first, {MET: ["0"], COMMENT: "first"})
    assert "is sent" in done.content
    again = await sandbox.submit_modal(second, {MET: ["1"], COMMENT: "second"})
    assert_refused(again, "You have already reviewed this submission. Press Review again to edit your review")
    [stored] = await reviews(bot)
    assert (stored.verdicts, stored.comment) == (["met", "not_yet", "not_yet"], "first")

    edit = await sandbox.click(dm, "Review 1", user=ada)
    defaults = [o["value"] for c in edit.modal.components for o in c.get("component", {}).get("options", [])
                if o.get("default")]
    assert defaults == ["0"]  # the form opens with the review as it stands
    edited = await sandbox.submit_modal(edit, {MET: ["0", "1", "2"], COMMENT: "better now"})
    assert "is updated" in edited.content
    [stored] = await reviews(bot)
    assert (stored.verdicts, stored.comment) == (["met", "met", "met"], "better now")
    await settle(bot)
    [mine] = [a for a in await assignments(bot) if await user_of(bot, a.reviewer_id) == ada.id]
    author = member_by_user(server, await author_of(bot, mine.submission_id))
    told = [m.content for m in sandbox.dms_to(author) if "checkpoint in 'Spring'" in m.content and "ada" in m.content]
    assert [t.split(":")[0] for t in told] == [
        "ada reviewed your week 1 checkpoint in 'Spring'",
        "ada updated their review of your week 1 checkpoint in 'Spring'",
    ]

    late_edit = await sandbox.click(dm, "Review 1", user=ada)  # opened in time, sent after the deadline
    await sweep_at(bot, clock, mine.due_at + timedelta(minutes=1))
    too_late = await sandbox.submit_modal(late_edit, {MET: ["0"], COMMENT: "too late"})
    assert_refused(too_late, "The deadline for this review passed", "it can no longer be given or edited.")
    assert_refused(await sandbox.click(dm, "Review 1", user=ada), "The deadline for this review passed")
    [stored] = await reviews(bot)
    assert (stored.verdicts, stored.comment) == (["met", "met", "met"], "better now")
    assert len([m for m in sandbox.dms_to(author) if "checkpoint in 'Spring'" in m.content]) == len(told)


async def test_anonymous_cohorts_hide_the_reviewer_from_the_author_not_from_moderators(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await assigned_week_1(sandbox, server, bot, clock, anonymous=True)
    grace = server.learners[1]
    await review_of(sandbox, grace, {PARTLY: ["0"]})
    await settle(bot)
    [mine] = [a for a in await assignments(bot) if await user_of(bot, a.reviewer_id) == grace.id]
    author = member_by_user(server, await author_of(bot, mine.submission_id))
    [notice] = [m for m in sandbox.dms_to(author) if "reviewed your week 1 checkpoint" in m.content]
    assert notice.content.startswith("A peer reviewed your week 1 checkpoint in 'Spring':")
    assert "grace" not in notice.content
    message = await sandbox.until(lambda: _review_message_of(sandbox, server, author.name), WAIT, "verdicts")
    assert "grace: ✅ 0 · 🟡 1 · ❌ 2" in {f["name"]: f["value"] for f in message.embeds[0]["fields"]}[
        "Peer reviews (advice only)"
    ]


async def test_the_button_refuses_the_author_and_anyone_else_in_the_channel_fallback(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    for learner in server.learners:
        learner.user.dms_closed = True
    await assigned_week_1(sandbox, server, bot, clock)
    made = await assignments(bot)
    target = made[0]
    reviewer = member_by_user(server, await user_of(bot, target.reviewer_id))
    author = member_by_user(server, await author_of(bot, target.submission_id))
    bystander = next(m for m in server.learners[:3] if m not in (reviewer, author))
    [posted] = [
        m for m in sandbox.messages_in(server.cohort_channel)
        if "to peer-review" in m.content and m.content.startswith(f"<@{reviewer.id}>")
    ]
    own = await sandbox.click(posted, "Review 1", user=author)
    assert_refused(own, "That is your own checkpoint: your peers review it, not you.")
    other = await sandbox.click(posted, "Review 1", user=bystander)
    assert_refused(other, "This review was assigned to someone else. The reviews waiting for you are in /peer queue.")
    assert await reviews(bot) == []
    opened = await sandbox.click(posted, "Review 1", user=reviewer)
    assert opened.modal is not None


async def test_the_queue_and_a_missed_deadline_passes_the_review_on(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start(sandbox, server, bot, clock)
    await submit_all(sandbox, server.learners)  # four submitters, one peer each
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(minutes=1))
    ada = server.learners[0]
    queue = await sandbox.slash("peer queue", user=ada)
    assert queue.ephemeral and queue.content.startswith("1 peer review to give, soonest first:")
    assert review_buttons(queue.message) == ["Review 1"]
    [mine] = [a for a in await assignments(bot) if await user_of(bot, a.reviewer_id) == ada.id]
    [dm] = peer_dms(sandbox, ada)
    late_form = await sandbox.click(dm, "Review 1", user=ada)  # opened in time, sent too late
    for other in server.learners[1:]:
        await review_of(sandbox, other, {MET: ["0"]})
    await sweep_at(bot, clock, mine.due_at + timedelta(minutes=1))
    too_late = await sandbox.submit_modal(late_form, {MET: ["0"]})
    assert_refused(too_late, "The deadline for this review passed", "it can no longer be given or edited.")
    assert_refused(await sandbox.click(dm, "Review 1", user=ada), "The deadline for this review passed")
    assert (await sandbox.slash("peer queue", user=ada)).content == "You have no peer reviews to give right now."
    after = await assignments(bot)
    states = {a.id: a.state for a in after}
    assert states[mine.id] is PeerState.MISSED
    [replacement] = [a for a in after if a.submission_id == mine.submission_id and a.id != mine.id]
    assert replacement.reviewer_id != mine.reviewer_id
    assert replacement.state is PeerState.OPEN
    assert len(await reviews(bot)) == 3
    # Missing a peer review breaks the weekly streak at that week (the documented rule).
    progress = await sandbox.slash("progress", user=ada)
    fields = {f["name"]: f["value"] for f in progress.embeds[0]["fields"]}
    assert fields["Weekly streak"].startswith("**0 checkpoints**")
    assert "1 week(s) with one missed" in fields["Peer reviews"]
    # ... and reviewing on time keeps it: grace handed in on time and reviewed by her deadline.
    progress = await sandbox.slash("progress", user=server.learners[1])
    fields = {f["name"]: f["value"] for f in progress.embeds[0]["fields"]}
    assert fields["Weekly streak"].startswith("**1 checkpoint**")


async def test_a_reviewer_who_leaves_is_replaced(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start(sandbox, server, bot, clock)
    await submit_all(sandbox, server.learners)
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(minutes=1))
    alan = server.learners[2]
    [his] = [a for a in await assignments(bot) if await user_of(bot, a.reviewer_id) == alan.id]
    leave = await sandbox.slash("leave", user=alan)
    await sandbox.click(leave, "Leave", user=alan)
    [dm] = peer_dms(sandbox, alan)
    left = "You left this cohort, so this review is passed on to another peer."
    assert_refused(await sandbox.click(dm, "Review 1", user=alan), left)  # before the sweep passes it on
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(minutes=2))
    assert_refused(await sandbox.click(dm, "Review 1", user=alan), left)
    assert await reviews(bot) == []
    after = {a.id: a for a in await assignments(bot)}
    assert after[his.id].state is PeerState.WITHDRAWN
    [replacement] = [a for a in after.values() if a.submission_id == his.submission_id and a.id != his.id]
    assert await user_of(bot, replacement.reviewer_id) != alan.id
    new_reviewer = member_by_user(server, await user_of(bot, replacement.reviewer_id))
    assert len(peer_dms(sandbox, new_reviewer)) == 2  # the first round's DM, then this one


async def test_a_restart_between_assignment_and_review_neither_reassigns_nor_breaks_the_button(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, launch: Launcher
) -> None:
    await assigned_week_1(sandbox, server, bot, clock)
    before = [(a.id, a.submission_id, a.reviewer_id) for a in await assignments(bot)]
    dms_before = sum(len(peer_dms(sandbox, m)) for m in server.learners)
    await bot.stop()
    again = await launch()
    await sweep_at(again, clock, DEADLINE_1 + timedelta(minutes=5))
    assert [(a.id, a.submission_id, a.reviewer_id) for a in await assignments(again)] == before
    assert sum(len(peer_dms(sandbox, m)) for m in server.learners) == dms_before
    done = await review_of(sandbox, server.learners[0], {MET: ["0", "1", "2"]})
    assert "is sent" in done.content


async def test_a_week_with_too_few_submitters_assigns_what_it_can_and_tells_the_moderators_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start(sandbox, server, bot, clock, reviewers=3)
    await submit_all(sandbox, server.learners[:2])
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(minutes=1))
    assert len(await assignments(bot)) == 2  # each reviews the other: all that can be done
    said = await sandbox.until(
        lambda: [m for m in sandbox.messages_in(server.review_channel) if m.content.startswith("Peer review in")],
        WAIT, "the moderators' notice",
    )
    assert said[0].content == (
        "Peer review in 'Spring', week 1: only 2 learners handed in the checkpoint, so 2 submissions got fewer than "
        "3 peer reviewers. I assigned what I could; those need a moderator's eye as usual."
    )
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(minutes=2))
    assert len([m for m in sandbox.messages_in(server.review_channel) if m.content.startswith("Peer review in")]) == 1


async def test_a_moderator_discards_a_peer_review_and_the_author_is_told(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await assigned_week_1(sandbox, server, bot, clock)
    ada = server.learners[0]
    await review_of(sandbox, ada, {MET: ["0"], COMMENT: "rude words"})
    await settle(bot)
    [review] = await reviews(bot)
    refused = await sandbox.slash("peer discard", user=server.learners[1], review=review.id)
    assert_refused(refused, "Only moderators can do that")
    unknown = await sandbox.slash("peer discard", user=server.moderator, review=review.id + 100)
    assert_refused(unknown, f"There is no peer review #{review.id + 100} on this server")
    assert len(await reviews(bot)) == 1
    done = await sandbox.slash("peer discard", user=server.moderator, review=review.id)
    assert done.content.startswith(f"Removed peer review #{review.id}.")
    await settle(bot)
    assert await reviews(bot) == []
    [mine] = [a for a in await assignments(bot) if await user_of(bot, a.reviewer_id) == ada.id]
    assert mine.state is PeerState.DISCARDED
    author = member_by_user(server, await author_of(bot, mine.submission_id))
    assert any("review of your week 1 checkpoint in 'Spring' was removed by a moderator" in m.content
               for m in sandbox.dms_to(author))
    [message] = [m for m in sandbox.messages_in(server.review_channel)
                 if m.embeds and m.embeds[0]["title"].endswith(f"· {author.name}")]
    assert "Peer reviews (advice only)" not in [f["name"] for f in message.embeds[0]["fields"]]
    assert_refused(await sandbox.click(peer_dms(sandbox, ada)[0], "Review 1", user=ada),
                   "A moderator removed your review of this submission")


def past_discords_limit(opened: Reply) -> Reply:
    """The form as a client that ignores Discord's 1,000-character limit would send it: the bot must check again."""
    assert opened.modal is not None, opened.content
    for label in opened.modal.components:
        label["component"].pop("max_length", None)
    return opened


def form_fields(opened: Reply) -> list[tuple]:
    """What a reviewer sees in the form: each input's label, its options with their defaults, and its text."""
    assert opened.modal is not None, opened.content
    return [
        (f["label"], [(o["label"], o.get("default", False)) for o in f.get("options", [])], f.get("value"))
        for f in opened.modal.fields
    ]


async def test_a_comment_over_1000_characters_or_a_requirement_met_and_partly_is_refused_changing_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await assigned_week_1(sandbox, server, bot, clock)
    ada = server.learners[0]
    [dm] = peer_dms(sandbox, ada)
    long = past_discords_limit(await sandbox.click(dm, "Review 1", user=ada))
    refused = await sandbox.submit_modal(long, {MET: ["0"], COMMENT: "x" * 1001})
    assert_refused(refused, "A comment can be at most 1,000 characters (yours is 1,001).")
    both = await sandbox.submit_modal(await sandbox.click(dm, "Review 1", user=ada), {MET: ["0", "1"], PARTLY: ["1"]})
    assert_refused(both, "A requirement is either met or partly met, not both:", "Choose one and send again.")
    assert await reviews(bot) == []
    assert {a.state for a in await assignments(bot)} == {PeerState.OPEN}


async def test_the_21st_review_or_edit_in_a_day_is_refused_changing_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await assigned_week_1(sandbox, server, bot, clock)
    ada = server.learners[0]
    [mine] = [a for a in await assignments(bot) if await user_of(bot, a.reviewer_id) == ada.id]
    for take in range(20):  # a review and 19 edits, each told to the author
        await bot.bot.peer.review(mine.id, ada.id, [0], [], f"take {take}", editing=True)
    refused = await review_of(sandbox, ada, {MET: ["0", "1", "2"], COMMENT: "take 21"})
    assert_refused(refused, "You have sent 20 peer reviews or edits in the last 24 hours, the most you may")
    [stored] = await reviews(bot)
    assert (stored.verdicts, stored.comment) == (["met", "not_yet", "not_yet"], "take 19")


def button_for(made: list[PeerAssignment], assignment: PeerAssignment) -> str:
    """The assignment's Review button in its reviewer's first DM, which numbers their assignments in id order."""
    theirs = sorted(a.id for a in made if a.reviewer_id == assignment.reviewer_id)
    return f"Review {theirs.index(assignment.id) + 1}"


async def what_a_reviewer_sees(sandbox: Sandbox, member, button: str) -> tuple:
    [dm] = peer_dms(sandbox, member)
    queue = await sandbox.slash("peer queue", user=member)
    return queue.content, form_fields(await sandbox.click(dm, button, user=member))


async def test_a_reviewer_sees_nothing_of_the_other_reviews_of_the_same_submission(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start(sandbox, server, bot, clock, reviewers=2)
    await submit_all(sandbox, server.learners)
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(minutes=1))
    made = await assignments(bot)
    first, second = [a for a in made if a.submission_id == made[0].submission_id]
    reviewer, other = [member_by_user(server, await user_of(bot, a.reviewer_id)) for a in (first, second)]
    before = await what_a_reviewer_sees(sandbox, other, button_for(made, second))
    comment = "for the author and the moderators"
    await review_of(sandbox, reviewer, {MET: ["0", "1", "2"], COMMENT: comment}, button=button_for(made, first))
    await settle(bot)
    assert len(await reviews(bot)) == 1
    assert await what_a_reviewer_sees(sandbox, other, button_for(made, second)) == before
    assert not any(comment in m.content for m in sandbox.dms_to(other))


async def test_progress_the_roster_and_the_leaderboard_count_reviews_and_erasure_removes_them(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await assigned_week_1(sandbox, server, bot, clock)
    ada, grace = server.learners[:2]
    await review_of(sandbox, ada, {MET: ["0"]})
    await review_of(sandbox, grace, {MET: ["1"]})
    await settle(bot)
    fields = {f["name"]: f["value"] for f in (await sandbox.slash("progress", user=ada)).embeds[0]["fields"]}
    assert fields["Peer reviews"].startswith("1 given")
    board = await sandbox.slash("leaderboard", user=ada, by="reviews")
    assert "by peer reviews given" in board.embeds[0]["description"]
    assert f"<@{ada.id}> — 1 peer review given" in board.embeds[0]["description"]
    roster = await sandbox.slash("cohort roster", user=server.moderator, cohort="Spring")
    rows = {row["display_name"]: row for row in csv.DictReader(io.StringIO(roster.attachments[0].text()))}
    reviewed = [await author_of(bot, a.submission_id) for a in await assignments(bot) if a.state is PeerState.DONE]
    for member in (ada, grace):
        counts = rows[member.name]["peer_reviews_given"], rows[member.name]["peer_reviews_received"]
        assert counts == ("1", str(reviewed.count(member.id)))

    exported = json.loads((await sandbox.slash("mydata export", user=ada)).attachments[0].text())
    [given] = exported["peer_reviews_given"]
    assert (given["week"], given["state"], given["review"]["verdicts"]) == (1, "done", ["met", "not_yet", "not_yet"])

    [ada_gave] = [a for a in await assignments(bot) if await user_of(bot, a.reviewer_id) == ada.id]
    erase = await sandbox.slash("mydata erase", user=ada)
    await sandbox.click(erase, "Erase my data", user=ada)
    await settle(bot)
    left = await reviews(bot)
    assert len(left) == 1 and left[0].assignment_id != ada_gave.id
    states = {a.id: a.state for a in await assignments(bot)}
    assert states[ada_gave.id] is PeerState.WITHDRAWN  # on another's submission: it stays, anonymous
    async with bot.bot.sessions() as session:
        assert (await session.get_one(Membership, ada_gave.reviewer_id)).user_id < 0


async def test_a_late_submission_gets_its_peer_at_the_next_sweep_and_two_sweeps_at_once_assign_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start(sandbox, server, bot, clock)
    await submit_all(sandbox, server.learners[:3])
    clock.set(DEADLINE_1 + timedelta(minutes=1))
    await settle(bot)
    reports = await asyncio.gather(bot.bot.peer.sweep(), bot.bot.peer.sweep())  # e.g. two processes at once
    assert sorted(r.assigned for r in reports) == [0, 3]
    await settle(bot)
    assert all(len(peer_dms(sandbox, m)) == 1 for m in server.learners[:3])

    linus = server.learners[3]
    late = await sandbox.slash("submit", user=linus, week=1, link="https://github.com/linus/late")
    assert "**late**" in late.content
    await sweep_at(bot, clock, DEADLINE_1 + timedelta(hours=1))
    made = await assignments(bot)
    [his] = [a for a in made if await author_of(bot, a.submission_id) == linus.id]
    assert await user_of(bot, his.reviewer_id) != linus.id
    reviewer = member_by_user(server, await user_of(bot, his.reviewer_id))
    assert len(peer_dms(sandbox, reviewer)) == 2
    assert "linus" in peer_dms(sandbox, reviewer)[1].content
