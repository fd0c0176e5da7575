"""Peer review through the real bot and the sandbox: turning it on, assignment at the deadline, the DM, the Review
button and its form, what authors and moderators see, edits, discards, a reviewer who leaves or lets it lapse,
restarts, and every refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import PeerAssignment, PeerReview, PeerSettings, PeerState, QuotaUse
from bot.harness import RunningBot, StudyServer, build_study_server
from bot.sandbox import Message, Sandbox
from tests.e2e.conftest import Launcher
from tests.e2e.test_schedule import create_cohort

WEEK_1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEADLINE_1 = WEEK_1 + timedelta(days=7)
MET = "Requirements fully met"
PARTLY = "Requirements partly met"
COMMENT = "Comment for the author (optional)"
WAIT = 5.0


@pytest.fixture
def server() -> StudyServer:
    return build_study_server(("ada", "grace", "alan", "linus"))


async def settle(bot: RunningBot) -> None:
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
    reply = await sandbox.slash("cohort peer-review", user=server.moderator, cohort="Spring", reviewers=reviewers, **peer)
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
    from bot.db.models import Membership

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
    review_message = await sandbox.until(lambda: _review_message_of(sandbox, server, author.name), WAIT, "verdicts")
    fields = {f["name"]: f["value"] for f in review_message.embeds[0]["fields"]}
    assert "ada: ✅ 2 · 🟡 1 · ❌ 0 — “Nice work @everyone”" in fields["Peer reviews (advice only)"]
    assert [c["label"] for row in review_message.components for c in row["components"]] == [
        "Approve", "Request changes",
    ]


async def author_of(bot: RunningBot, submission_id: int) -> int:
    from bot.db.models import Membership, Submission

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
