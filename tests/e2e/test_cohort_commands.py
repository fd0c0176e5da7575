"""End to end: every /cohort subcommand a moderator runs, its success and each refusal, through the sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time, timedelta
from typing import Any

from discord import app_commands
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import CohortPause, CohortStatus
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Perm, Reply, Sandbox, SandboxFile
from bot.sandbox.options import ATTACHMENT, BOOLEAN, CHANNEL, INTEGER, NUMBER, ROLE, STRING, SUB_COMMAND, USER
from bot.services.cohorts import CohortView
from tests.e2e.helpers import (
    BUNDLED_FILE,
    ROADMAP,
    TITLE,
    UPLOAD_ID,
    assert_refused,
    db_rows,
    reply_text,
    uploaded_yaml,
)

Launcher = Callable[[], Awaitable[RunningBot]]


# Helpers.


async def create(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, name: str = "Spring", start: str = "2026-03-02", **extra
) -> Reply:
    options = {"channel": server.cohort_channel, **extra.pop("options", {})}
    reply = await sandbox.slash("cohort create", name=name, roadmap=ROADMAP, start=start, options=options, **extra)
    assert reply.ephemeral and reply.content.startswith(f"Created **{name}**"), reply
    await bot.bot.runner.settle()
    return reply


async def the_cohort(bot: RunningBot, server: StudyServer, name: str = "Spring") -> CohortView:
    views = {view.name: view for view in await bot.bot.cohorts.in_guild(server.guild.id)}
    return views[name]


def week_posts(sandbox: Sandbox, server: StudyServer) -> list[str]:
    return [m.content for m in sandbox.messages_in(server.cohort_channel) if "is open.**" in m.content]


# /cohort create.


async def test_create_stores_the_cohort_with_its_roadmap_version_and_default_schedule(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    reply = await create(sandbox, server, bot, review_channel=server.review_channel, role=server.cohort_role)

    assert reply.ephemeral
    assert "Created **Spring**. Learners can now /join it." in reply.content
    assert f"{TITLE} (`{ROADMAP}` v1)" in reply.content
    assert "Starts 2026-03-02, posts at 09:00 UTC" in reply.content
    assert f"<#{server.cohort_channel.id}>" in reply.content and f"<@&{server.cohort_role.id}>" in reply.content
    [view] = await bot.bot.cohorts.in_guild(server.guild.id)
    assert (view.name, view.roadmap.id, view.roadmap_version) == ("Spring", ROADMAP, 1)
    assert view.cohort.timezone == "UTC"
    assert view.cohort.post_time.replace(tzinfo=None) == time(9, 0)
    assert view.cohort.status is CohortStatus.ACTIVE and view.cohort.enrollment_open
    assert (view.cohort.channel_id, view.cohort.review_channel_id, view.cohort.role_id) == (
        server.cohort_channel.id, server.review_channel.id, server.cohort_role.id,
    )
    assert view.cohort.created_by == server.moderator.id
    assert view.current_week == 0, "week 1 opens at 09:00; it is 08:00"
    assert week_posts(sandbox, server) == []


async def test_create_takes_a_timezone_and_post_time(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create(sandbox, server, bot, timezone="Europe/Berlin", post_time="07:30")

    view = await the_cohort(bot, server)
    assert view.cohort.timezone == "Europe/Berlin"
    assert view.cohort.post_time.replace(tzinfo=None) == time(7, 30)
    # 07:30 in Berlin (UTC+1 in March before the switch) is 06:30 UTC: week 1 is already open at 08:00 UTC.
    assert view.current_week == 1


async def test_create_with_a_past_start_posts_the_open_weeks_at_once_in_order_without_a_late_mark(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot, start="2026-02-09")

    posts = week_posts(sandbox, server)
    assert posts == [f"**Week {n} of 'Spring' is open.**" for n in (1, 2, 3)], posts
    assert not any("late" in p.lower() for p in posts)
    assert [t.name.split(" · ")[0] for t in server.guild.threads] == ["Week 1", "Week 2", "Week 3"]
    assert (await the_cohort(bot, server)).current_week == 3
    await bot.bot.runner.run_due()
    assert len(week_posts(sandbox, server)) == 3, "each week is posted once"


async def test_create_refuses_bad_values_and_changes_nothing(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create(sandbox, server, bot)
    before = await db_rows(bot)
    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"name": "spring"}, ("already a cohort named 'Spring'", "Pick another name")),
        ({"name": "  SPRING "}, ("already a cohort named 'Spring'", "Pick another name")),
        ({"roadmap": "no-such-roadmap"}, ("no roadmap 'no-such-roadmap'", "Pick one from the list")),
        ({"start": "next monday"}, ("'next monday' is not a date", "Use YYYY-MM-DD")),
        ({"start": "2026-02-30"}, ("'2026-02-30' is not a date", "Use YYYY-MM-DD")),
        ({"start": "2025-02-01"}, ("start date may lie in the past, but at most a year ago",)),
        ({"start": "2027-06-01"}, ("start date must be within a year from today",)),
        ({"timezone": "Mars/Olympus_Mons"}, ("'Mars/Olympus_Mons' is not a timezone I know", "Use an IANA name")),
        ({"post_time": "9am"}, ("'9am' is not a time of day", "Use HH:MM")),
        ({"post_time": "24:00"}, ("'24:00' is not a time of day", "Use HH:MM")),
    ]
    for change, phrases in cases:
        options = {"name": "Autumn", "roadmap": ROADMAP, "start": "2026-03-02", **change}
        reply = await sandbox.slash("cohort create", options={**options, "channel": server.cohort_channel})
        assert_refused(reply, *phrases)
        assert await db_rows(bot) == before, f"{change} changed the database"


async def test_create_refuses_channels_and_roles_the_bot_cannot_use(
    sandbox: Sandbox, server: StudyServer, launch: Launcher
):
    guild = server.guild
    no_send = guild.add_text_channel("no-send")
    no_send.set_overwrite(guild.bot_role, deny=Perm.SEND_MESSAGES)
    no_embeds = guild.add_text_channel("no-embeds")
    no_embeds.set_overwrite(guild.bot_role, deny=Perm.EMBED_LINKS)
    no_threads = guild.add_text_channel("no-threads")
    no_threads.set_overwrite(guild.bot_role, deny=Perm.CREATE_PUBLIC_THREADS)
    hidden = guild.add_text_channel("hidden")
    hidden.set_overwrite(guild.bot_role, deny=Perm.VIEW_CHANNEL)
    no_files = guild.add_text_channel("no-files")
    no_files.set_overwrite(guild.bot_role, deny=Perm.ATTACH_FILES)
    above_bot = guild.add_role("Alumni", position=guild.bot_role.position + 1)
    bot = await launch()
    before = await db_rows(bot)

    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"channel": no_send}, (f"in <#{no_send.id}> I am missing: Send Messages, Embed Links", "Fix that")),
        ({"channel": no_embeds}, (f"in <#{no_embeds.id}> I am missing: Embed Links.", "Fix that")),
        ({"channel": no_threads}, (f"in <#{no_threads.id}> I am missing: Create Public Threads.", "Fix that")),
        ({"channel": hidden}, (f"<#{hidden.id}>", "View Channel")),
        (
            {"channel": server.cohort_channel, "review_channel": no_send},
            (f"in <#{no_send.id}> I am missing: Send Messages, Embed Links", "Fix that"),
        ),
        (
            {"channel": server.cohort_channel, "review_channel": no_files},
            (f"in <#{no_files.id}> I am missing: Attach Files.", "Fix that"),
        ),
        (
            {"channel": server.cohort_channel, "role": above_bot},
            (f"<@&{above_bot.id}> is above my highest role", "Move my role above it"),
        ),
    ]
    for change, phrases in cases:
        options = {"name": "Autumn", "roadmap": ROADMAP, "start": "2026-03-02", **change}
        reply = await sandbox.slash("cohort create", options=options)
        assert_refused(reply, *phrases)
        assert await db_rows(bot) == before, f"{change} changed the database"
    assert sandbox.messages_in(no_send) == sandbox.messages_in(no_threads) == []


# Who may run /cohort.


async def test_members_without_manage_server_cannot_run_any_cohort_command(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot)
    before = await db_rows(bot)
    learner = server.learners[0]
    [group] = [c for c in sandbox.synced_commands() if c["name"] == "cohort"]
    subcommands = [option for option in group["options"] if option["type"] == SUB_COMMAND]
    assert {"create", "list", "info", "pause", "resume", "end", "advance", "moderator-role", "import-roadmap"} <= {
        sub["name"] for sub in subcommands
    }
    for sub in subcommands:
        # Valid values for every option, so only the moderator check can refuse; later subcommands are covered too.
        options = {spec["name"]: valid_value(spec, server) for spec in sub.get("options", [])}
        reply = await sandbox.slash(f"cohort {sub['name']}", user=learner, options=options)
        assert_refused(reply, "Only moderators can do that", "Manage Server or the server's moderator role")
        assert await db_rows(bot) == before, f"/cohort {sub['name']} by a learner changed the database"
    assert week_posts(sandbox, server) == []


def valid_value(spec: dict[str, Any], server: StudyServer) -> Any:
    """A value a moderator could give for this option of a /cohort subcommand."""
    named = {
        "cohort": "Spring",
        "name": "Mine",
        "roadmap": ROADMAP,
        "start": "2026-03-02",
        "timezone": "UTC",
        "post_time": "09:00",
    }
    if spec.get("choices"):
        return spec["choices"][0]["value"]
    by_type = {
        STRING: named.get(spec["name"], "x"),
        INTEGER: spec.get("min_value", 1),
        BOOLEAN: True,
        USER: server.learners[1],
        CHANNEL: server.cohort_channel,
        ROLE: server.cohort_role,
        NUMBER: spec.get("min_value", 1),
        ATTACHMENT: SandboxFile("mine.yaml", uploaded_yaml()),
    }
    return by_type[spec["type"]]


async def test_moderator_role_lets_its_members_run_cohorts_but_not_choose_the_role(
    sandbox: Sandbox, server: StudyServer, launch: Launcher
):
    mentors = server.guild.add_role("Mentors", position=1)
    mentor = server.guild.add_member("mia", roles=[mentors])
    bot = await launch()

    refused = await sandbox.slash("cohort list", user=mentor)
    assert_refused(refused, "Only moderators can do that")

    granted = await sandbox.slash("cohort moderator-role", role=mentors)
    assert granted.ephemeral
    assert granted.content == f"Members with <@&{mentors.id}> can now run cohorts."
    assert await bot.bot.cohorts.moderator_role(server.guild.id) == mentors.id

    listed = await sandbox.slash("cohort list", user=mentor)
    assert listed.ephemeral and listed.content == "No cohorts yet. Create one with /cohort create."

    before = await db_rows(bot)
    own_choice = await sandbox.slash("cohort moderator-role", user=mentor, role=server.cohort_role)
    assert_refused(own_choice, "Only members with Manage Server can choose the moderator role")
    everyone = await sandbox.slash("cohort moderator-role", role=server.guild.everyone)
    assert_refused(everyone, "@everyone can't be the moderator role", "pick a role that only moderators have")
    assert await db_rows(bot) == before
    assert await bot.bot.cohorts.moderator_role(server.guild.id) == mentors.id


# /cohort list and /cohort info.


async def test_list_and_info_show_each_cohort(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    empty = await sandbox.slash("cohort list")
    assert empty.ephemeral and empty.content == "No cohorts yet. Create one with /cohort create."

    await create(sandbox, server, bot, review_channel=server.review_channel, role=server.cohort_role)
    await create(sandbox, server, bot, name="Autumn", start="2026-02-23")
    joined = await sandbox.slash("join", user=server.learners[0], cohort="Spring")
    assert joined.content.startswith("Welcome to **Spring**"), joined

    listed = await sandbox.slash("cohort list")
    assert listed.ephemeral
    lines = sorted(listed.content.splitlines(), reverse=True)
    assert len(lines) == 2, listed.content
    spring_line, autumn_line = lines
    assert spring_line.startswith(f"• **Spring** — {TITLE}: active, not started, week 1 opens <t:")
    assert spring_line.endswith(", 1 members")
    assert autumn_line.startswith(f"• **Autumn** — {TITLE}: active, week 1 of 12, week 2 opens <t:")
    assert autumn_line.endswith(", 0 members")

    info = await sandbox.slash("cohort info", cohort="spring")
    assert info.ephemeral
    lines = info.content.splitlines()
    assert lines[0] == f"**Spring** — {TITLE} (`{ROADMAP}` v1)"
    assert lines[1].startswith("active, not started")
    assert lines[2] == "Starts 2026-03-02, posts at 09:00 UTC"
    assert lines[3] == (
        f"Channel <#{server.cohort_channel.id}>, reviews in <#{server.review_channel.id}>, "
        f"role <@&{server.cohort_role.id}>"
    )
    assert lines[4] == "1 active members; enrolment open"

    autumn = await sandbox.slash("cohort info", cohort="Autumn")
    assert "Next deadline: Week 1 checkpoint, <t:" in autumn.content

    unknown = await sandbox.slash("cohort info", cohort="Winter")
    assert_refused(unknown, "no cohort named 'Winter'", "Pick one from the suggestions")


# /cohort pause, resume and end.


async def test_pause_resume_and_end_and_their_refusals(sandbox: Sandbox, server: StudyServer, bot: RunningBot):
    await create(sandbox, server, bot)

    paused = await sandbox.slash("cohort pause", cohort="Spring")
    assert paused.ephemeral and paused.content.startswith("Paused **Spring**"), paused
    assert (await the_cohort(bot, server)).cohort.status is CohortStatus.PAUSED

    before = await db_rows(bot)
    again = await sandbox.slash("cohort pause", cohort="spring")
    assert_refused(again, "'Spring' is already paused", "Use /cohort resume")
    assert await db_rows(bot) == before

    resumed = await sandbox.slash("cohort resume", cohort="Spring")
    assert resumed.ephemeral and resumed.content.startswith("Resumed **Spring**: active"), resumed
    assert (await the_cohort(bot, server)).cohort.status is CohortStatus.ACTIVE
    async with bot.bot.sessions() as session:
        pause = (await session.scalars(select(CohortPause))).one()
    assert (pause.paused_by, pause.resumed_by) == (server.moderator.id, server.moderator.id)

    before = await db_rows(bot)
    running = await sandbox.slash("cohort resume", cohort="Spring")
    assert_refused(running, "'Spring' is not paused", "/cohort pause")
    assert await db_rows(bot) == before

    ended = await sandbox.slash("cohort end", cohort="Spring")
    assert ended.ephemeral and ended.content.startswith("Ended **Spring**"), ended
    view = await the_cohort(bot, server)
    assert view.cohort.status is CohortStatus.ENDED and not view.cohort.enrollment_open
    assert view.cohort.ended_by == server.moderator.id

    before = await db_rows(bot)
    for command in ("cohort pause", "cohort resume", "cohort end", "cohort advance"):
        reply = await sandbox.slash(command, cohort="Spring")
        assert_refused(reply, "'Spring' has ended; it can no longer be changed", "/cohort create")
    assert await db_rows(bot) == before

    unknown = await sandbox.slash("cohort pause", cohort="Winter")
    assert_refused(unknown, "no cohort named 'Winter'", "Pick one from the suggestions")


async def test_a_paused_cohort_posts_nothing_and_resumes_later_by_the_days_it_was_paused(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await create(sandbox, server, bot)
    await sandbox.slash("cohort pause", cohort="Spring")

    clock.advance(timedelta(days=2))
    await bot.bot.runner.run_due()
    assert week_posts(sandbox, server) == []

    resumed = await sandbox.slash("cohort resume", cohort="Spring")
    await bot.bot.runner.settle()
    assert week_posts(sandbox, server) == []
    week_1 = (await the_cohort(bot, server)).openings[1]
    assert week_1 == clock.now() + timedelta(hours=1), "week 1 moves two days later, still at 09:00"
    assert f"week 1 opens <t:{int(week_1.timestamp())}:f>" in resumed.content

    clock.advance(timedelta(hours=1))
    await bot.bot.runner.run_due()
    assert week_posts(sandbox, server) == ["**Week 1 of 'Spring' is open.**"]


# /cohort advance.


async def test_advance_opens_the_next_week_now(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await create(sandbox, server, bot)
    clock.advance(timedelta(hours=1))
    await bot.bot.runner.run_due()
    assert week_posts(sandbox, server) == ["**Week 1 of 'Spring' is open.**"]

    reply = await sandbox.slash("cohort advance", cohort="Spring")
    assert reply.ephemeral
    assert reply.content.startswith("Advanced **Spring** to week 2; its post is on its way."), reply
    await bot.bot.runner.settle()
    assert week_posts(sandbox, server) == [f"**Week {n} of 'Spring' is open.**" for n in (1, 2)]
    assert (await the_cohort(bot, server)).current_week == 2

    to_five = await sandbox.slash("cohort advance", cohort="Spring", to_week=5)
    assert to_five.content.startswith("Advanced **Spring** to week 5"), to_five
    await bot.bot.runner.settle()
    assert week_posts(sandbox, server) == [f"**Week {n} of 'Spring' is open.**" for n in range(1, 6)]

    before = await db_rows(bot)
    again = await sandbox.slash("cohort advance", cohort="Spring")  # a retry moments later: the same intent
    assert_refused(again, f"<@{server.moderator.id}> advanced 'Spring' to week 5 a moment ago.",
                   "To open week 6 as well, use `to_week:6`.")
    assert await db_rows(bot) == before

    # Later weeks follow on from today: week 6 opens a week after the advance, not on the old date.
    clock.advance(timedelta(days=6))
    await bot.bot.runner.run_due()
    assert len(week_posts(sandbox, server)) == 5
    clock.advance(timedelta(days=1))
    await bot.bot.runner.run_due()
    assert week_posts(sandbox, server)[-1] == "**Week 6 of 'Spring' is open.**"


async def test_advance_refuses_weeks_out_of_reach_and_paused_cohorts(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
):
    await create(sandbox, server, bot, start="2026-02-23")
    before = await db_rows(bot)

    beyond = await sandbox.slash("cohort advance", cohort="Spring", to_week=13)
    assert_refused(beyond, f"'{TITLE}' has weeks 1-12; there is no week 13")
    already = await sandbox.slash("cohort advance", cohort="Spring", to_week=1)
    assert_refused(already, "Week 1 is already open in 'Spring' (it is in week 1)")
    assert await db_rows(bot) == before

    await sandbox.slash("cohort pause", cohort="Spring")
    before = await db_rows(bot)
    paused = await sandbox.slash("cohort advance", cohort="Spring")
    assert_refused(paused, "'Spring' is paused", "Resume it before advancing")
    assert await db_rows(bot) == before
    assert week_posts(sandbox, server) == ["**Week 1 of 'Spring' is open.**"]


# /cohort import-roadmap.


async def test_import_roadmap_versions_uploads_and_cohorts_keep_theirs(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    first = await sandbox.slash("cohort import-roadmap", file=SandboxFile("track.yaml", uploaded_yaml()))
    assert first.ephemeral
    assert f"Imported **{TITLE}** as `{UPLOAD_ID}` version 1." in reply_text(first), first

    same = await sandbox.slash("cohort import-roadmap", file=SandboxFile("track.yml", uploaded_yaml()))
    assert f"`{UPLOAD_ID}` version 1." in reply_text(same), same

    reply = await sandbox.slash(
        "cohort create", name="Early", roadmap=UPLOAD_ID, start="2026-03-02", options={"channel": server.cohort_channel}
    )
    assert f"(`{UPLOAD_ID}` v1)" in reply.content, reply

    changed = await sandbox.slash(
        "cohort import-roadmap", file=SandboxFile("track.yaml", uploaded_yaml(title="Senior Track, revised"))
    )
    assert "Imported **Senior Track, revised** as `our-senior-track` version 2." in reply_text(changed), changed

    later = await sandbox.slash(
        "cohort create", name="Late", roadmap=UPLOAD_ID, start="2026-03-02", options={"channel": server.cohort_channel}
    )
    assert f"Senior Track, revised (`{UPLOAD_ID}` v2)" in later.content, later
    early, late = await the_cohort(bot, server, "Early"), await the_cohort(bot, server, "Late")
    assert (early.roadmap_version, early.roadmap.title) == (1, TITLE)
    assert (late.roadmap_version, late.roadmap.title) == (2, "Senior Track, revised")
    info = await sandbox.slash("cohort info", cohort="Early")
    assert f"{TITLE} (`{UPLOAD_ID}` v1)" in info.content

    # Going back to the first text is a new, newest version: new cohorts get what was uploaded last.
    reverted = await sandbox.slash("cohort import-roadmap", file=SandboxFile("track.yaml", uploaded_yaml()))
    assert f"Imported **{TITLE}** as `{UPLOAD_ID}` version 3." in reply_text(reverted), reverted


async def test_import_roadmap_refuses_bad_files_and_changes_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    dropped = {'title: "Supervised learning (classification, regression)"', 'title: "Project 3: Stock Price Predictor"'}
    broken = "".join(
        line for line in uploaded_yaml().decode().splitlines(keepends=True) if line.strip() not in dropped
    ).encode()
    huge = uploaded_yaml() + b"#" * (256 * 1024)
    before = await db_rows(bot)
    assert before.pop("quota_uses") == []
    cases: list[tuple[SandboxFile, tuple[str, ...]]] = [
        (
            SandboxFile("broken.yaml", broken),
            ("broken.yaml: modules[3].title: field required", "broken.yaml: modules[3].checkpoint.title: field req"),
        ),
        (SandboxFile("track.txt", uploaded_yaml()), ("track.txt is not a .yaml file", "Upload the roadmap as YAML")),
        (SandboxFile("huge.yaml", huge), ("huge.yaml is", "bytes; a roadmap may be at most 262,144 bytes")),
        (SandboxFile("notyaml.yaml", b"id: [unclosed\n"), ("notyaml.yaml: line", "not valid YAML")),
        (
            SandboxFile("copy.yaml", BUNDLED_FILE.read_bytes()),
            (f"'{ROADMAP}' is the id of a bundled roadmap", "give your roadmap a different `id`"),
        ),
    ]
    for file, phrases in cases:
        reply = await sandbox.slash("cohort import-roadmap", file=file)
        assert_refused(reply, *phrases)
        after = await db_rows(bot)
        uploads = after.pop("quota_uses")
        assert after == before, f"uploading {file.name} changed the database"
    # The three files that reached the checker count toward the server's upload quota, refused or not.
    assert [use[1:4] for use in uploads] == [("roadmap-upload", server.guild.id, None)] * 3
    offered = await sandbox.autocomplete("cohort create", "roadmap", "")
    assert len(offered) == 5 and all(c["value"] != UPLOAD_ID for c in offered)


# Autocomplete.


async def test_cohort_autocomplete_offers_only_this_servers_cohorts(
    sandbox: Sandbox, server: StudyServer, launch: Launcher
):
    other = server.world.add_guild("Other Club", channels=("club-hall",))
    otto = other.add_member("otto", permissions=Perm.MANAGE_GUILD)
    bot = await launch()
    await create(sandbox, server, bot)
    await create(sandbox, server, bot, name="Spring Evening")
    club_hall = other.text_channels[0]
    elsewhere = await sandbox.slash(
        "cohort create", user=otto, channel=club_hall, name="Spring Club", roadmap=ROADMAP, start="2026-03-02",
        options={"channel": club_hall},
    )
    assert elsewhere.content.startswith("Created **Spring Club**"), elsewhere

    everything = await sandbox.autocomplete("cohort info", "cohort", "")
    assert [(c["name"], c["value"]) for c in everything] == [("Spring", "Spring"), ("Spring Evening", "Spring Evening")]
    typed = await sandbox.autocomplete("cohort pause", "cohort", "EVEN")
    assert [c["value"] for c in typed] == ["Spring Evening"]
    learner_side = await sandbox.autocomplete("join", "cohort", "spr", user=server.learners[0])
    assert [c["value"] for c in learner_side] == ["Spring", "Spring Evening"]
    theirs = await sandbox.autocomplete("cohort info", "cohort", "", user=otto, channel=club_hall)
    assert [c["value"] for c in theirs] == ["Spring Club"]

    # Nor can a name from the other server be used here.
    reply = await sandbox.slash("cohort info", cohort="Spring Club")
    assert_refused(reply, "no cohort named 'Spring Club' on this server")


async def test_a_non_moderator_is_offered_nothing_by_moderator_autocompletes(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    await create(sandbox, server, bot)
    learner = server.learners[0]
    assert await sandbox.autocomplete("cohort info", "cohort", "") == [{"name": "Spring", "value": "Spring"}]
    for command, option in [
        ("cohort info", "cohort"),
        ("cohort pause", "cohort"),
        ("cohort create", "roadmap"),
        ("cohort remove-roadmap", "roadmap"),
        ("cohort session add", "weekday"),
        ("review queue", "cohort"),
    ]:
        offered = await sandbox.autocomplete(command, option, "", user=learner)
        assert offered == [], f"/{command} {option}: a learner was offered {offered}"
    # The same choices stay open to learners where the command is theirs.
    assert [c["value"] for c in await sandbox.autocomplete("join", "cohort", "", user=learner)] == ["Spring"]


async def test_every_cohort_command_checks_for_a_moderator(bot: RunningBot):
    group = bot.bot.tree.get_command("cohort")
    assert isinstance(group, app_commands.Group)
    commands = list(group.walk_commands())
    unguarded = [c.qualified_name for c in commands if isinstance(c, app_commands.Command) and not c.checks]
    assert len(commands) > 15 and not unguarded, unguarded


async def test_roadmap_autocomplete_shows_titles_and_sends_ids(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
):
    everything = await sandbox.autocomplete("cohort create", "roadmap", "")
    assert len(everything) == 5
    assert {"name": f"{TITLE} ({ROADMAP})", "value": ROADMAP} in everything

    by_title = await sandbox.autocomplete("cohort create", "roadmap", "Senior")
    assert by_title == [{"name": f"{TITLE} ({ROADMAP})", "value": ROADMAP}]

    await sandbox.slash("cohort import-roadmap", file=SandboxFile("t.yaml", uploaded_yaml(title="Our Own Track")))
    ours = await sandbox.autocomplete("cohort create", "roadmap", "own track")
    assert ours == [{"name": f"Our Own Track ({UPLOAD_ID})", "value": UPLOAD_ID}]
