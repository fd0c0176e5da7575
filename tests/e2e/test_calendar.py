"""/calendar: an .ics file parsed back with icalendar, checked instant by instant across DST, pauses and extensions."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from bot.clock import ManualClock
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Perm, Reply, Sandbox
from tests.e2e.helpers import assert_refused, create_cohort

BERLIN = ZoneInfo("Europe/Berlin")
LONG_ROADMAP = "ai-ml-career-paths"
"""52 weeks: a cohort starting in March crosses both of 2026's daylight-saving changes."""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def may_manage_events(server: StudyServer) -> None:
    server.guild.bot_role.permissions |= int(Perm.MANAGE_EVENTS)


def parsed(reply: Reply) -> Calendar:
    [attachment] = reply.attachments
    assert attachment.filename.endswith(".ics")
    return Calendar.from_ical(attachment.data)


def by_uid(calendar: Calendar) -> dict[str, object]:
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def starts(calendar: Calendar, part: str) -> dict[str, datetime]:
    return {uid: event.decoded("dtstart") for uid, event in by_uid(calendar).items() if part in uid}


async def berlin_cohort(sandbox: Sandbox, server: StudyServer, clock: ManualClock) -> None:
    clock.set(utc(2026, 3, 10, 12))
    await create_cohort(sandbox, server, roadmap=LONG_ROADMAP, start="2026-03-16", timezone="Europe/Berlin")


async def test_a_berlin_cohort_keeps_its_local_times_across_both_dst_changes(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await berlin_cohort(sandbox, server, clock)
    await sandbox.slash(
        "cohort session add", user=server.moderator,
        options={"cohort": "Spring", "title": "Office hours", "weekday": "thursday", "time": "18:30", "minutes": 60},
    )
    ada = server.learners[0]
    await sandbox.slash("join", user=ada)
    reply = await sandbox.slash("calendar", user=ada)
    assert reply.ephemeral and "Calendar of **Spring** for you (your own deadlines)" in reply.content
    calendar = parsed(reply)

    [zone] = calendar.walk("VTIMEZONE")
    assert zone["tzid"] == "Europe/Berlin"
    openings = starts(calendar, "-week-")
    sessions = {uid: at for uid, at in openings.items() if "-session-" in uid}
    openings = {uid: at for uid, at in openings.items() if "-session-" not in uid}
    assert len(sessions) == 52 and len(openings) == 13
    for at in [*openings.values(), *sessions.values()]:
        assert at.tzinfo is not None and str(at.tzinfo) == "Europe/Berlin", "local time with its TZID"
    for uid, at in openings.items():
        assert at.time() == time(9, 0), uid
    # The instants: 09:00 is 08:00 UTC in winter and 07:00 UTC in summer time.
    first = openings[next(uid for uid in openings if "-week-1@" in uid)]
    assert first.astimezone(UTC) == utc(2026, 3, 16, 8)
    by_week = {int(uid.split("-week-")[1].split("@")[0]): at for uid, at in sessions.items()}
    assert by_week[1].astimezone(UTC) == utc(2026, 3, 19, 17, 30)  # CET, before 29 March
    assert by_week[2].astimezone(UTC) == utc(2026, 3, 26, 17, 30)
    assert by_week[3].astimezone(UTC) == utc(2026, 4, 2, 16, 30)  # CEST after the spring change
    assert by_week[32].astimezone(UTC) == utc(2026, 10, 22, 16, 30)  # still CEST
    assert by_week[33].astimezone(UTC) == utc(2026, 10, 29, 17, 30)  # CET after 25 October
    for week, at in by_week.items():
        assert at.astimezone(BERLIN).time() == time(18, 30) and at.weekday() == 3, week
        assert at + timedelta(hours=1) == calendar_end(calendar, "-session-", week)


def calendar_end(calendar: Calendar, part: str, week: int) -> datetime:
    [event] = [e for uid, e in by_uid(calendar).items() if part in uid and f"-week-{week}@" in uid]
    return event.decoded("dtend")


async def test_every_event_has_a_stable_uid_and_links_back_to_the_channel(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await berlin_cohort(sandbox, server, clock)
    ada = server.learners[0]
    await sandbox.slash("join", user=ada)
    first = parsed(await sandbox.slash("calendar", user=ada))
    clock.set(utc(2026, 3, 20, 12))
    second = parsed(await sandbox.slash("calendar", user=ada))

    assert set(by_uid(first)) == set(by_uid(second)), "a newer file updates the same events"
    url = f"https://discord.com/channels/{server.guild.id}/{server.cohort_channel.id}"
    for event in first.walk("VEVENT"):
        assert str(event["url"]) == url
        assert url in str(event["description"])


async def test_an_extension_moves_only_that_learners_deadline(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await berlin_cohort(sandbox, server, clock)
    ada, grace = server.learners[:2]
    for learner in (ada, grace):
        await sandbox.slash("join", user=learner)
    before = starts(parsed(await sandbox.slash("calendar", user=ada)), "-checkpoint-")
    await sandbox.slash("cohort extend", user=server.moderator, cohort="Spring", member=ada, week=1, days=3)

    mine = by_uid(parsed(await sandbox.slash("calendar", user=ada)))
    theirs = starts(parsed(await sandbox.slash("calendar", user=grace)), "-checkpoint-")
    [uid] = [uid for uid in before if "-checkpoint-1@" in uid]
    assert mine[uid].decoded("dtstart") == before[uid] + timedelta(days=3)
    assert "extended by 3 days" in str(mine[uid]["summary"])
    assert int(mine[uid]["sequence"]) > 0
    assert theirs == before


async def test_a_pause_shows_up_in_the_next_file(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await berlin_cohort(sandbox, server, clock)
    ada = server.learners[0]
    await sandbox.slash("join", user=ada)
    clock.set(utc(2026, 3, 17, 12))
    before = starts(parsed(await sandbox.slash("calendar", user=ada)), "-week-")
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
    clock.set(utc(2026, 3, 21, 12))
    await sandbox.slash("cohort resume", user=server.moderator, cohort="Spring")

    after = starts(parsed(await sandbox.slash("calendar", user=ada)), "-week-")
    [week_one] = [uid for uid in before if "-week-1@" in uid]
    assert after[week_one] == before[week_one], "an opening in the past stays"
    later = [uid for uid in before if uid != week_one]
    assert later and all(after[uid] == before[uid] + timedelta(days=4) for uid in later)
    assert all(after[uid].astimezone(BERLIN).time() == time(9, 0) for uid in later)


async def test_moderators_get_the_whole_cohort_with_every_extension(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await berlin_cohort(sandbox, server, clock)
    ada = server.learners[0]
    await sandbox.slash("join", user=ada)
    await sandbox.slash("cohort extend", user=server.moderator, cohort="Spring", member=ada, week=1, days=2)

    reply = await sandbox.slash("calendar", user=server.moderator, cohort="Spring")
    assert reply.ephemeral and "for the whole cohort" in reply.content
    events = by_uid(parsed(reply))
    [extended] = [e for uid, e in events.items() if f"-member-{ada.id}@" in uid]
    assert str(extended["summary"]) == "Spring: ada's Weeks 1-3 checkpoint due (extended by 2 days)"
    [cohort_deadline] = [e for uid, e in events.items() if uid.startswith("cohort-") and "-checkpoint-1@" in uid]
    assert extended.decoded("dtstart") == cohort_deadline.decoded("dtstart") + timedelta(days=2)


async def test_a_learner_in_no_cohort_is_told_to_join(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create_cohort(sandbox, server)
    assert_refused(await sandbox.slash("calendar", user=server.learners[0]), "not in any cohort", "/join")


async def test_a_learner_asking_for_a_cohort_they_are_not_in_is_refused(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create_cohort(sandbox, server)
    assert_refused(
        await sandbox.slash("calendar", user=server.learners[0], cohort="Spring"), "not in 'Spring'", "/join"
    )
