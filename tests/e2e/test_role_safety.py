"""No role with power, and none above the moderator: refused at every entry point and again when it is given."""

from __future__ import annotations

import discord
import pytest

from bot.clock import ManualClock
from bot.db.models import AwardStatus, Cohort, TierRole
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Member, Perm, Sandbox
from tests.e2e.helpers import (
    TIER_ROLE,
    Launcher,
    assert_refused,
    awards,
    complete,
    count,
    join,
    leave,
    memberships,
    problem_reports,
    role_changed,
    start_cohort,
)

POWERS = [
    (discord.Permissions(**{flag: True}).value, label)
    for flag, label in [
        ("administrator", "Administrator"),
        ("manage_guild", "Manage Server"),
        ("manage_roles", "Manage Roles"),
        ("kick_members", "Kick Members"),
        ("ban_members", "Ban Members"),
        ("moderate_members", "Moderate Members"),
        ("manage_messages", "Manage Messages"),
        ("mention_everyone", "Mention Everyone"),
        ("manage_webhooks", "Manage Webhooks"),
        ("manage_channels", "Manage Channels"),
    ]
]
ROLE_ADD = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"


async def create(sandbox: Sandbox, server: StudyServer, user: Member, **options: object):
    return await sandbox.slash(
        "cohort create", user=user, name="Spring", roadmap="ml-ai-study-guide", start="2026-03-02",
        options={"channel": server.cohort_channel}, **options,
    )


@pytest.mark.parametrize(("power", "label"), POWERS)
async def test_a_cohort_role_with_power_is_refused_naming_the_permission(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, power: int, label: str
) -> None:
    powerful = server.guild.add_role("Helpers", position=1, permissions=power)
    reply = await create(sandbox, server, server.moderator, role=powerful)
    assert_refused(reply, f"<@&{powerful.id}> carries {label}", "I never hand out a role with power",
                   "Server Settings → Roles → Helpers")
    assert await count(bot, Cohort) == 0


@pytest.mark.parametrize(("power", "label"), POWERS[:3])
async def test_a_tier_role_with_power_is_refused_naming_the_permission(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock, power: int, label: str
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    powerful = server.guild.add_role("Graduates", position=1, permissions=power)
    reply = await sandbox.slash(
        "cohort tier-role", user=server.moderator, cohort="Spring", tier="beginner", role=powerful
    )
    assert_refused(reply, f"carries {label}", "I never hand out a role with power")
    assert await count(bot, TierRole) == 0


async def test_a_role_named_like_a_tier_with_power_refuses_the_cohort(
    sandbox: Sandbox, server: StudyServer, launch: Launcher
) -> None:
    server.guild.add_role(TIER_ROLE, position=1, permissions=discord.Permissions(ban_members=True).value)
    bot = await launch()
    reply = await create(sandbox, server, server.moderator)
    assert_refused(reply, f"would give the existing role named '{TIER_ROLE}'", "carries Ban Members")
    assert await count(bot, Cohort) == 0


async def test_roles_at_or_above_the_moderators_highest_are_refused_but_not_for_owner_or_admins(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    mentors = server.guild.add_role("Mentors", position=server.moderator.roles[0].position + 1)
    server.moderator.add_role(mentors)  # the moderator's highest role, and a plain one
    above = server.guild.add_role("Above the mentors", position=mentors.position + 1)
    admin_id = server.guild.add_member("root", permissions=discord.Permissions(administrator=True).value).id
    bot = await launch()
    for role in (mentors, above):  # at, and above
        reply = await create(sandbox, server, server.moderator, role=role)
        assert_refused(reply, f"<@&{role.id}> is not below your highest role <@&{mentors.id}>",
                       "you couldn't give it by hand")
    assert await count(bot, Cohort) == 0

    owner = server.guild.member(server.guild.owner_id)
    reply = await create(sandbox, server, owner, role=above)
    assert reply.content.startswith("Created **Spring**"), reply.content
    admin = server.guild.member(admin_id)
    reply = await sandbox.slash("cohort tier-role", user=admin, cohort="Spring", tier="beginner", role=above)
    assert reply.content.startswith("In **Spring**"), reply.content


async def test_a_moderator_by_role_without_manage_roles_cannot_choose_roles_at_all(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    helpers = server.guild.add_role("Cohort helpers", position=server.cohort_role.position + 1)
    helper = server.guild.add_member("hana", roles=[helpers])
    bot = await launch()
    reply = await sandbox.slash("cohort moderator-role", user=server.moderator, role=helpers)
    assert reply.content.startswith("Members with"), reply.content
    plain = server.cohort_role  # below the helper's role, no power: only Manage Roles is missing

    refused = await create(sandbox, server, helper, role=plain)
    assert_refused(refused, "needs the Manage Roles permission, which you don't have")
    assert await count(bot, Cohort) == 0
    created = await create(sandbox, server, helper)  # without a role the helper may run cohorts
    assert created.content.startswith("Created **Spring**"), created.content
    refused = await sandbox.slash("cohort tier-role", user=helper, cohort="Spring", tier="beginner", role=plain)
    assert_refused(refused, "needs the Manage Roles permission, which you don't have")
    assert await count(bot, TierRole) == 0


async def test_a_mapped_role_given_power_later_is_not_granted_and_moderators_are_told(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    ada = server.learners[0]
    graduates = server.guild.add_role("Graduates", position=1)
    bot = await launch()
    await start_cohort(sandbox, server, bot, clock)
    reply = await sandbox.slash(
        "cohort tier-role", user=server.moderator, cohort="Spring", tier="beginner", role=graduates
    )
    assert reply.content.startswith("In **Spring**"), reply.content
    await role_changed(sandbox, bot, graduates, permissions=int(Perm.ADMINISTRATOR))

    await complete(sandbox, server, bot, ada, range(1, 5))

    assert graduates not in ada.roles
    assert sandbox.requests_to("PUT", ROLE_ADD) == []
    [award] = await awards(bot)
    assert award.status is AwardStatus.PENDING
    [report] = problem_reports(sandbox, server)
    assert "the role 'Graduates' now carries Administrator, and I never hand out a role with power" in report.content

    await role_changed(sandbox, bot, graduates, permissions=0)
    await complete(sandbox, server, bot, ada, [5])  # the next approval retries at once
    assert graduates in ada.roles
    assert [a.status for a in await awards(bot)] == [AwardStatus.GRANTED]


async def test_a_role_named_like_a_tier_that_gains_power_is_not_granted(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    ada = server.learners[0]
    named = server.guild.add_role(TIER_ROLE, position=1)
    bot = await launch()
    await start_cohort(sandbox, server, bot, clock)
    await role_changed(sandbox, bot, named, permissions=int(Perm.MANAGE_ROLES))

    await complete(sandbox, server, bot, ada, range(1, 5))

    assert named not in ada.roles
    assert sandbox.requests_to("PUT", ROLE_ADD) == [] and sandbox.requests_to("POST", "/guilds/{guild_id}/roles") == []
    [award] = await awards(bot)
    assert award.status is AwardStatus.PENDING
    [report] = problem_reports(sandbox, server)
    assert f"the role '{TIER_ROLE}' now carries Manage Roles" in report.content


async def test_a_cohort_role_given_power_after_creation_is_not_given_on_join(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
) -> None:
    reply = await create(
        sandbox, server, server.moderator, role=server.cohort_role, review_channel=server.review_channel
    )
    assert reply.content.startswith("Created"), reply.content
    await role_changed(sandbox, bot, server.cohort_role, permissions=int(Perm.MANAGE_MESSAGES))
    ada = server.learners[0]

    await joined_without_the_role(sandbox, bot, ada)

    assert server.cohort_role not in ada.roles and sandbox.requests_to("PUT", ROLE_ADD) == []
    [told] = [m for m in sandbox.messages_in(server.review_channel) if "who joined 'Spring'" in m.content]
    assert "now carries Manage Messages" in told.content


async def joined_without_the_role(sandbox: Sandbox, bot: RunningBot, learner: Member) -> None:
    """/join succeeded (the learner is enrolled) although the role could not be given."""
    reply = await join(sandbox, learner)
    assert "I couldn't give you the cohort role yet; the moderators have been told." in reply.content
    assert [m.user_id for m in await memberships(bot)] == [learner.id]


# Answer first, then call Discord.


async def test_join_is_answered_while_the_role_call_is_still_waiting(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
) -> None:
    await create(sandbox, server, server.moderator, role=server.cohort_role)
    ada = server.learners[0]
    release = sandbox.hold_next("PUT", ROLE_ADD)

    reply = await sandbox.slash("join", user=ada, wait=False)
    await reply.wait(settle=False)
    assert reply.deferred and reply.ephemeral
    assert server.cohort_role not in ada.roles

    release.set()
    await reply.wait()
    assert reply.content.startswith("Welcome to **Spring**")
    assert f"You now have the <@&{server.cohort_role.id}> role." in reply.content
    assert server.cohort_role in ada.roles and reply.errors == []


async def test_join_succeeds_when_discord_refuses_the_role(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
) -> None:
    await create(sandbox, server, server.moderator, role=server.cohort_role)
    sandbox.fail_next("PUT", ROLE_ADD, status=403, code=50013, message="Missing Permissions")
    await joined_without_the_role(sandbox, bot, server.learners[0])


async def test_leave_is_answered_before_the_role_is_removed(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
) -> None:
    await create(sandbox, server, server.moderator, role=server.cohort_role)
    ada = server.learners[0]
    await join(sandbox, ada)
    release = sandbox.hold_next("DELETE", ROLE_ADD)

    left = await leave(sandbox, ada)

    assert left.content.startswith("You left **Spring**")
    assert server.cohort_role in ada.roles  # the removal is still waiting on Discord
    release.set()
    await sandbox.until(lambda: server.cohort_role not in ada.roles, what="the cohort role to be removed")
