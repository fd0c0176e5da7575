"""Certification tiers through the real bot: the role given once, created if missing, refusals, recovery, races."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import AwardStatus, Membership, ReviewDecision, Submission, TierAward, TierRole
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Member, Message, Perm, Role, Sandbox
from bot.services.events import CheckpointApproved
from tests.e2e.helpers import (
    TIER_ROLE,
    Launcher,
    awards,
    complete,
    count,
    create_cohort,
    hand_in,
    problem_reports,
    start_cohort,
)

ROLE_CREATE = "/guilds/{guild_id}/roles"
ROLE_ADD = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
CONGRATULATIONS = "Congratulations! You completed **ML/AI Foundations**"


def role_named(server: StudyServer, name: str) -> list[Role]:
    return [role for role in server.guild.roles.values() if role.name == name]


def announcements(sandbox: Sandbox, server: StudyServer) -> list[Message]:
    return [m for m in sandbox.messages_in(server.cohort_channel) if "earned **" in m.content]


def congratulations(sandbox: Sandbox, member: Member) -> list[Message]:
    return [m for m in sandbox.dms_to(member) if CONGRATULATIONS in m.content]


@pytest.fixture
def blocking_role(server: StudyServer) -> Role:
    """A role named like the beginner tier's, placed above the bot's own role (before the bot starts)."""
    return server.guild.add_role(TIER_ROLE, position=server.guild.bot_role.position + 1)


# The happy path.


async def test_approving_the_last_beginner_checkpoint_creates_and_grants_the_role_once(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    await complete(sandbox, server, bot, ada, range(1, 4))
    assert role_named(server, TIER_ROLE) == []
    assert await awards(bot) == []

    await complete(sandbox, server, bot, ada, [4])

    [role] = role_named(server, TIER_ROLE)
    assert role in ada.roles
    [created] = sandbox.requests_to("POST", ROLE_CREATE)
    assert created.json["name"] == TIER_ROLE and created.json["colors"]["primary_color"] == 0x2ECC71
    assert created.json["permissions"] == "0"
    assert len(sandbox.requests_to("PUT", ROLE_ADD)) == 1
    [award] = await awards(bot)
    assert (award.status, award.role_id, award.attempts) == (AwardStatus.GRANTED, role.id, 1)
    [dm] = congratulations(sandbox, ada)
    assert "every checkpoint of weeks 1-4 is approved" in dm.content and "Next up: **ML/AI Practitioner**" in dm.content
    [announcement] = announcements(sandbox, server)
    assert announcement.content.startswith(f"🎓 <@{ada.id}> earned **ML/AI Foundations**")
    assert f"<@&{role.id}>" in announcement.content
    messages = sandbox.requests_to("POST", "/channels/{channel_id}/messages")
    [sent] = [r for r in messages if "earned **" in ((r.json or {}).get("content") or "")]
    assert sent.json["allowed_mentions"] == {"parse": []}, "the announcement names people without pinging them"
    assert problem_reports(sandbox, server) == []

    progress = await sandbox.slash("progress", user=ada)
    fields = {f["name"]: f["value"] for f in progress.embeds[0]["fields"]}
    assert fields["Tiers earned"] == "🎓 **ML/AI Foundations** — role given"
    assert fields["Next tier"].startswith("**ML/AI Practitioner** (weeks 5-12): 0 of 8 checkpoints approved")


async def test_a_second_learner_gets_the_role_the_bot_created_for_the_first(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, ada: Member
) -> None:
    grace = server.learners[1]
    await start_cohort(sandbox, server, bot, clock)
    await complete(sandbox, server, bot, ada, range(1, 5))
    await complete(sandbox, server, bot, grace, range(1, 5))
    [role] = role_named(server, TIER_ROLE)
    assert role in ada.roles and role in grace.roles
    assert len(sandbox.requests_to("POST", ROLE_CREATE)) == 1
    assert len(announcements(sandbox, server)) == 2


async def test_a_role_mapped_with_tier_role_is_given_instead_of_creating_one(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock, ada: Member
) -> None:
    graduates = server.guild.add_role("Graduates", position=1)
    bot = await launch()
    await start_cohort(sandbox, server, bot, clock)
    reply = await sandbox.slash(
        "cohort tier-role", user=server.moderator, cohort="Spring", tier="beginner", role=graduates
    )
    assert reply.ephemeral
    assert reply.content == f"In **Spring**, completing **ML/AI Foundations** now gives <@&{graduates.id}>."
    await complete(sandbox, server, bot, ada, range(1, 5))
    assert graduates in ada.roles
    assert role_named(server, TIER_ROLE) == []
    assert sandbox.requests_to("POST", ROLE_CREATE) == []


async def test_tier_autocomplete_offers_the_cohorts_tiers(
    sandbox: Sandbox, server: StudyServer, running: RunningBot
) -> None:
    choices = await sandbox.autocomplete(
        "cohort tier-role", "tier", "pract", user=server.moderator, cohort="Spring"
    )
    assert choices == [{"name": "ML/AI Practitioner (intermediate)", "value": "intermediate"}]


@pytest.fixture
async def running(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock) -> RunningBot:
    await start_cohort(sandbox, server, bot, clock)
    return bot


@pytest.mark.parametrize(
    ("who", "options", "expected"),
    [
        ("moderator", {"cohort": "Spring", "tier": "wizard"}, "has no tier 'wizard'. Its tiers: `beginner`"),
        ("moderator", {"cohort": "Autumn", "tier": "beginner"}, "There is no cohort named 'Autumn'"),
        ("moderator", {"cohort": "Spring", "tier": "beginner", "above": True}, "is above my highest role"),
        ("learner", {"cohort": "Spring", "tier": "beginner"}, "Only moderators"),
    ],
)
async def test_tier_role_refusals_store_nothing(
    sandbox: Sandbox, server: StudyServer, running: RunningBot, who: str, options: dict, expected: str
) -> None:
    options = dict(options)  # the parameter is shared by the sqlite and postgres runs
    above = options.pop("above", False)
    role = server.guild.add_role("Mapped", position=server.guild.bot_role.position + 1 if above else 1)
    user = server.moderator if who == "moderator" else server.learners[0]
    reply = await sandbox.slash("cohort tier-role", user=user, role=role, **options)
    assert reply.ephemeral and expected in reply.content, reply.content
    assert await count(running, TierRole) == 0


# Discord refuses: the award waits, moderators are told, the retry gives it once the fix is made.


async def test_role_above_the_bots_stays_pending_moderators_are_told_and_the_scheduled_retry_grants_it(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock, ada: Member, blocking_role: Role
) -> None:
    bot = await launch()
    await start_cohort(sandbox, server, bot, clock)
    await complete(sandbox, server, bot, ada, range(1, 5))

    [award] = await awards(bot)
    assert (award.status, award.attempts, award.role_id) == (AwardStatus.PENDING, 1, blocking_role.id)
    assert blocking_role not in ada.roles
    assert congratulations(sandbox, ada) == [] and announcements(sandbox, server) == []
    assert sandbox.requests_to("POST", ROLE_CREATE) == []
    [report] = problem_reports(sandbox, server)
    assert f"<@{ada.id}> completed **ML/AI Foundations** in 'Spring'" in report.content
    assert "drag 'StudyBot' above 'ML/AI Foundations'" in report.content
    progress = await sandbox.slash("progress", user=ada)
    earned = {f["name"]: f["value"] for f in progress.embeds[0]["fields"]}["Tiers earned"]
    assert earned == (
        "🎓 **ML/AI Foundations** — role on its way (Discord refused it so far; the moderators have been told what "
        "to fix)"
    )

    # The sweep backs off: half a minute later it does not try again.
    clock.advance(timedelta(seconds=30))
    await bot.bot.runner.run_due()
    assert len(sandbox.requests_to("PUT", ROLE_ADD)) == 1
    # Two minutes later it does, fails the same way, and does not repeat the report.
    clock.advance(timedelta(minutes=2))
    await bot.bot.runner.run_due()
    assert len(sandbox.requests_to("PUT", ROLE_ADD)) == 2
    assert len(problem_reports(sandbox, server)) == 1

    server.guild.bot_role.position = blocking_role.position + 1  # a moderator raises the bot's role
    clock.advance(timedelta(minutes=2))
    await bot.bot.runner.run_due()

    assert blocking_role in ada.roles
    [award] = await awards(bot)
    assert (award.status, award.attempts, award.last_error) == (AwardStatus.GRANTED, 3, None)
    assert len(congratulations(sandbox, ada)) == 1 and len(announcements(sandbox, server)) == 1
    clock.advance(timedelta(hours=2))
    await bot.bot.runner.run_due()
    assert len(sandbox.requests_to("PUT", ROLE_ADD)) == 3


async def test_missing_manage_roles_is_reported_and_the_next_approval_grants_the_role(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock, ada: Member
) -> None:
    server.guild.bot_role.permissions &= ~int(Perm.MANAGE_ROLES)
    bot = await launch()
    await start_cohort(sandbox, server, bot, clock)
    await complete(sandbox, server, bot, ada, range(1, 5))
    [award] = await awards(bot)
    assert award.status is AwardStatus.PENDING
    [report] = problem_reports(sandbox, server)
    assert "I lack the Manage Roles permission. In Server Settings → Roles → StudyBot, turn on Manage Roles" in (
        report.content
    )

    server.guild.bot_role.permissions |= int(Perm.MANAGE_ROLES)
    await complete(sandbox, server, bot, ada, [5])  # the next approval retries at once, no clock needed

    [role] = role_named(server, TIER_ROLE)
    assert role in ada.roles
    assert [a.status for a in await awards(bot)] == [AwardStatus.GRANTED]


async def test_cohort_create_warns_about_tier_roles_above_the_bots_but_creates_the_cohort(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, blocking_role: Role
) -> None:
    await launch()
    reply = await sandbox.slash(
        "cohort create", user=server.moderator, name="Spring", roadmap="ml-ai-study-guide", start="2026-03-02",
        options={"channel": server.cohort_channel},
    )
    assert reply.content.startswith("Created **Spring**")
    assert f"⚠️ Tier role <@&{blocking_role.id}> is above my highest role <@&{server.guild.bot_role.id}>" in (
        reply.content
    )


async def test_cohort_create_says_nothing_about_roles_when_they_can_be_given(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
) -> None:
    await create_cohort(sandbox, server)
    replies = [m for m in sandbox.messages_in(server.cohort_channel, include_ephemeral=True) if "Created" in m.content]
    assert "⚠️" not in replies[0].content


# Never twice.


async def approved_event(bot: RunningBot, learner: Member, week: int) -> CheckpointApproved:
    async with bot.bot.sessions() as session:
        submission, membership = (
            await session.execute(
                select(Submission, Membership)
                .join(Membership, Membership.id == Submission.membership_id)
                .where(Membership.user_id == learner.id, Submission.week == week)
            )
        ).one()
    return CheckpointApproved(
        membership.guild_id, submission.cohort_id, membership.id, learner.id, week, submission.id, 1
    )


async def submission_id(bot: RunningBot, learner: Member, week: int) -> int:
    return (await approved_event(bot, learner, week)).submission_id


async def test_racing_approvals_and_a_restart_grant_the_role_exactly_once(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock, ada: Member
) -> None:
    bot = await launch()
    await start_cohort(sandbox, server, bot, clock)
    await complete(sandbox, server, bot, ada, [1, 2])
    for week in (3, 4):
        await hand_in(sandbox, server, bot, ada, week)
    third, fourth = await submission_id(bot, ada, 3), await submission_id(bot, ada, 4)

    decide = bot.bot.submissions.decide
    await asyncio.gather(
        decide(server.guild.id, third, 1, server.moderator.id, ReviewDecision.APPROVED),
        decide(server.guild.id, fourth, 1, server.moderator.id, ReviewDecision.APPROVED),
    )
    event = await approved_event(bot, ada, 4)
    await asyncio.gather(bot.bot.tiers.on_approved(event), bot.bot.tiers.on_approved(event))
    await bot.bot.tiers.settle()

    def once() -> None:
        assert [a.status for a in awards_now] == [AwardStatus.GRANTED]
        assert len(sandbox.requests_to("PUT", ROLE_ADD)) == 1
        assert len(sandbox.requests_to("POST", ROLE_CREATE)) == 1
        assert len(congratulations(sandbox, ada)) == 1
        assert len(announcements(sandbox, server)) == 1

    awards_now = await awards(bot)
    once()

    await bot.stop()
    clock.advance(timedelta(hours=3))
    bot = await launch()
    await bot.bot.tiers.on_approved(event)
    await bot.bot.tiers.settle()
    await complete(sandbox, server, bot, ada, [5])
    await bot.bot.runner.run_due()
    awards_now = await awards(bot)
    once()


async def test_a_pending_award_left_by_a_restart_is_granted_once_after_it(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock, ada: Member, blocking_role: Role
) -> None:
    bot = await launch()
    await start_cohort(sandbox, server, bot, clock)
    await complete(sandbox, server, bot, ada, range(1, 5))
    assert [a.status for a in await awards(bot)] == [AwardStatus.PENDING]
    await bot.stop()

    blocking_role.position = 1  # a moderator moves the tier role below the bot's
    clock.advance(timedelta(minutes=10))
    bot = await launch()  # the start-up run sweeps pending awards
    event = await approved_event(bot, ada, 4)
    await asyncio.gather(bot.bot.tiers.on_approved(event), bot.bot.tiers.on_approved(event))
    await bot.bot.tiers.settle()

    assert blocking_role in ada.roles
    assert [a.status for a in await awards(bot)] == [AwardStatus.GRANTED]
    assert len(congratulations(sandbox, ada)) == 1 and len(announcements(sandbox, server)) == 1
    async with bot.bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(TierAward)) == 1
