"""Hostile roadmap uploads, the upload quota, the stored-version cap and /cohort remove-roadmap, through the sandbox."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.db.models import RoadmapVersion
from bot.harness import RunningBot, StudyServer
from bot.roadmap_worker import RoadmapChecker
from bot.sandbox import Perm, Reply, Sandbox, SandboxFile
from bot.services.catalog import MAX_STORED_VERSIONS
from tests.e2e.helpers import (
    ROADMAP,
    START,
    UPLOAD_ID,
    Launcher,
    assert_refused,
    db_rows,
    reply_text,
    uploaded_yaml,
)

HOG_SECONDS = 4


def burn_cpu(data: bytes, source: str) -> None:
    """A check that never ends by itself: pure-Python work holding the GIL, as a hostile file's parse would."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        pass


def hog_checker() -> RoadmapChecker:
    return RoadmapChecker(check=burn_cpu, timeout=HOG_SECONDS)


def head(roadmap_id: str = "hostile") -> str:
    return f'id: {roadmap_id}\ntitle: "Hostile"\nsummary: "Built to hurt."\nphases: [{{key: p, title: "P"}}]\n'


def module(week: int, extra: str = "") -> str:
    return f'  - {{week: {week}, title: "M{week}", phase: p, checkpoint: {{title: "C{week}"}}{extra}}}\n'


def alias_laughs() -> bytes:
    """2 KB whose aliases expand to 2 billion characters in fields the schema validates."""
    details = "&d [" + ", ".join([f'&s "{"x " * 500}"'] + ["*s"] * 99) + "]"
    materials = "&ms [" + ", ".join([f'&m {{title: "M", details: {details}}}'] + ["*m"] * 99) + "]"
    rest = "".join(module(week, ", materials: *ms") for week in range(2, 201))
    return (head() + "modules:\n" + module(1, f", materials: {materials}") + rest).encode()


def long_week_post() -> bytes:
    """A week 1 of 40 long materials through one alias: the issue's many-message post."""
    material = f'&m {{title: "{"x" * 1900}", url: "https://example.com/{"p" * 100}"}}'
    materials = "[" + ", ".join([material] + ["*m"] * 39) + "]"
    return (head() + "modules:\n" + module(1, f", materials: {materials}")).encode()


def many_problems() -> bytes:
    broken = "".join(module(week, ', weeks: 0, hours: "soon"') for week in range(1, 201))
    return (head() + "modules:\n" + broken).encode()


async def upload(sandbox: Sandbox, name: str, data: bytes, **where: object) -> Reply:
    return await sandbox.slash("cohort import-roadmap", file=SandboxFile(name, data), **where)


def retry_stamp(at) -> str:
    return f"Try again <t:{int(at.timestamp())}:R>"


# Hostile files.


async def test_a_hostile_upload_is_stopped_while_another_server_keeps_answering(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, monkeypatch: pytest.MonkeyPatch
):
    other = server.world.add_guild("Other Club", channels=("club-hall",))
    otto = other.add_member("otto", permissions=Perm.MANAGE_GUILD)
    lena = other.add_member("lena")
    hall = other.text_channels[0]
    # The worker runs a check that burns CPU until its time limit, as the slowest hostile file would.
    monkeypatch.setattr("bot.wiring.RoadmapChecker", hog_checker)
    await launch()
    created = await sandbox.slash(
        "cohort create", user=otto, channel=hall, name="Club", roadmap=ROADMAP, start="2026-03-02",
        options={"channel": hall},
    )
    assert created.content.startswith("Created **Club**"), created
    await sandbox.slash("join", user=lena, channel=hall)

    hostile = await sandbox.slash(
        "cohort import-roadmap", file=SandboxFile("hog.yaml", uploaded_yaml()), wait=False
    )
    await hostile.wait(settle=False)
    assert hostile.deferred, "the upload is acknowledged before the file is checked"
    # Every answer below must come within Discord's 3 seconds (the sandbox enforces it, here as on Discord): the
    # check burning CPU in the worker holds nothing the bot's event loop needs.
    window, sandbox.interaction_deadline = sandbox.interaction_deadline, 3.0
    for minutes in (10, 20, 30):
        checkin = await sandbox.slash("checkin", user=lena, channel=hall, minutes=minutes)
        assert (checkin.content or "").startswith("Checked in for") and f"{minutes} minutes" in checkin.content
    sandbox.interaction_deadline = window
    again = await upload(sandbox, "second.yaml", uploaded_yaml())
    assert_refused(again, "A roadmap upload from this server is still being checked; wait for its answer first.")

    await hostile.wait(within=HOG_SECONDS + 20)
    assert_refused(hostile, f"hog.yaml: took more than {HOG_SECONDS} seconds to check, so it was refused")
    # The stopped worker is replaced: the next upload is checked (here, by the same CPU hog) again.
    retried = await upload(sandbox, "hog.yaml", uploaded_yaml(), wait=False)
    await retried.wait(within=HOG_SECONDS + 20)
    assert_refused(retried, f"hog.yaml: took more than {HOG_SECONDS} seconds to check")


async def test_hostile_files_are_refused_with_their_first_problem_and_change_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    before = await db_rows(bot)
    before.pop("quota_uses")
    cases = [
        ("laughs.yaml", alias_laughs(), "laughs.yaml: line 6: holds more than 1,000,000 characters of text once its "
         "aliases are expanded; a roadmap may hold at most that"),
        ("long.yaml", long_week_post(), "long.yaml: modules[0]: its week post would take 16 messages; a week post "
         "may take at most 10 (shorten its materials, objectives, practice or checkpoint)"),
        ("deep.yaml", (head() + "appendix: " + "[" * 60 + "]" * 60 + "\n").encode(),
         "deep.yaml: line 5: nested more than 50 levels deep (aliases included); flatten it"),
    ]
    for name, data, problem in cases:
        reply = await upload(sandbox, name, data)
        assert_refused(reply, problem)
        assert reply_text(reply) == problem
    reply = await upload(sandbox, "problems.yaml", many_problems())
    lines = reply_text(reply).splitlines()
    assert lines[0] == "problems.yaml: modules[0].weeks: Input should be greater than or equal to 1"
    assert lines[-1] == "…and 380 more" and len(lines) == 21
    after = await db_rows(bot)
    assert len(after.pop("quota_uses")) == 4
    assert after == before


# The upload quota and the stored-version cap.


async def test_a_server_may_upload_ten_files_an_hour_refused_or_not(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    for n in range(9):
        clock.set(START + timedelta(minutes=n))
        assert_refused(await upload(sandbox, f"broken{n}.yaml", b"id: [unclosed\n"), "not valid YAML")
    clock.set(START + timedelta(minutes=30))
    accepted = await upload(sandbox, "track.yaml", uploaded_yaml())
    assert f"as `{UPLOAD_ID}` version 1." in reply_text(accepted), accepted
    before = await db_rows(bot)

    refused = await upload(sandbox, "track.yaml", uploaded_yaml(title="Changed"))
    assert_refused(
        refused,
        "This server has uploaded 10 roadmap files in the last hour, the most it may. "
        f"{retry_stamp(START + timedelta(hours=1))}",
    )
    assert await db_rows(bot) == before
    # Another server has its own quota.
    other = server.world.add_guild("Other Club", channels=("club-hall",))
    otto = other.add_member("otto", permissions=Perm.MANAGE_GUILD)
    await sandbox.add_bot_to(other)
    theirs = await upload(sandbox, "t.yaml", uploaded_yaml(), user=otto, channel=other.text_channels[0])
    assert f"as `{UPLOAD_ID}` version 1." in reply_text(theirs), theirs

    clock.set(START + timedelta(hours=1))
    later = await upload(sandbox, "track.yaml", uploaded_yaml(title="Changed"))
    assert f"Imported **Changed** as `{UPLOAD_ID}` version 2." in reply_text(later), later


async def store_versions(bot: RunningBot, server: StudyServer, count: int) -> None:
    async with bot.bot.sessions.begin() as session:
        for version in range(1, count + 1):
            text = uploaded_yaml(title=f"Track v{version}").decode()
            session.add(
                RoadmapVersion(
                    guild_id=server.guild.id, roadmap_id=UPLOAD_ID, version=version, title=f"Track v{version}",
                    yaml_text=text, sha256=f"{version:064x}", uploaded_by=server.moderator.id, created_at=START,
                )
            )


async def test_a_server_keeps_at_most_25_versions_and_removing_one_makes_room(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await store_versions(bot, server, MAX_STORED_VERSIONS)
    before = await db_rows(bot)
    full = await upload(sandbox, "track.yaml", uploaded_yaml(title="One more"))
    assert_refused(
        full,
        "This server keeps 25 roadmap versions; a server may keep at most 25. Remove versions no cohort uses with "
        "/cohort remove-roadmap, then upload again.",
    )
    assert await db_rows(bot) == before, "a full server's upload is refused before it is checked or counted"

    removed = await sandbox.slash("cohort remove-roadmap", roadmap=UPLOAD_ID, version=3)
    assert removed.ephemeral and removed.content == f"Removed `{UPLOAD_ID}` version 3.", removed
    room = await upload(sandbox, "track.yaml", uploaded_yaml(title="One more"))
    assert f"Imported **One more** as `{UPLOAD_ID}` version 26." in reply_text(room), room


# /cohort remove-roadmap.


async def test_remove_roadmap_deletes_unused_versions_and_keeps_those_cohorts_use(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await store_versions(bot, server, 3)
    created = await sandbox.slash(
        "cohort create", name="Early", roadmap=UPLOAD_ID, start="2026-03-02", options={"channel": server.cohort_channel}
    )
    assert f"(`{UPLOAD_ID}` v3)" in created.content, created

    offered = await sandbox.autocomplete("cohort remove-roadmap", "roadmap", "")
    assert offered == [{"name": f"Track v3 ({UPLOAD_ID})", "value": UPLOAD_ID}]
    versions = await sandbox.autocomplete("cohort remove-roadmap", "version", "", roadmap=UPLOAD_ID)
    assert [c["name"] for c in versions] == [
        "v3 · Track v3 · used by Early", "v2 · Track v2 · unused", "v1 · Track v1 · unused"
    ]

    removed = await sandbox.slash("cohort remove-roadmap", roadmap=UPLOAD_ID)
    assert removed.content == (
        f"Removed `{UPLOAD_ID}` versions 1, 2. Kept version 3 (used by Early): a cohort keeps its roadmap "
        "version for good."
    ), removed
    left = await sandbox.autocomplete("cohort remove-roadmap", "version", "", roadmap=UPLOAD_ID)
    assert [c["value"] for c in left] == [3]


async def test_remove_roadmap_refusals_change_nothing(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await store_versions(bot, server, 2)
    await sandbox.slash(
        "cohort create", name="Early", roadmap=UPLOAD_ID, start="2026-03-02", options={"channel": server.cohort_channel}
    )
    other = server.world.add_guild("Other Club", channels=("club-hall",))
    otto = other.add_member("otto", permissions=Perm.MANAGE_GUILD)
    await sandbox.add_bot_to(other)
    theirs = await upload(sandbox, "t.yaml", uploaded_yaml("their-track"), user=otto, channel=other.text_channels[0])
    assert "as `their-track` version 1." in reply_text(theirs), theirs
    before = await db_rows(bot)

    cases = [
        ({"roadmap": "no-such"}, "This server has no uploaded roadmap 'no-such'. Pick one from the list."),
        ({"roadmap": "their-track"}, "This server has no uploaded roadmap 'their-track'. Pick one from the list."),
        (
            {"roadmap": ROADMAP},
            f"'{ROADMAP}' is a bundled roadmap; only roadmaps uploaded to this server can be removed.",
        ),
        (
            {"roadmap": UPLOAD_ID, "version": 7},
            f"This server has no version 7 of '{UPLOAD_ID}' (it has versions 1, 2).",
        ),
        (
            {"roadmap": UPLOAD_ID, "version": 2},
            f"Nothing was removed: '{UPLOAD_ID}' is in use (version 2 by Early). A cohort keeps its roadmap version "
            "for good, even after it ends, so those versions stay.",
        ),
    ]
    for options, message in cases:
        reply = await sandbox.slash("cohort remove-roadmap", **options)
        assert_refused(reply, message)
        assert await db_rows(bot) == before, options
    learner = await sandbox.slash("cohort remove-roadmap", user=server.learners[0], roadmap=UPLOAD_ID, version=1)
    assert_refused(learner, "Only moderators can do that")
    assert await db_rows(bot) == before
    theirs_offered = await sandbox.autocomplete("cohort remove-roadmap", "roadmap", "")
    assert [c["value"] for c in theirs_offered] == [UPLOAD_ID]
