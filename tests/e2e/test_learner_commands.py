"""End to end: /join, /leave (with its confirm buttons) and /roadmap as learners and moderators use them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import ManualClock
from bot.db.models import MembershipStatus
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Reply, Sandbox, payloads
from tests.e2e.helpers import assert_refused, db_rows, join, leave, memberships

ROADMAP = "ml-for-senior-engineers"
TITLE = "ML/AI Learning Roadmap for Senior Software Engineers"
WEEK_1 = "Week 1 · Math review, Python setup, NumPy/Pandas"
WEEK_2_OPENS = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""With a start on 2026-02-23, week 2 opens (and week 1's checkpoint is due) an hour after the test clock's start."""


# Helpers.


def stamp(moment: datetime, style: str = "f") -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


async def create(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, name: str = "Spring", start: str = "2026-02-23", **extra
) -> None:
    reply = await sandbox.slash(
        "cohort create", name=name, roadmap=ROADMAP, start=start, options={"channel": server.cohort_channel}, **extra
    )
    assert reply.content.startswith(f"Created **{name}**"), reply
    await bot.bot.runner.settle()


def button(reply: Reply, label: str) -> dict[str, Any]:
    [found] = [c for row in reply.components for c in row.get("components", []) if c.get("label") == label]
    return found


# /join.


async def test_join_welcomes_with_the_current_week_and_next_deadline_and_grants_the_role(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await create(sandbox, server, bot, role=server.cohort_role)
    ada = server.learners[0]

    reply = await join(sandbox, ada, cohort="spring")

    assert reply.content.splitlines() == [
        f"Welcome to **Spring** — {TITLE}!",
        f"It is in week 1 of 12. Next deadline: the week 1 checkpoint, {stamp(WEEK_2_OPENS)} "
        f"({stamp(WEEK_2_OPENS, 'R')}).",
        f"You now have the <@&{server.cohort_role.id}> role.",
        "Use /roadmap to read the current week.",
    ]
    assert server.cohort_role in ada.roles
    [membership] = await memberships(bot)
    assert (membership.user_id, membership.status) == (ada.id, MembershipStatus.ACTIVE)
    assert membership.joined_at == clock.now()
    assert membership.display_name == "ada"
    [view] = await bot.bot.cohorts.in_guild(server.guild.id)
    assert view.active_members == 1


async def test_join_before_the_start_says_when_it_starts(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create(sandbox, server, bot, start="2026-03-09")

    reply = await join(sandbox, server.learners[0])

    assert reply.content.splitlines()[1] == f"It starts {stamp(datetime(2026, 3, 9, 9, 0, tzinfo=UTC))}."


async def test_join_without_a_cohort_picks_the_servers_only_open_cohort(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot, name="Winter 2025", start="2025-12-01")
    await sandbox.slash("cohort end", cohort="Winter 2025")
    await create(sandbox, server, bot)

    reply = await join(sandbox, server.learners[0])

    assert reply.content.startswith("Welcome to **Spring**")
    spring = {v.name: v for v in await bot.bot.cohorts.in_guild(server.guild.id)}["Spring"]
    [membership] = await memberships(bot)
    assert membership.cohort_id == spring.id


async def test_join_without_a_cohort_is_refused_when_there_are_several_or_none(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    ada = server.learners[0]
    none = await sandbox.slash("join", user=ada)
    assert_refused(none, "There is no open cohort on this server yet", "A moderator can create one")

    await create(sandbox, server, bot)
    await create(sandbox, server, bot, name="Autumn")
    before = await db_rows(bot)
    several = await sandbox.slash("join", user=ada)
    assert_refused(several, "several cohorts", "'Spring'", "'Autumn'", "say which one with the `cohort` option")
    assert await db_rows(bot) == before


async def test_join_is_refused_twice_for_ended_and_unknown_cohorts_and_changes_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot, role=server.cohort_role)
    await create(sandbox, server, bot, name="Winter")
    await sandbox.slash("cohort end", cohort="Winter")
    ada = server.learners[0]
    await join(sandbox, ada, cohort="Spring")
    before = await db_rows(bot)
    requests_before = len(sandbox.requests_to("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"))

    twice = await sandbox.slash("join", user=ada, cohort="Spring")
    assert_refused(twice, "You are already in 'Spring'")
    ended = await sandbox.slash("join", user=ada, cohort="winter")
    assert_refused(ended, "Enrolment in 'Winter' has ended", "Ask a moderator which cohort to join")
    unknown = await sandbox.slash("join", user=ada, cohort="Summer")
    assert_refused(unknown, "There is no cohort named 'Summer' on this server", "Pick one from the suggestions")

    assert await db_rows(bot) == before
    roles_granted = sandbox.requests_to("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
    assert len(roles_granted) == requests_before


# /leave.


async def test_leave_asks_first_and_cancel_changes_nothing(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create(sandbox, server, bot, role=server.cohort_role)
    ada = server.learners[0]
    await join(sandbox, ada)
    before = await db_rows(bot)

    asked = await sandbox.slash("leave", user=ada)
    assert asked.ephemeral
    assert asked.content == "Leave **Spring**? You will stop getting its reminders. Your history is kept."
    assert not button(asked, "Leave").get("disabled") and not button(asked, "Cancel").get("disabled")
    assert await db_rows(bot) == before, "asking must not change anything yet"

    cancelled = await sandbox.click(asked, "Cancel", user=ada)
    assert cancelled.content == "Cancelled; nothing changed."
    assert button(cancelled, "Leave")["disabled"] and button(cancelled, "Cancel")["disabled"]
    assert await db_rows(bot) == before
    assert server.cohort_role in ada.roles


async def test_leave_confirmed_marks_the_membership_left_keeps_history_and_removes_the_role(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await create(sandbox, server, bot, role=server.cohort_role)
    ada, grace = server.learners[:2]
    await join(sandbox, ada)
    await join(sandbox, grace)
    joined_at = clock.now()
    clock.advance(timedelta(hours=2))

    left = await leave(sandbox, ada)

    assert left.content == "You left **Spring**. Your history is kept; /join brings you back."
    assert button(left, "Leave")["disabled"]
    rows = {m.user_id: m for m in await memberships(bot)}
    assert (rows[ada.id].status, rows[ada.id].left_at, rows[ada.id].joined_at) == (
        MembershipStatus.LEFT, clock.now(), joined_at,
    )
    assert rows[grace.id].status is MembershipStatus.ACTIVE
    # The role goes after the answer, so a slow role call can't fail the click.
    await sandbox.until(lambda: server.cohort_role not in ada.roles, what="the cohort role to be removed")
    assert server.cohort_role in grace.roles
    [view] = await bot.bot.cohorts.in_guild(server.guild.id)
    assert view.active_members == 1


async def test_rejoining_after_leaving_welcomes_back_on_the_same_membership(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await create(sandbox, server, bot, role=server.cohort_role)
    ada = server.learners[0]
    await join(sandbox, ada)
    await leave(sandbox, ada)
    clock.advance(timedelta(days=1))

    back = await join(sandbox, ada)

    assert back.content.startswith(f"Welcome back to **Spring** — {TITLE}!")
    [membership] = await memberships(bot)
    assert (membership.status, membership.left_at, membership.joined_at) == (
        MembershipStatus.ACTIVE, None, clock.now(),
    )
    assert server.cohort_role in ada.roles


async def test_leave_is_refused_for_cohorts_you_are_not_in(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    ada, grace = server.learners[:2]
    await create(sandbox, server, bot)
    await create(sandbox, server, bot, name="Autumn")
    await join(sandbox, grace, cohort="Spring")
    await join(sandbox, grace, cohort="Autumn")
    await join(sandbox, ada, cohort="Autumn")
    await leave(sandbox, ada)
    before = await db_rows(bot)

    nowhere = await sandbox.slash("leave", user=ada)
    assert_refused(nowhere, "You are not in any cohort on this server", "/join one first")
    not_mine = await sandbox.slash("leave", user=ada, cohort="Spring")
    assert_refused(not_mine, "You are not in 'Spring'", "Use /join to enrol")
    already_left = await sandbox.slash("leave", user=ada, cohort="Autumn")
    assert_refused(already_left, "You are not in 'Autumn'")
    unknown = await sandbox.slash("leave", user=ada, cohort="Summer")
    assert_refused(unknown, "There is no cohort named 'Summer'", "Pick one from the suggestions")
    several = await sandbox.slash("leave", user=grace)
    assert_refused(several, "You are in several cohorts", "'Spring'", "'Autumn'", "say which one")
    for reply in (nowhere, not_mine, already_left, unknown, several):
        assert not reply.components, "a refusal offers no buttons"
    assert await db_rows(bot) == before


async def test_only_the_learner_who_asked_can_press_leave_or_cancel(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot, role=server.cohort_role)
    ada, grace = server.learners[:2]
    await join(sandbox, ada)
    await join(sandbox, grace)
    asked = await sandbox.slash("leave", user=ada)
    before = await db_rows(bot)

    # Discord shows an ephemeral message to its owner only (the sandbox's click() enforces that), so the
    # press by someone else is hand-written: the bot's own guard must still refuse it.
    for label in ("Leave", "Cancel"):
        reply = await sandbox.interact({
            "type": 3,
            "context": 0,
            "guild_id": str(server.guild.id),
            "member": payloads.member(grace, channel=server.cohort_channel),
            "data": {"custom_id": button(asked, label)["custom_id"], "component_type": 2},
            "message": payloads.message(asked.message),
        })
        assert_refused(reply, "These buttons are for someone else")

    assert await db_rows(bot) == before
    assert server.cohort_role in ada.roles and server.cohort_role in grace.roles
    assert not button(asked, "Leave").get("disabled")
    left = await sandbox.click(asked, "Leave", user=ada)
    assert left.content.startswith("You left **Spring**")


# /roadmap.


async def test_roadmap_shows_the_current_week_by_default(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create(sandbox, server, bot)
    ada = server.learners[0]
    await join(sandbox, ada)

    reply = await sandbox.slash("roadmap", user=ada)

    assert reply.ephemeral and reply.content == "**Spring**"
    assert reply.embeds[0]["title"] == WEEK_1
    assert f"Checkpoint due <t:{int(WEEK_2_OPENS.timestamp())}:F>" in reply.embeds[0]["description"]
    fields = [f["name"] for embed in [reply.embeds[0], *(e for m in reply.followups for e in m.embeds)]
              for f in embed.get("fields", [])]
    assert "Checkpoint project" in fields
    explicit = await sandbox.slash("roadmap", user=ada, week=1, cohort="SPRING")
    assert explicit.embeds[0]["title"] == WEEK_1


async def test_roadmap_hides_weeks_not_yet_open_from_learners_but_shows_them_to_moderators(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot)
    ada = server.learners[0]
    await join(sandbox, ada)

    hidden = await sandbox.slash("roadmap", user=ada, week=2)
    assert_refused(hidden, "Week 2 of 'Spring' is not open yet.", f"It opens {stamp(WEEK_2_OPENS)}.")
    assert not hidden.embeds

    shown = await sandbox.slash("roadmap", user=server.moderator, week=2)
    assert shown.ephemeral and shown.content == "**Spring** (not open to learners yet)"
    assert shown.embeds[0]["title"].startswith("Week 2 · ")


async def test_roadmap_refuses_weeks_out_of_range(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create(sandbox, server, bot)
    for who in (server.learners[0], server.moderator):
        reply = await sandbox.slash("roadmap", user=who, week=13)
        assert_refused(reply, f"'{TITLE}' has weeks 1-12; there is no week 13")
        assert not reply.embeds


async def test_roadmap_before_the_start_says_when_week_1_opens(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot, start="2026-03-09")
    opens = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

    learner = await sandbox.slash("roadmap", user=server.learners[0])
    assert_refused(learner, "'Spring' has not started yet.", f"Week 1 opens {stamp(opens)}.")
    week_1 = await sandbox.slash("roadmap", user=server.learners[0], week=1)
    assert_refused(week_1, "Week 1 of 'Spring' is not open yet.", f"It opens {stamp(opens)}.")

    moderator = await sandbox.slash("roadmap", user=server.moderator)
    assert moderator.content == "**Spring** (not open to learners yet)"
    assert moderator.embeds[0]["title"] == WEEK_1


async def test_roadmap_without_a_cohort_uses_yours_and_asks_when_it_cannot_tell(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot)
    await create(sandbox, server, bot, name="Autumn", start="2026-03-09")
    ada, grace = server.learners[:2]
    await join(sandbox, ada, cohort="Spring")

    mine = await sandbox.slash("roadmap", user=ada)
    assert mine.content == "**Spring**" and mine.embeds[0]["title"] == WEEK_1

    unsure = await sandbox.slash("roadmap", user=grace)
    assert_refused(unsure, "several cohorts", "'Spring'", "'Autumn'", "say which one with the `cohort` option")
    unknown = await sandbox.slash("roadmap", user=grace, cohort="Summer")
    assert_refused(unknown, "There is no cohort named 'Summer'", "Pick one from the suggestions")
