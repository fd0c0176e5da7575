"""The progress card, /progress share, /cohort stats (chart + CSV) and the digest's chart, through the real bot."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable
from datetime import UTC, date, datetime

import discord
from PIL import Image
from sqlalchemy import select

from bot.clock import ManualClock
from bot.db.models import Membership
from bot.harness import RunningBot, StudyServer
from bot.render.card import PAUSED, STATE_COLOURS, STEPS, STUDY, card_facts, layout
from bot.render.card import WIDTH as CARD_WIDTH
from bot.render.drawing import EMPTY, blend
from bot.render.stats_chart import HEIGHT as CHART_HEIGHT
from bot.render.stats_chart import WIDTH as CHART_WIDTH
from bot.render.stats_csv import QUIET_HEADER, TIER_HEADER, WEEK_HEADER
from bot.sandbox import Reply, Sandbox, payloads
from bot.sandbox.records import StoredAttachment
from bot.services.progress import WeekState
from tests.e2e.helpers import (
    add_history,
    assert_refused,
    create_cohort,
    db_rows,
    decide_latest,
    start_cohort,
    statements,
    submit,
)

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def at(day: int, hour: int) -> datetime:
    return MARCH.replace(day=day, hour=hour)


def image(attachment: StoredAttachment) -> Image.Image:
    picture = Image.open(io.BytesIO(attachment.data))
    assert picture.format == "PNG"
    return picture.convert("RGB")


def centre(box: tuple[int, int, int, int]) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def tables(attachment: StoredAttachment) -> list[list[list[str]]]:
    """The CSV's tables: runs of rows between empty rows."""
    result: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(attachment.text(), newline="")):
        if row:
            result[-1].append(row)
        else:
            result.append([])
    return result


async def a_fortnight(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock) -> None:
    """Three learners, two weeks: ada approved (24 h), grace sent back (4 h) then late again, alan silent."""
    ada, grace, _ = server.learners
    await start_cohort(sandbox, server, bot, clock)
    clock.set(at(2, 10))
    await sandbox.slash("checkin", user=ada, minutes=30)
    clock.set(at(3, 10))
    await submit(sandbox, ada, 1)
    clock.set(at(4, 10))
    await decide_latest(sandbox, server, approve=True)
    clock.set(at(5, 10))
    await submit(sandbox, grace, 1)
    clock.set(at(5, 14))
    await decide_latest(sandbox, server, approve=False)
    clock.set(at(9, 9))
    await bot.bot.runner.run_due()  # week 2 opens; week 1 is due
    clock.set(at(10, 10))
    await submit(sandbox, grace, 1)
    clock.set(at(10, 12))


# The progress card.


async def test_progress_carries_a_card_whose_cells_show_each_state_and_study_day(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await a_fortnight(sandbox, server, bot, clock)
    ada = server.learners[0]

    reply = await sandbox.slash("progress", user=ada)

    assert reply.ephemeral
    assert "Daily streak" in [f["name"] for f in reply.embeds[0]["fields"]]  # the text stays
    assert reply.embeds[0]["image"]["url"] == "attachment://progress.png"
    [attachment] = reply.attachments
    card = image(attachment)
    facts = card_facts(await bot.bot.progress.progress(server.guild.id, ada.id, None, asker_id=ada.id))
    place = layout(facts)
    assert card.size == (CARD_WIDTH, place.height)
    states = [c.state for c in facts.cells]
    assert states[:3] == [WeekState.APPROVED, WeekState.OPEN, WeekState.UPCOMING]
    for index in range(3):
        assert card.getpixel(centre(place.cells[index])) == STATE_COLOURS[states[index]]
    assert facts.start == date(2026, 3, 2) and facts.today == date(2026, 3, 10)
    assert card.getpixel(centre(place.days[date(2026, 3, 2)])) == blend(STUDY, STEPS[1][1])  # 30 minutes
    assert card.getpixel(centre(place.days[date(2026, 3, 3)])) == blend(STUDY, STEPS[0][1])  # a submission
    assert card.getpixel(centre(place.days[date(2026, 3, 4)])) == EMPTY
    assert date(2026, 3, 11) not in place.days


async def test_paused_days_are_drawn_as_paused(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await start_cohort(sandbox, server, bot, clock)
    clock.set(at(3, 12))
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
    clock.set(at(6, 12))

    reply = await sandbox.slash("progress", user=ada)

    card = image(reply.attachments[0])
    place = layout(card_facts(await bot.bot.progress.progress(server.guild.id, ada.id, None, asker_id=ada.id)))
    assert [card.getpixel(centre(place.days[date(2026, 3, d)])) for d in (2, 3, 4, 5, 6)] == [
        EMPTY, PAUSED, PAUSED, PAUSED, PAUSED
    ]


async def test_share_posts_the_card_in_the_cohort_channel_without_pings(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    sneaky = server.guild.add_member("@everyone <@&1>")
    await sandbox.slash("join", user=sneaky)
    before = len(sandbox.messages_in(server.cohort_channel))

    reply = await sandbox.slash("progress", user=sneaky, share=True)

    assert reply.ephemeral and reply.content == f"Shared in <#{server.cohort_channel.id}>."
    shared = sandbox.messages_in(server.cohort_channel)[before:]
    assert len(shared) == 1
    assert shared[0].content == "**@everyone <@&1>**'s progress in **Spring**"
    assert image(shared[0].attachments[0]).size == image(reply.attachments[0]).size
    [post] = sandbox.requests_to("POST", f"/channels/{server.cohort_channel.id}/messages")[-1:]
    assert post.json["allowed_mentions"] == {"parse": []}


async def test_share_is_refused_when_the_bot_cannot_post_there_and_nothing_is_posted(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await start_cohort(sandbox, server, bot, clock)
    server.cohort_channel.set_overwrite(server.guild.bot_member, deny=discord.Permissions(attach_files=True))
    await sandbox.dispatch("CHANNEL_UPDATE", payloads.channel(server.cohort_channel))
    await sandbox.until(
        lambda: not bot.bot.get_channel(server.cohort_channel.id).permissions_for(
            bot.bot.get_guild(server.guild.id).me).attach_files,
        what="the bot to see the new overwrite",
    )
    before = sandbox.messages_in(server.cohort_channel)

    reply = await sandbox.slash("progress", user=ada, share=True)

    assert_refused(reply, f"I can't post in <#{server.cohort_channel.id}>", "Attach Files", "nothing was shared",
                   "/progress without `share`")
    assert not reply.attachments
    assert sandbox.messages_in(server.cohort_channel) == before


async def test_share_that_discord_refuses_says_so_and_still_shows_the_card(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await start_cohort(sandbox, server, bot, clock)
    before = sandbox.messages_in(server.cohort_channel)
    sandbox.fail_next("POST", f"/channels/{server.cohort_channel.id}/messages", status=403, code=50013,
                      message="Missing Permissions")

    reply = await sandbox.slash("progress", user=ada, share=True)

    assert reply.ephemeral and "Discord refused the post" in reply.content and "nothing was shared" in reply.content
    assert reply.attachments and sandbox.messages_in(server.cohort_channel) == before


async def test_only_your_own_card_can_be_shared(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await start_cohort(sandbox, server, bot, clock)
    before = sandbox.messages_in(server.cohort_channel)
    reply = await sandbox.slash("progress", user=server.moderator, options={"member": server.learners[0]}, share=True)
    assert_refused(reply, "You can share only your own progress card", "Leave out `share`")
    assert sandbox.messages_in(server.cohort_channel) == before


# /cohort stats.


async def test_stats_count_the_funnel_quiet_learners_review_times_and_tiers(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await a_fortnight(sandbox, server, bot, clock)
    await sandbox.slash("join", user=server.guild.add_member("newcomer"))  # active in week 2, too new to be quiet

    reply = await sandbox.slash("cohort stats", user=server.moderator, cohort="Spring")

    assert reply.ephemeral and reply.deferred
    chart_file, csv_file = reply.attachments
    assert chart_file.filename == "stats-spring.png" and csv_file.filename == "stats-spring.csv"
    assert image(chart_file).size == (CHART_WIDTH, CHART_HEIGHT)
    weeks, tiers, quiet = tables(csv_file)
    assert tuple(weeks[0]) == WEEK_HEADER and tuple(tiers[0]) == TIER_HEADER and tuple(quiet[0]) == QUIET_HEADER
    assert weeks[1] == ["Week 1", weeks[1][1], "3", "2", "2", "1", "1", "1", "2", "14.00", "24.00"]
    assert weeks[2] == ["Week 2", weeks[2][1], "4", "0", "0", "0", "0", "2", "0", "", ""]
    assert weeks[3] == ["all", "", "4", "", "", "", "", "2", "2", "14.00", "24.00"]
    assert tiers[1:] == [["ML/AI Foundations", "0"], ["ML/AI Practitioner", "0"], ["ML/AI Specialist", "0"],
                         ["ML/AI Researcher", "0"]]
    assert [row[0] for row in quiet[1:]] == ["ada", "alan"]
    embed = reply.embeds[0]
    assert embed["image"]["url"] == "attachment://stats-spring.png"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Review turnaround"].startswith("2 reviews: median 14.0 h, 90th percentile 24.0 h")
    assert fields["Quiet for 7 days now: 2"] == "ada, alan"
    assert "**Week 1**: of 3 active, 2 handed in, 2 on time, 1 approved, 1 sent back; 1 quiet" in embed["description"]


async def test_stats_refusals_change_nothing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    before = await db_rows(bot)
    learner = await sandbox.slash("cohort stats", user=server.learners[0], cohort="Spring")
    assert_refused(learner, "Only moderators")
    unknown = await sandbox.slash("cohort stats", user=server.moderator, cohort="Winter")
    assert_refused(unknown, "There is no cohort named 'Winter'")
    early = await sandbox.slash("cohort stats", user=server.moderator, cohort="Spring")
    assert_refused(early, "'Spring' has not opened its first week yet", "ask again after that",
                   f"<t:{int(at(2, 9).timestamp())}:f>")
    assert not (learner.attachments or unknown.attachments or early.attachments)
    assert await db_rows(bot) == before


async def test_stats_cost_the_same_queries_for_a_small_and_a_large_history(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await a_fortnight(sandbox, server, bot, clock)

    def stats() -> Awaitable[Reply]:
        return sandbox.slash("cohort stats", user=server.moderator, cohort="Spring")

    small = await statements(bot, stats)
    crowd = [server.guild.add_member(f"m{k:02d}") for k in range(30)]
    for member in crowd:
        await sandbox.slash("join", user=member)
    async with bot.bot.sessions() as session:
        rows = (await session.execute(select(Membership.id, Membership.cohort_id))).all()
    await add_history(bot, [m for m, _ in rows], rows[0].cohort_id, days=60, weeks=10)

    assert await statements(bot, stats) == small
    assert small <= 12, small


# The moderators' digest.


async def test_the_digest_carries_the_stats_chart(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await a_fortnight(sandbox, server, bot, clock)
    await bot.bot.reminders.run_due()
    [digest] = [m for m in sandbox.messages_in(server.review_channel) if "Weekly digest" in m.content]
    [chart] = digest.attachments
    assert chart.filename == "cohort-stats.png"
    assert image(chart).size == (CHART_WIDTH, CHART_HEIGHT)



async def test_share_to_a_deleted_cohort_channel_is_refused(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    ada = server.learners[0]
    await start_cohort(sandbox, server, bot, clock)
    gone = server.guild.channels.pop(server.cohort_channel.id)
    await sandbox.dispatch("CHANNEL_DELETE", payloads.channel(gone))
    await sandbox.until(lambda: bot.bot.get_channel(gone.id) is None, what="the bot to forget the channel")

    reply = await sandbox.slash("progress", user=ada, share=True)

    assert_refused(reply, "I can't find the channel of 'Spring' any more", "/progress without `share`")
    assert not reply.attachments


async def test_stats_of_a_cohort_paused_before_its_first_week_say_it_opens_once_resumed(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
) -> None:
    await create_cohort(sandbox, server)
    await sandbox.slash("cohort pause", user=server.moderator, cohort="Spring")
    reply = await sandbox.slash("cohort stats", user=server.moderator, cohort="Spring")
    assert_refused(reply, "'Spring' has not opened its first week yet", "It opens once it is resumed")
