"""The picture renderers are pure functions from numbers to images: sizes, and colours where states are drawn."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import struct
import zlib
from datetime import UTC, date, datetime, timedelta

from PIL import Image, ImageChops

from bot.render.card import (
    MAX_COLUMNS,
    PALETTE,
    PAUSED,
    STATE_COLOURS,
    STEPS,
    STUDY,
    WIDTH,
    CardCell,
    CardFacts,
    NextTier,
    card_png,
    layout,
    render_card,
    sample_facts,
)
from bot.render.drawing import EMPTY, GREEN, MUTED, PANEL, TEXT, Sheet, blend, canvas, font, picture, png
from bot.render.stats_chart import ACTIVE, BARS, HEIGHT, MEDIAN, chart_layout, nice_ceiling, render_chart
from bot.render.stats_chart import WIDTH as CHART_WIDTH
from bot.render.stats_csv import stats_csv
from bot.services.progress import WeekState
from bot.services.stats import CohortStats, QuietLearner, WeekFunnel, median, percentile
from bot.services.streaks import Streak

START = date(2026, 3, 2)


def card(cells: list[CardCell], days: int = 20, **changes: object) -> CardFacts:
    values: dict[str, object] = {
        "name": "Ada", "cohort": "Spring", "week": 3, "total_weeks": 21, "cells": tuple(cells), "start": START,
        "today": START + timedelta(days=days - 1), "zone": "UTC",
        "study": {START: 0, START + timedelta(days=1): 45, START + timedelta(days=2): 150},
        "paused": frozenset({START + timedelta(days=5)}), "daily": Streak(2, 3), "weekly": Streak(1, 1),
        "earned": ("Foundations",), "next_tier": NextTier("Practitioner", 2, 8),
    }
    return CardFacts(**(values | changes))  # type: ignore[arg-type]


def decoded(picture: Image.Image) -> Image.Image:
    """Through PNG and back, as Discord would get it."""
    result = Image.open(io.BytesIO(png(picture)))
    assert result.format == "PNG"
    return result.convert("RGB")


def centre(box: tuple[int, int, int, int]) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def test_each_checkpoint_cell_has_its_states_colour_and_late_ones_a_cut_corner() -> None:
    states = list(WeekState)
    cells = [CardCell(f"Week {i + 1}", state, late=state is WeekState.PENDING) for i, state in enumerate(states)]
    facts = card(cells)
    place = layout(facts)
    image = decoded(render_card(facts))
    assert image.size == (WIDTH, place.height)
    for box, state in zip(place.cells, states, strict=True):
        assert image.getpixel(centre(box)) == STATE_COLOURS[state], state
        corner = image.getpixel((box[2] - 1, box[1] + 1))
        assert corner == ((0, 0, 0) if state is WeekState.PENDING else STATE_COLOURS[state]), state
    assert len(set(STATE_COLOURS.values())) == len(WeekState)


def test_study_days_are_shaded_by_minutes_and_paused_days_marked() -> None:
    facts = card([CardCell("Week 1", WeekState.OPEN, False)])
    place = layout(facts)
    image = decoded(render_card(facts))
    colour = {offset: image.getpixel(centre(place.days[START + timedelta(days=offset)])) for offset in range(20)}
    assert colour[0] == blend(STUDY, STEPS[0][1])  # activity without minutes
    assert colour[1] == blend(STUDY, STEPS[1][1])  # 45 minutes
    assert colour[2] == STUDY  # 2 h 30
    assert colour[3] == EMPTY
    assert colour[5] == PAUSED
    assert len(place.days) == 20 and START + timedelta(days=20) not in place.days
    assert len({colour[0], colour[1], colour[2], colour[3], colour[5], PANEL}) == 6


def test_a_67_week_roadmap_fits_one_strip_and_a_year_and_more_of_days() -> None:
    cells = [CardCell(f"Week {2 * i + 1}", WeekState.APPROVED, False) for i in range(33)]
    facts = card(cells, days=469)
    place = layout(facts)
    image = decoded(render_card(facts))
    assert image.size == (800, place.height) and place.height < 600
    assert len({box[1] for box in place.cells}) == 1  # one row
    assert max(box[2] for box in place.days.values()) <= WIDTH - 24
    last = place.days[START + timedelta(days=468)]
    assert image.getpixel(centre(last)) == EMPTY


async def test_cards_drawn_at_once_in_worker_threads_match_one_drawn_alone() -> None:
    facts = card([CardCell(f"Week {i + 1}", WeekState.APPROVED, i % 3 == 0) for i in range(20)], days=140)
    alone = png(render_card(facts))
    assert await asyncio.gather(*(picture(render_card, facts) for _ in range(6))) == [alone] * 6


def test_a_kept_card_is_drawn_again_when_a_fact_on_it_changes() -> None:
    facts = card([CardCell("Week 1", WeekState.OPEN, False)], days=10)
    first = card_png(facts)
    assert card_png(dataclasses.replace(facts, study=dict(facts.study))) is first  # equal facts: the kept bytes
    day = START + timedelta(days=4)
    more = dataclasses.replace(facts, study={**facts.study, day: 150})
    assert card_png(more) != first
    assert Image.open(io.BytesIO(card_png(more))).convert("RGB").getpixel(centre(layout(more).days[day])) == STUDY
    assert card_png(dataclasses.replace(facts, daily=Streak(3, 3))) != first


def test_a_png_gives_back_every_pixel_of_a_card_and_of_a_chart() -> None:
    sheet = render_card(card([CardCell(f"Week {i + 1}", WeekState.PENDING, i == 2) for i in range(12)], days=60))
    chart = render_chart(stats([funnel(w, 30, 25 - w, 20 - w, 15, 2, 30.0 + w) for w in range(1, 13)]))
    for drawn in (sheet, chart):
        encoded = png(drawn)
        assert [kind for kind, _ in chunks(encoded)] == [b"IHDR", *([b"PLTE"] if drawn.mode == "P" else []), b"IDAT",
                                                         b"IEND"]
        back = Image.open(io.BytesIO(encoded))  # checks the deflate stream's own checksum
        back.load()
        assert (back.format, back.mode, back.size) == ("PNG", drawn.mode, drawn.size)
        assert back.tobytes() == drawn.tobytes()
        assert back.getpalette() == drawn.getpalette()
        assert len(encoded) < len(drawn.tobytes()) // 10  # a picture is mostly flat colour: well compressed


def chunks(encoded: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks, each one's CRC checked (Pillow checks those before the pixels only)."""
    assert encoded[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = [], 8
    while at < len(encoded):
        (length,), kind = struct.unpack(">I", encoded[at:at + 4]), encoded[at + 4:at + 8]
        data, (crc,) = encoded[at + 8:at + 8 + length], struct.unpack(">I", encoded[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        found.append((kind, data))
        at += 12 + length
    return found


def test_text_on_a_palette_sheet_is_the_rgb_text_within_two_levels() -> None:
    """The card's text is pasted from stamps in PALETTE's ramps: its anti-aliasing may round, never move."""
    rgb, draw = canvas(300, 60)
    sheet = Sheet(300, 60, PALETTE)
    for pen in (draw, sheet):
        pen.text((3.4, 2), "Daily streak ✓", fill=TEXT, font=font(15, bold=True))
        pen.text((10, 20.7), "best 41 · late ◥", fill=MUTED, font=font(28))
        pen.text((150, 2), "Foundations", fill=GREEN, font=font(14))
    drawn = sheet.image.convert("RGB")
    assert max(high for _, high in ImageChops.difference(rgb, drawn).getextrema()) <= 2
    blank = Image.new("RGB", rgb.size, PANEL)
    assert ImageChops.difference(drawn, blank).getbbox() == ImageChops.difference(rgb, blank).getbbox()


def test_past_what_fits_the_oldest_weeks_give_way_and_today_is_still_drawn() -> None:
    facts = card([CardCell("Week 1", WeekState.APPROVED, False)], days=7 * 200 + 3)
    place = layout(facts)
    assert place.first_day == START + timedelta(days=7 * (201 - MAX_COLUMNS))
    assert START not in place.days and facts.today in place.days
    assert max(box[2] for box in place.days.values()) <= WIDTH - 24
    assert decoded(render_card(facts)).getpixel(centre(place.days[facts.today])) == EMPTY


def test_a_card_before_the_cohort_starts_has_no_days() -> None:
    facts = card([CardCell("Week 1", WeekState.UPCOMING, False)], days=-2, week=0, earned=(), next_tier=None)
    assert layout(facts).days == {}
    assert decoded(render_card(facts)).size == (WIDTH, layout(facts).height)


def test_the_card_drawn_at_start_has_every_part_a_learners_card_has() -> None:
    facts = sample_facts()
    image = Image.open(io.BytesIO(card_png(facts)))
    assert image.size == (WIDTH, layout(facts).height)
    assert len(facts.cells) == facts.total_weeks and facts.study and facts.paused and facts.next_tier is not None
    assert {c.state for c in facts.cells} >= {WeekState.APPROVED, WeekState.PENDING, WeekState.OPEN}


def funnel(week: int, active: int, submitted: int, on_time: int, approved: int, sent_back: int,
           hours: float | None) -> WeekFunnel:
    delta = timedelta(hours=hours) if hours is not None else None
    return WeekFunnel(week, f"Week {week}", "=SUM(A1)", active, submitted, on_time, approved, sent_back, 1,
                      1 if delta else 0, delta, delta and delta * 2)


def stats(weeks: list[WeekFunnel]) -> CohortStats:
    return CohortStats(
        cohort_name="Spring", roadmap_title="ML", current_week=len(weeks), total_weeks=21, members=10,
        weeks=tuple(weeks), quiet_now=(QuietLearner(7, "@admin", None),), reviews=4,
        review_median=timedelta(hours=5), review_p90=timedelta(hours=20), tiers=(("Foundations", 3),),
        now=datetime(2026, 4, 1, tzinfo=UTC),
    )


def test_the_chart_draws_each_weeks_bars_to_their_numbers() -> None:
    numbers = stats([funnel(1, 10, 8, 6, 5, 0, 12.0), funnel(2, 10, 0, 0, 0, 0, None)])
    place = chart_layout(numbers)
    image = decoded(render_chart(numbers))
    assert image.size == (CHART_WIDTH, HEIGHT)
    assert place.funnel_max == 10 and place.hours_max == 50  # p90 24 h → a readable 50 h axis
    for name, colour in BARS[:3]:
        box = place.bar(0, name, getattr(numbers.weeks[0], name))
        assert image.getpixel((centre(box)[0], box[3] - 2)) == colour, name
        assert image.getpixel((centre(box)[0], box[1] + 1)) == colour, name
        assert image.getpixel((centre(box)[0], box[1] - 2)) == ACTIVE, name  # above it: the active bar
    sent_back = place.bar(0, "sent_back", 0)
    assert image.getpixel((centre(sent_back)[0], sent_back[3] - 2)) == ACTIVE  # none sent back
    empty = place.bar(1, "submitted", 0)
    assert image.getpixel((centre(empty)[0], empty[3] - 2)) == ACTIVE
    left, right = place.slots[0]
    assert image.getpixel(((left + right) // 2, place.hours_y(6))) == MEDIAN  # below the 12 h median
    assert image.getpixel(((left + right) // 2, place.hours_y(18))) != MEDIAN


def test_a_chart_of_67_weeks_keeps_every_slot_apart() -> None:
    numbers = stats([funnel(w, 1000 - w, 900 - w, 800, 700, 50, 30.0) for w in range(1, 68)])
    place = chart_layout(numbers)
    assert all(a[1] < b[0] for a, b in zip(place.slots, place.slots[1:], strict=False))
    assert decoded(render_chart(numbers)).size == (CHART_WIDTH, HEIGHT)


def test_axis_tops_and_review_percentiles() -> None:
    assert [nice_ceiling(v) for v in (0, 1, 3, 10, 11, 26, 999)] == [1, 1, 5, 10, 20, 50, 1000]
    hours = [timedelta(hours=h) for h in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)]
    assert median(hours) == timedelta(hours=5, minutes=30)
    assert percentile(hours, 0.9) == timedelta(hours=9)
    assert percentile(hours[:1], 0.9) == timedelta(hours=1)
    assert median([]) is None and percentile([], 0.9) is None


def test_the_csv_neutralises_what_people_typed() -> None:
    rows = list(csv.reader(io.StringIO(stats_csv(stats([funnel(1, 3, 2, 2, 1, 1, 4.0)])).decode(), newline="")))
    assert rows[1][:2] == ["Week 1", "'=SUM(A1)"]
    assert rows[1][-2:] == ["4.00", "8.00"]
    assert ["'@admin", "7", ""] in rows
