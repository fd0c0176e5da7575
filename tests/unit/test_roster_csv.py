"""Roster CSV: header, quoting of awkward names, and formulas neutralised against spreadsheet injection."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from bot.render.roster_csv import HEADER, neutralise, roster_csv
from bot.services.roster import RosterRow

JOINED = datetime(2026, 3, 1, 12, tzinfo=UTC)


def row(name: str, **changes: object) -> RosterRow:
    values = dict(
        display_name=name, user_id=1234567890123456789, joined_at=JOINED, status="active", timezone="Europe/Berlin",
        checkins=3, approved=2, pending=1, changes_requested=0, missing=1, late=1, daily_streak=2, daily_best=4,
        weekly_streak=1, weekly_best=2, tiers=(("ML/AI Foundations", datetime(2026, 3, 30, tzinfo=UTC)),),
    )
    return RosterRow(**(values | changes))


def parsed(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_header_then_one_row_per_member_in_utf8() -> None:
    rows = parsed(roster_csv([row("Zoë"), row("李华")]))
    assert rows[0] == list(HEADER)
    assert [r[0] for r in rows[1:]] == ["Zoë", "李华"]
    assert rows[1][1] == "1234567890123456789"
    assert rows[1][-1] == "ML/AI Foundations (2026-03-30)"


def test_commas_quotes_and_newlines_survive_a_round_trip() -> None:
    awkward = 'Ada, "the first"\nLovelace'
    assert parsed(roster_csv([row(awkward)]))[1][0] == awkward


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd"])
def test_names_a_spreadsheet_would_run_are_neutralised(name: str) -> None:
    cell = parsed(roster_csv([row(name)]))[1][0]
    assert cell == "'" + name
    assert neutralise("plain name") == "plain name"


def test_empty_roster_is_just_the_header() -> None:
    assert parsed(roster_csv([])) == [list(HEADER)]
