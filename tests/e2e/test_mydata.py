"""A learner's own data: /mydata export as a JSON file, /mydata erase in one transaction, touching no one else."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import (
    AwardStatus,
    CheckIn,
    LearnerSettings,
    Membership,
    Submission,
    SubmissionVersion,
    TierAward,
)
from bot.harness import RunningBot, StudyServer
from bot.render.review import REMOVED_BY_LEARNER
from bot.sandbox import Message, Sandbox, SandboxFile
from tests.e2e.helpers import create_cohort

WEEK_1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def cohort_with_work(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock) -> None:
    """ada and grace joined, each checked in and submitted week 1; ada's was approved."""
    await create_cohort(sandbox, server)
    ada, grace, _ = server.learners
    for learner in (ada, grace):
        await sandbox.slash("join", user=learner)
    clock.set(WEEK_1)
    await bot.bot.runner.run_due()
    async with bot.bot.sessions.begin() as session:
        for membership in (await session.scalars(select(Membership))).all():
            session.add(CheckIn(membership_id=membership.id, local_date=date(2026, 3, 2), minutes=45,
                                note="linear algebra", created_at=WEEK_1))
    for learner in (ada, grace):
        await sandbox.slash("submit", user=learner, link=f"https://example.org/{learner.name}")
    ada_review = next(m for m in sandbox.messages_in(server.review_channel) if "· ada" in m.embeds[0]["title"])
    await sandbox.click(ada_review, "Approve", user=server.moderator)
    await sandbox.slash("settings", user=ada, timezone="Europe/Berlin")


async def export_of(sandbox: Sandbox, member) -> dict:
    reply = await sandbox.slash("mydata export", user=member)
    assert reply.ephemeral
    [attachment] = reply.attachments
    return json.loads(attachment.text())


async def counts(bot: RunningBot) -> tuple[int, int, int]:
    async with bot.bot.sessions() as session:
        return (
            await session.scalar(select(func.count()).select_from(CheckIn)),
            await session.scalar(select(func.count()).select_from(Submission)),
            await session.scalar(select(func.count()).select_from(SubmissionVersion)),
        )


async def test_export_holds_memberships_settings_checkins_submissions_and_reviews(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await cohort_with_work(sandbox, server, bot, clock)
    data = await export_of(sandbox, server.learners[0])
    assert [m["cohort"] for m in data["memberships"]] == ["Spring"]
    assert data["settings"]["timezone"] == "Europe/Berlin"
    assert [c["minutes"] for c in data["checkins"]] == [45]
    [submission] = data["submissions"]
    assert submission["status"] == "approved"
    [version] = submission["versions"]
    assert version["link"] == "https://example.org/ada"
    assert version["review"]["decision"] == "approved"
    assert "grace" not in json.dumps(data)


async def test_export_for_someone_with_no_data_says_so(sandbox: Sandbox, server: StudyServer, bot: RunningBot) -> None:
    reply = await sandbox.slash("mydata export", user=server.learners[2])
    assert reply.ephemeral and "I keep nothing about you" in reply.content
    data = json.loads(reply.attachments[0].text())
    assert data["memberships"] == [] and data["submissions"] == []


async def test_erase_removes_only_this_learners_data_here_and_edits_their_review_message(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada, grace, _ = server.learners
    elsewhere = server.world.add_guild("Other Server")
    elsewhere.add_member(user=ada.user)
    await cohort_with_work(sandbox, server, bot, clock)
    assert await counts(bot) == (2, 2, 2)

    prompt = await sandbox.slash("mydata erase", user=ada)
    assert "cannot be undone" in prompt.content
    done = await sandbox.click(prompt, "Erase my data", user=ada)
    assert "Erased: 1 check-ins, 1 submissions" in done.content
    assert await counts(bot) == (1, 1, 1)
    async with bot.bot.sessions() as session:
        names = sorted((await session.scalars(select(Membership.display_name))).all())
    assert names == ["(erased)", "grace"]
    # The review message is edited after the click is answered.
    ada_review = await sandbox.until(
        lambda: next((m for m in sandbox.messages_in(server.review_channel) if m.content), None),
        what="ada's review message to be edited",
    )
    assert ada_review.content == "This submission was removed by the learner." and not ada_review.embeds
    assert await export_of(sandbox, grace) != {}
    assert (await export_of(sandbox, grace))["submissions"][0]["versions"][0]["link"] == "https://example.org/grace"

    after = await export_of(sandbox, ada)
    assert after["memberships"] == [] and after["checkins"] == [] and after["settings"] is None
    again = await sandbox.slash("mydata erase", user=ada)
    assert again.ephemeral and "nothing to erase" in again.content


async def test_cancel_and_other_peoples_clicks_erase_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await cohort_with_work(sandbox, server, bot, clock)
    ada = server.learners[0]
    prompt = await sandbox.slash("mydata erase", user=ada)
    cancelled = await sandbox.click(prompt, "Cancel", user=ada)
    assert "nothing was erased" in cancelled.content
    assert await counts(bot) == (2, 2, 2)


async def test_double_clicking_erase_erases_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await cohort_with_work(sandbox, server, bot, clock)
    ada = server.learners[0]
    first = await sandbox.slash("mydata erase", user=ada)
    second = await sandbox.slash("mydata erase", user=ada)
    await sandbox.click(first, "Erase my data", user=ada)
    late = await sandbox.click(second, "Erase my data", user=ada)
    assert late.ephemeral and "nothing to erase" in late.content
    assert await counts(bot) == (1, 1, 1)


async def test_erase_can_also_remove_the_tier_roles_it_granted(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await cohort_with_work(sandbox, server, bot, clock)
    ada = server.learners[0]
    tier_role = server.guild.add_role("ML/AI Foundations", position=1)
    ada.add_role(tier_role)
    async with bot.bot.sessions.begin() as session:
        membership = await session.scalar(select(Membership).where(Membership.user_id == ada.id))
        session.add(TierAward(membership_id=membership.id, tier_key="beginner", status=AwardStatus.GRANTED,
                              role_id=tier_role.id, attempts=1, earned_at=WEEK_1, granted_at=WEEK_1))
    prompt = await sandbox.slash("mydata erase", user=ada)
    done = await sandbox.click(prompt, "Erase and remove my tier roles", user=ada)
    assert "Your tier roles are removed too." in done.content
    await sandbox.until(lambda: tier_role not in ada.roles, within=5, what="the tier role removed")


def removed(message: Message) -> bool:
    return message.content == REMOVED_BY_LEARNER and not message.embeds and not message.attachments


async def test_erase_after_two_resubmissions_edits_every_review_message_and_cancels_pending_awards(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    ada, grace = server.learners[:2]
    for learner in (ada, grace):
        await sandbox.slash("join", user=learner)
    clock.set(WEEK_1)
    await bot.bot.runner.run_due()
    for attempt in range(3):
        upload = SandboxFile(f"v{attempt}.txt", b"my work", "text/plain")
        reply = await sandbox.slash("submit", user=ada, link=f"https://example.org/ada/{attempt}", file=upload)
        assert "Submitted" in reply.content, reply.content
    await sandbox.slash("submit", user=grace, link="https://example.org/grace")
    async with bot.bot.sessions.begin() as session:
        membership = await session.scalar(select(Membership).where(Membership.user_id == ada.id))
        for key, status in (("beginner", AwardStatus.GRANTED), ("intermediate", AwardStatus.PENDING)):
            session.add(TierAward(membership_id=membership.id, tier_key=key, status=status, attempts=0,
                                  earned_at=WEEK_1))
    ada_messages = [m for m in sandbox.messages_in(server.review_channel) if "· ada" in m.embeds[0]["title"]]
    assert len(ada_messages) == 3 and all(m.attachments for m in ada_messages)

    prompt = await sandbox.slash("mydata erase", user=ada)
    done = await sandbox.click(prompt, "Erase my data", user=ada)

    assert "1 tier roles not yet given will not be given." in done.content
    # Discord's side is tidied up after the answer.
    await sandbox.until(lambda: all(removed(m) for m in ada_messages), what="every version's review message emptied")
    grace_message = next(m for m in sandbox.messages_in(server.review_channel) if m.embeds)
    assert "· grace" in grace_message.embeds[0]["title"]
    async with bot.bot.sessions() as session:
        assert (await session.scalars(select(TierAward.status))).all() == [AwardStatus.GRANTED]
    await bot.bot.tiers.sweep()
    assert sandbox.requests_to("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}") == []


async def test_a_dm_refusal_noticed_after_an_erase_does_not_bring_settings_back(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await cohort_with_work(sandbox, server, bot, clock)
    ada, grace = server.learners[:2]
    prompt = await sandbox.slash("mydata erase", user=ada)
    await sandbox.click(prompt, "Erase my data", user=ada)

    # What a notice that was already on its way does when Discord refuses the DM.
    await bot.bot.learners.mark_dms_closed(server.guild.id, ada.id)
    await bot.bot.learners.mark_dms_closed(server.guild.id, grace.id)

    async with bot.bot.sessions() as session:
        rows = (await session.scalars(select(LearnerSettings.user_id))).all()
    assert rows == [grace.id]
    assert (await export_of(sandbox, ada))["settings"] is None


async def test_a_review_message_posted_while_the_learner_erases_is_emptied(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await cohort_with_work(sandbox, server, bot, clock)
    grace = server.learners[1]
    posting = f"/channels/{server.review_channel.id}/messages"
    release = sandbox.hold_next("POST", posting)
    before = len(sandbox.requests_to("POST", posting))
    submit = await sandbox.slash("submit", user=grace, week=1, link="https://example.org/grace/2", wait=False)
    await sandbox.until(lambda: len(sandbox.requests_to("POST", posting)) > before, what="the review post")

    prompt = await sandbox.slash("mydata erase", user=grace)
    await sandbox.click(prompt, "Erase my data", user=grace)
    release.set()
    await submit.wait()

    await sandbox.until(
        lambda: sum(removed(m) for m in sandbox.messages_in(server.review_channel)) == 2,
        what="both of grace's review messages emptied, the one posted after the erase included",
    )
    [kept] = [m for m in sandbox.messages_in(server.review_channel) if m.embeds]
    assert "· ada" in kept.embeds[0]["title"]
    async with bot.bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SubmissionVersion)) == 1
