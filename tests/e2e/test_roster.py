"""/cohort roster: a CSV of every member ever enrolled, safe to open in a spreadsheet, for moderators only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from bot.clock import ManualClock
from bot.harness import RunningBot, StudyServer
from bot.render.roster_csv import HEADER
from bot.sandbox import Reply, Sandbox
from tests.e2e.helpers import create_cohort


def table(reply: Reply) -> list[dict[str, str]]:
    [attachment] = reply.attachments
    return list(csv.DictReader(io.StringIO(attachment.text(), newline="")))


async def test_roster_has_one_row_per_member_ever_enrolled_with_their_standing(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock
) -> None:
    await create_cohort(sandbox, server)
    ada, grace, alan = server.learners
    for learner in (ada, grace, alan):
        await sandbox.slash("join", user=learner)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    await bot.bot.runner.run_due()
    await sandbox.slash("checkin", user=ada, minutes=30)
    await sandbox.slash("submit", user=ada, link="https://example.org/ada")
    await sandbox.click(sandbox.messages_in(server.review_channel)[0], "Approve", user=server.moderator)
    leave = await sandbox.slash("leave", user=alan)
    await sandbox.click(leave, "Leave", user=alan)
    clock.set(datetime(2026, 3, 9, 10, 0, tzinfo=UTC))

    reply = await sandbox.slash("cohort roster", user=server.moderator, cohort="Spring")
    assert reply.ephemeral
    assert "3 members ever enrolled, 2 active" in reply.content
    rows = table(reply)
    assert list(rows[0]) == list(HEADER)
    by_name = {r["display_name"]: r for r in rows}
    assert set(by_name) == {"ada", "grace", "alan"}
    assert by_name["ada"]["approved"] == "1" and by_name["ada"]["checkins"] == "1"
    assert by_name["ada"]["user_id"] == str(ada.id)
    assert by_name["grace"]["missing"] == "1" and by_name["grace"]["approved"] == "0"
    assert by_name["alan"]["status"] == "left"
    assert "completion rate 33%" in reply.content


async def test_names_that_look_like_formulas_are_neutralised(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot
) -> None:
    await create_cohort(sandbox, server)
    sneaky = server.guild.add_member('=HYPERLINK("http://evil.example","x")')
    await sandbox.slash("join", user=sneaky)
    rows = table(await sandbox.slash("cohort roster", user=server.moderator, cohort="Spring"))
    assert rows[0]["display_name"] == "'" + '=HYPERLINK("http://evil.example","x")'


async def test_empty_cohort_gives_a_header_only_file(sandbox: Sandbox, server: StudyServer, bot: RunningBot) -> None:
    await create_cohort(sandbox, server)
    reply = await sandbox.slash("cohort roster", user=server.moderator, cohort="Spring")
    assert "0 members ever enrolled, 0 active" in reply.content
    assert reply.attachments[0].text().splitlines() == [",".join(HEADER)]


async def test_roster_refusals(sandbox: Sandbox, server: StudyServer, bot: RunningBot) -> None:
    await create_cohort(sandbox, server)
    learner = await sandbox.slash("cohort roster", user=server.learners[0], cohort="Spring")
    assert learner.ephemeral and "Only moderators" in learner.content and not learner.attachments
    unknown = await sandbox.slash("cohort roster", user=server.moderator, cohort="Winter")
    assert unknown.ephemeral and "There is no cohort named 'Winter'" in unknown.content
