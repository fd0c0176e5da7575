"""Pending tier awards: retried fairly across servers, with a back-off kept in the database across restarts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import AwardStatus, Cohort, Membership, MembershipStatus, TierAward
from bot.harness import StudyServer
from bot.sandbox import Guild, Member, Perm, Sandbox
from tests.e2e.helpers import START, TIER_ROLE, Launcher, complete, start_cohort

STUCK = 60


def role_adds(sandbox: Sandbox, guild: Guild) -> int:
    return len(sandbox.requests_to("PUT", f"/guilds/{guild.id}/members/{{user_id}}/roles/{{role_id}}"))


async def create_cohort_in(sandbox: Sandbox, guild: Guild, moderator: Member, name: str) -> None:
    channel = guild.text_channels[0]
    reply = await sandbox.slash(
        "cohort create", user=moderator, channel=channel, name=name, roadmap="ml-ai-study-guide",
        start="2026-03-02", options={"channel": channel},
    )
    assert reply.content.startswith(f"Created **{name}**"), reply.content


async def test_sixty_stuck_awards_in_one_server_do_not_hold_up_another_servers_retry(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    # Server A: a role named like the tier sits above the bot, so every grant there is refused.
    server.guild.add_role(TIER_ROLE, position=server.guild.bot_role.position + 1)
    stuck = [server.guild.add_member(f"learner{i}") for i in range(STUCK)]
    other = server.world.add_guild("Other Club", channels=("club-hall",))
    otto = other.add_member("otto", permissions=Perm.MANAGE_GUILD | Perm.MANAGE_ROLES)
    bea = other.add_member("bea")
    bot = await launch()
    await create_cohort_in(sandbox, server.guild, server.moderator, "Spring")
    await create_cohort_in(sandbox, other, otto, "Club")
    async with bot.bot.sessions.begin() as session:
        cohorts = {c.guild_id: c.id for c in (await session.scalars(select(Cohort))).all()}
        people = [(server.guild, m) for m in stuck] + [(other, bea)]
        for i, (guild, member) in enumerate(people):  # earned a minute apart; bea's award is the newest
            status = MembershipStatus.LEFT if i == 0 else MembershipStatus.ACTIVE
            membership = Membership(cohort_id=cohorts[guild.id], guild_id=guild.id, user_id=member.id,
                                    display_name=member.name, status=status, joined_at=START)
            session.add(membership)
            await session.flush()
            session.add(TierAward(membership_id=membership.id, tier_key="beginner", status=AwardStatus.PENDING,
                                  attempts=0, earned_at=START + timedelta(minutes=i)))
    sandbox.fail_next("PUT", f"/guilds/{other.id}/members/{{user_id}}/roles/{{role_id}}", status=503)  # passes

    report = await bot.bot.tiers.sweep()

    assert role_adds(sandbox, server.guild) == 1, "one refused grant stands for every award waiting on that role"
    assert role_adds(sandbox, other) == 1, "the other server is tried in the same sweep"
    assert len(report.failed) == 2 and report.granted == []
    awards = await all_awards(bot)
    assert awards[stuck[0].id].status is AwardStatus.RETIRED  # the learner who left
    assert awards[bea.id].next_attempt_at == clock.now() + timedelta(minutes=1)
    assert "503" in (awards[bea.id].last_error or "")

    # A restart keeps the back-off: nothing is tried again before it is due.
    await bot.stop()
    bot = await launch()
    assert role_adds(sandbox, other) == 1

    clock.advance(timedelta(minutes=1))
    await bot.bot.runner.run_due()
    await bot.bot.tiers.settle()

    assert (await all_awards(bot))[bea.id].status is AwardStatus.GRANTED
    [club_role] = [r for r in other.roles.values() if r.name == TIER_ROLE]
    assert club_role in bea.roles
    awards = await all_awards(bot)
    assert {awards[m.id].status for m in stuck[1:]} == {AwardStatus.PENDING}
    assert role_adds(sandbox, server.guild) <= 3, "each sweep costs the stuck server one call, not sixty"


async def all_awards(bot) -> dict[int, TierAward]:
    """Awards by learner (user id)."""
    async with bot.bot.sessions() as session:
        rows = await session.execute(
            select(Membership.user_id, TierAward).join(TierAward, TierAward.membership_id == Membership.id)
        )
        return {user_id: award for user_id, award in rows.all()}


async def test_leaving_retires_a_pending_award_and_rejoining_brings_it_back(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    blocking = server.guild.add_role(TIER_ROLE, position=server.guild.bot_role.position + 1)
    ada = server.learners[0]
    bot = await launch()
    await start_cohort(sandbox, server, bot, clock)
    await complete(sandbox, server, bot, ada, range(1, 5))
    assert (await all_awards(bot))[ada.id].status is AwardStatus.PENDING

    asked = await sandbox.slash("leave", user=ada)
    await sandbox.click(asked, "Leave", user=ada)
    clock.advance(timedelta(minutes=5))
    await bot.bot.tiers.sweep()
    retired = (await all_awards(bot))[ada.id]
    assert (retired.status, retired.last_error) == (AwardStatus.RETIRED, "The learner left the cohort.")
    tries = role_adds(sandbox, server.guild)
    await sandbox.change_role(blocking, position=1)  # fixed now, but nobody should get it while away
    clock.advance(timedelta(hours=2))
    await bot.bot.tiers.sweep()
    assert role_adds(sandbox, server.guild) == tries and blocking not in ada.roles

    back = await sandbox.slash("join", user=ada)
    assert back.content.startswith("Welcome back"), back.content
    await bot.bot.tiers.sweep()
    assert (await all_awards(bot))[ada.id].status is AwardStatus.GRANTED
    assert blocking in ada.roles
