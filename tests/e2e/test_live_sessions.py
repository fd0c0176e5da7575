"""Live sessions: /cohort session add|list|remove, and their Discord scheduled events kept by the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import Delivery, DeliveryState
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Channel, Perm, Sandbox
from bot.sandbox.events import CANCELLED, EXTERNAL, VOICE, ScheduledEvent
from bot.sandbox.payloads import channel as channel_payload
from bot.services.live_sessions import MAX_SESSIONS_PER_COHORT
from bot.services.session_events import SESSION_EVENT
from tests.e2e.helpers import assert_refused, create_cohort, db_rows, role_changed

EVENTS = int(Perm.MANAGE_EVENTS | Perm.CONNECT)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def voice(server: StudyServer) -> Channel:
    return server.guild.add_voice_channel("study-room")


@pytest.fixture(autouse=True)
def events_follow_the_clock(sandbox: Sandbox, clock: ManualClock, server: StudyServer) -> None:
    """Discord checks event times against its own clock: here the test's."""
    sandbox.events.now = clock.now
    role = server.guild.bot_role
    role.permissions |= EVENTS


def events(sandbox: Sandbox, server: StudyServer) -> list[ScheduledEvent]:
    return sandbox.events.in_guild(server.guild)


async def sweep(bot: RunningBot) -> None:
    await bot.bot.runner.settle()
    await bot.bot.runner.run_due()


async def one_event(sandbox: Sandbox, server: StudyServer, bot: RunningBot, voice: Channel) -> ScheduledEvent:
    """A cohort with one session in `voice`, swept once: its single event."""
    await create_cohort(sandbox, server)
    await add(sandbox, server, channel=voice)
    await sweep(bot)
    [event] = events(sandbox, server)
    return event


async def add(sandbox: Sandbox, server: StudyServer, **values: object):
    options = {"cohort": "Spring", "title": "Office hours", "weekday": "thursday", "time": "18:00", "minutes": 60}
    options |= values
    return await sandbox.slash("cohort session add", user=server.moderator, options=options)


async def test_a_session_in_a_voice_channel_becomes_one_event_at_its_next_meeting(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    await create_cohort(sandbox, server)
    reply = await add(sandbox, server, channel=voice)
    assert reply.ephemeral and "Added to **Spring**: **Office hours** — Thursdays 18:00 UTC, 60 min" in reply.content
    await sweep(bot)
    await sweep(bot)

    [event] = events(sandbox, server)
    assert (event.entity_type, event.channel_id) == (VOICE, voice.id)
    assert (event.start, event.end) == (utc(2026, 3, 5, 18), utc(2026, 3, 5, 19))
    assert event.name == "Office hours · Spring week 1"
    assert f"<#{server.cohort_channel.id}>" in (event.description or "")


async def test_the_event_is_created_once_across_sweeps_and_restarts(
    sandbox: Sandbox, server: StudyServer, voice: Channel, launch, clock: ManualClock
):
    bot = await launch()
    await create_cohort(sandbox, server)
    await add(sandbox, server, channel=voice)
    for _ in range(3):
        await sweep(bot)
    await bot.stop()
    again = await launch()
    await sweep(again)

    assert len(events(sandbox, server)) == 1
    assert len(sandbox.requests_to("POST", "/guilds/{guild_id}/scheduled-events")) == 1


async def test_an_event_cut_off_mid_create_is_found_after_a_restart_not_made_twice(
    sandbox: Sandbox, server: StudyServer, voice: Channel, launch, clock: ManualClock
):
    bot = await launch()
    await create_cohort(sandbox, server)
    await add(sandbox, server, channel=voice)
    await bot.bot.runner.settle()
    await sweep(bot)
    # The bot stopped between Discord creating the event and the ledger recording it.
    [event] = events(sandbox, server)
    async with bot.bot.sessions.begin() as session:
        row = await session.scalar(select(Delivery).where(Delivery.kind == SESSION_EVENT))
        row.state, row.message_id = DeliveryState.CLAIMED, None
    await bot.stop()
    again = await launch()
    await sweep(again)

    assert events(sandbox, server) == [event]
    assert len(sandbox.requests_to("POST", "/guilds/{guild_id}/scheduled-events")) == 1


async def test_a_session_at_a_location_is_an_external_event_with_an_end(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create_cohort(sandbox, server)
    await add(sandbox, server, location="https://meet.example.org/spring", weekday="Tue", time="07:30", minutes=45)
    await sweep(bot)

    [event] = events(sandbox, server)
    assert (event.entity_type, event.channel_id, event.location) == (EXTERNAL, None, "https://meet.example.org/spring")
    assert (event.start, event.end) == (utc(2026, 3, 3, 7, 30), utc(2026, 3, 3, 8, 15))


async def test_a_berlin_session_keeps_its_local_hour_across_the_dst_change(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await create_cohort(sandbox, server, start="2026-03-16", timezone="Europe/Berlin")
    clock.set(utc(2026, 3, 26, 18))  # just after Thursday's 18:30 CET meeting, before the change on the 29th
    await add(sandbox, server, time="18:30")
    await sweep(bot)

    [event] = events(sandbox, server)
    assert (event.start, event.end) == (utc(2026, 4, 2, 16, 30), utc(2026, 4, 2, 17, 30)), "18:30 CEST"


async def test_list_shows_each_session_with_its_next_meeting(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create_cohort(sandbox, server)
    await add(sandbox, server)
    await add(sandbox, server, title="Paper reading", weekday="monday", time="17:00", minutes=90)

    reply = await sandbox.slash("cohort session list", user=server.moderator, cohort="Spring")
    assert reply.ephemeral
    lines = reply.content.splitlines()
    assert lines[0].startswith("• **Office hours** — Thursdays 18:00 UTC, 60 min")
    assert f"next <t:{int(utc(2026, 3, 5, 18).timestamp())}:F> (week 1)" in lines[0]
    assert lines[1].startswith("• **Paper reading** — Mondays 17:00 UTC, 90 min")
    assert f"next <t:{int(utc(2026, 3, 2, 17).timestamp())}:F> (week 1)" in lines[1]


async def test_a_pause_moves_the_event_and_a_resume_keeps_it_there(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot, clock: ManualClock
):
    await create_cohort(sandbox, server)
    clock.set(utc(2026, 3, 6, 10))  # Friday of week 1: the next meeting is week 2's, Thursday 12 March
    await add(sandbox, server, channel=voice)
    await sweep(bot)
    [event] = events(sandbox, server)
    assert event.start == utc(2026, 3, 12, 18)
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")

    clock.set(utc(2026, 3, 13, 10))  # a week of pause: week 2 can open today at the earliest
    await sweep(bot)
    assert events(sandbox, server) == [event]
    assert (event.start, event.end, event.edits) == (utc(2026, 3, 19, 18), utc(2026, 3, 19, 19), 1)

    await sandbox.slash("cohort resume", user=server.moderator, cohort="Spring")
    await sweep(bot)
    assert events(sandbox, server) == [event] and event.start == utc(2026, 3, 19, 18) and event.edits == 1


async def test_an_advance_moves_the_event_to_the_next_meeting(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot, clock: ManualClock
):
    await create_cohort(sandbox, server)
    clock.set(utc(2026, 3, 3, 10))  # Tuesday of week 1: the next meeting is week 2's, Monday 9 March
    await add(sandbox, server, channel=voice, weekday="monday", time="17:00")
    await sweep(bot)
    [event] = events(sandbox, server)
    assert (event.name, event.start) == ("Office hours · Spring week 2", utc(2026, 3, 9, 17))
    await sandbox.slash("cohort advance", user=server.moderator, cohort="Spring", to_week=3)
    await sweep(bot)

    # Weeks 2 and 3 opened today (a Tuesday): week 2 has no Monday left, week 3 meets on 9 March.
    assert events(sandbox, server) == [event] and event.edits == 1
    assert (event.name, event.start) == ("Office hours · Spring week 3", utc(2026, 3, 9, 17))
    await sweep(bot)
    assert events(sandbox, server) == [event] and event.edits == 1
    assert len(sandbox.requests_to("POST", "/guilds/{guild_id}/scheduled-events")) == 1


async def test_end_cancels_the_event_and_nothing_is_made_again(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    event = await one_event(sandbox, server, bot, voice)
    await sandbox.slash("cohort end", user=server.moderator, cohort="Spring")
    await sweep(bot)
    await sweep(bot)

    assert event.status == CANCELLED and events(sandbox, server) == []
    assert len(sandbox.requests_to("POST", "/guilds/{guild_id}/scheduled-events")) == 1


async def test_remove_cancels_the_sessions_event(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    await create_cohort(sandbox, server)
    await add(sandbox, server, channel=voice)
    await add(sandbox, server, title="Paper reading", weekday="monday", time="17:00", minutes=90)
    await sweep(bot)
    office, reading = sorted(events(sandbox, server), key=lambda e: e.name)
    [choice] = await sandbox.autocomplete(
        "cohort session remove", "session", "office", user=server.moderator, cohort="Spring"
    )
    assert choice["name"] == "Office hours · Thursday 18:00"
    reply = await sandbox.slash(
        "cohort session remove", user=server.moderator, cohort="Spring", session=choice["value"]
    )
    assert reply.ephemeral and "Removed **Office hours** from **Spring**" in reply.content
    await sweep(bot)

    assert office.status == CANCELLED and events(sandbox, server) == [reading]
    listing = await sandbox.slash("cohort session list", user=server.moderator, cohort="Spring")
    assert "Office hours" not in listing.content and "Paper reading" in listing.content


async def test_an_event_deleted_by_hand_is_made_again(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    event = await one_event(sandbox, server, bot, voice)
    sandbox.events.remove(event)
    await sweep(bot)

    [again] = events(sandbox, server)
    assert again.id != event.id and again.start == event.start
    await sweep(bot)
    assert events(sandbox, server) == [again]


async def test_an_event_discord_refuses_is_retried_and_the_moderators_told_once(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot, clock: ManualClock
):
    await create_cohort(sandbox, server)
    await bot.bot.runner.settle()
    sandbox.fail_next("POST", "/guilds/{guild_id}/scheduled-events", times=3, status=400, code=50035)
    await add(sandbox, server, channel=voice)
    for _ in range(3):
        await sweep(bot)
        clock.advance(timedelta(minutes=5))  # past the back-off (1, 2, 4 minutes)
    await sweep(bot)

    told = [m.content for m in sandbox.messages_in(server.review_channel) if "Discord event" in m.content]
    assert len(told) == 1 and "I could not create the Discord event for 'Office hours' of 'Spring'" in told[0]
    assert len(events(sandbox, server)) == 1
    assert len(sandbox.requests_to("POST", "/guilds/{guild_id}/scheduled-events")) == 4


async def test_an_event_moved_by_hand_is_put_back(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    event = await one_event(sandbox, server, bot, voice)
    start = event.start
    event.start += timedelta(hours=2)  # a moderator dragged it in Discord
    await sweep(bot)

    assert events(sandbox, server) == [event] and event.start == start and event.edits == 1


async def test_losing_manage_events_tells_the_moderators_once_and_sessions_resume_when_it_returns(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    await create_cohort(sandbox, server)
    await add(sandbox, server, channel=voice)
    role = server.guild.bot_role
    await role_changed(sandbox, bot, role, permissions=role.permissions & ~Perm.MANAGE_EVENTS)
    # The run /session add started may have passed its permission check before the change reached the bot.
    await bot.bot.runner.settle()
    tried = len(sandbox.requests_to("POST", "/guilds/{guild_id}/scheduled-events"))
    assert tried <= 1
    for _ in range(3):
        await sweep(bot)

    told = [m.content for m in sandbox.messages_in(server.review_channel) if "Manage Events" in m.content]
    assert told == [
        "I can no longer keep the live sessions of 'Spring' as Discord events: I am missing the Manage Events "
        "(or Create Events) permission. Give it back to my role in Server Settings → Roles; the events catch up then."
    ]
    assert events(sandbox, server) == []
    assert len(sandbox.requests_to("POST", "/guilds/{guild_id}/scheduled-events")) == tried, "it knows: it stops trying"

    await role_changed(sandbox, bot, role, permissions=role.permissions | Perm.CREATE_EVENTS)
    await sweep(bot)
    assert len(events(sandbox, server)) == 1

    await role_changed(sandbox, bot, role, permissions=role.permissions & ~Perm.CREATE_EVENTS)
    await sweep(bot)
    told = [m for m in sandbox.messages_in(server.review_channel) if "Manage Events" in m.content]
    assert len(told) == 2, "a second loss is told again"


async def test_an_event_refused_before_the_bot_saw_the_permission_go_is_made_once_it_is_back(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    await create_cohort(sandbox, server)
    role = server.guild.bot_role
    role.permissions &= ~Perm.MANAGE_EVENTS  # Discord has the change; the bot's copy of the role not yet
    await add(sandbox, server, channel=voice)
    await bot.bot.runner.settle()
    [refused] = sandbox.requests_to("POST", "/guilds/{guild_id}/scheduled-events")
    assert refused.status == 403
    await role_changed(sandbox, bot, role, permissions=role.permissions)  # now the bot sees it
    await sweep(bot)
    await role_changed(sandbox, bot, role, permissions=role.permissions | Perm.MANAGE_EVENTS)
    await sweep(bot)

    assert len(events(sandbox, server)) == 1, "no backoff is waited out once the permission is back"


async def test_the_daily_reminder_mentions_a_session_that_day(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await create_cohort(sandbox, server)
    ada = server.learners[0]
    await sandbox.slash("join", user=ada)
    await add(sandbox, server)
    clock.set(utc(2026, 3, 4, 18, 1))  # Wednesday: no session
    await bot.bot.reminders.run_due()
    clock.set(utc(2026, 3, 5, 18, 1))  # Thursday, the learner's default reminder hour 18:00 UTC
    await bot.bot.reminders.run_due()

    wednesday, thursday = [m.content for m in sandbox.dms_to(ada) if "Daily reminder" in m.content]
    assert "Live today" not in wednesday
    assert f"Live today: **Office hours** at <t:{int(utc(2026, 3, 5, 18).timestamp())}:t>." in thursday


# Refusals: each is ephemeral, says what to do, and changes nothing.


@pytest.mark.parametrize(
    ("values", "phrases"),
    [
        ({"cohort": "Autumn"}, ["There is no cohort named 'Autumn'"]),
        ({"weekday": "someday"}, ["'someday' is not a day of the week", "Monday or Thu"]),
        ({"time": "25:00"}, ["'25:00' is not a time of day", "HH:MM"]),
        ({"minutes": 4}, ["A session lasts 5 to 600 minutes; 4 is outside that."]),
        ({"minutes": 601}, ["A session lasts 5 to 600 minutes; 601 is outside that."]),
        ({"title": "x" * 101}, ["A session title can be at most 100 characters; this one has 101."]),
        ({"location": "y" * 101}, ["A location can be at most 100 characters", "this one has 101"]),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, values: dict, phrases: list[str]
):
    await create_cohort(sandbox, server)
    before = await db_rows(bot)
    assert_refused(await add(sandbox, server, **values), *phrases)
    assert await db_rows(bot) == before


async def test_a_text_channel_is_refused(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create_cohort(sandbox, server)
    before = await db_rows(bot)
    reply = await add(sandbox, server, channel=server.cohort_channel)
    assert_refused(reply, f"<#{server.cohort_channel.id}> is not a voice or stage channel", "give a location")
    assert await db_rows(bot) == before


async def test_a_channel_and_a_location_together_are_refused(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    await create_cohort(sandbox, server)
    before = await db_rows(bot)
    assert_refused(await add(sandbox, server, channel=voice, location="Room 4"), "give only one of them")
    assert await db_rows(bot) == before


async def test_a_voice_channel_the_bot_cannot_join_is_refused(
    sandbox: Sandbox, server: StudyServer, voice: Channel, bot: RunningBot
):
    await create_cohort(sandbox, server)
    voice.set_overwrite(server.guild.bot_member, deny=Perm.CONNECT)
    # The bot learns of the overwrite as Discord would tell it.
    await sandbox.dispatch("CHANNEL_UPDATE", channel_payload(voice))
    before = await db_rows(bot)
    assert_refused(await add(sandbox, server, channel=voice), "I need View Channel and Connect in", "pick another")
    assert await db_rows(bot) == before


async def test_without_manage_events_session_add_says_what_to_grant(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create_cohort(sandbox, server)
    role = server.guild.bot_role
    await role_changed(sandbox, bot, role, permissions=role.permissions & ~Perm.MANAGE_EVENTS)
    before = await db_rows(bot)
    assert_refused(await add(sandbox, server), "I need the Manage Events (or Create Events) permission",
                   "Server Settings → Roles")
    assert await db_rows(bot) == before


async def test_a_cohort_has_at_most_ten_sessions(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create_cohort(sandbox, server)
    for number in range(MAX_SESSIONS_PER_COHORT):
        reply = await add(sandbox, server, title=f"Session {number}")
        assert reply.content.startswith("Added"), reply.content
    before = await db_rows(bot)
    assert_refused(await add(sandbox, server, title="One more"), "already has 10 live sessions",
                   "/cohort session remove")
    assert await db_rows(bot) == before


async def test_only_moderators_manage_sessions(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create_cohort(sandbox, server)
    before = await db_rows(bot)
    reply = await sandbox.slash(
        "cohort session add", user=server.learners[0],
        options={"cohort": "Spring", "title": "Mine", "weekday": "monday", "time": "10:00", "minutes": 30},
    )
    assert_refused(reply, "Only moderators can do that")
    assert await db_rows(bot) == before


async def test_removing_an_unknown_session_is_refused(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create_cohort(sandbox, server)
    assert_refused(
        await sandbox.slash("cohort session remove", user=server.moderator, cohort="Spring", session="Nope"),
        "'Spring' has no live session 'Nope'", "/cohort session list",
    )
