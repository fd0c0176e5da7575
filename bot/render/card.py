"""The progress card: a pure function from a learner's numbers to a PNG (checkpoints, study days, streaks, tiers)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from PIL import Image, ImageDraw

from bot.render.drawing import (
    BLUE,
    EMPTY,
    GREEN,
    MUTED,
    ORANGE,
    PANEL,
    PURPLE,
    SKY,
    TEXT,
    VERMILLION,
    YELLOW,
    Colour,
    Palette,
    Sheet,
    blend,
    fit,
    font,
    legend,
    png,
)
from bot.services.progress import Progress, WeekState
from bot.services.streaks import Streak

WIDTH = 800
MARGIN = 24
GAP = 3
STRIP_TOP = 112
STRIP_HEIGHT = 26
MIN_CELL = 14
MAX_CELL = 40
DAY_GAP = 2
MAX_DAY = 16
MIN_DAY = 6
MAX_COLUMNS = (WIDTH - 2 * MARGIN + DAY_GAP) // (MIN_DAY + DAY_GAP)
"""Weeks of study days that fit across the card (94: about 21 months)."""

STATE_COLOURS: dict[WeekState, Colour] = {
    WeekState.APPROVED: GREEN,
    WeekState.PENDING: SKY,
    WeekState.CHANGES_REQUESTED: ORANGE,
    WeekState.MISSING: VERMILLION,
    WeekState.OPEN: YELLOW,
    WeekState.UPCOMING: EMPTY,
}
STUDY = SKY
PAUSED = PURPLE
NO_STUDY = EMPTY
# Minutes logged on a day → how strongly it is drawn; a day with activity but no minutes gets the first step.
STEPS = ((0, 0.35), (30, 0.6), (60, 0.8), (120, 1.0))
_SHADES = tuple((floor, blend(STUDY, share)) for floor, share in reversed(STEPS))
"""STEPS as colours, the highest first: a day's colour is the first whose floor its minutes reach."""
LATE: Colour = (0, 0, 0)
PALETTE = Palette(
    PANEL,
    (*STATE_COLOURS.values(), *(colour for _, colour in _SHADES), PAUSED, LATE, BLUE),
    (TEXT, MUTED, GREEN),
)
"""Every colour the card draws: it is drawn and encoded as a palette image."""

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class CardCell:
    label: str
    state: WeekState
    late: bool


@dataclass(frozen=True)
class NextTier:
    name: str
    done: int
    needed: int


@dataclass(frozen=True)
class CardFacts:
    name: str
    cohort: str
    week: int
    total_weeks: int
    cells: tuple[CardCell, ...]
    start: date
    """The learner's local date of the cohort's first day: the heatmap's first cell."""
    today: date
    zone: str
    study: Mapping[date, int]
    """Minutes logged per local day with any study (0: a check-in without minutes, or a submission)."""
    paused: frozenset[date]
    daily: Streak
    weekly: Streak
    earned: tuple[str, ...]
    next_tier: NextTier | None

    def __hash__(self) -> int:
        # What tells cards apart; equality (generated) still compares every fact, the study days included, which
        # as a mapping cannot be hashed.
        return hash((self.name, self.cohort, self.today, self.cells, self.daily, self.weekly, len(self.study)))


def card_facts(progress: Progress) -> CardFacts:
    view = progress.view
    tier = progress.next_tier
    return CardFacts(
        name=progress.display_name,
        cohort=view.name,
        week=view.current_week,
        total_weeks=view.roadmap.total_weeks,
        cells=tuple(CardCell(c.module.label, c.state, c.late) for c in progress.checkpoints),
        start=progress.start,
        today=progress.today,
        zone=progress.zone,
        study=progress.study,
        paused=progress.paused_days,
        daily=progress.daily,
        weekly=progress.weekly,
        earned=tuple(t.tier.name for t in progress.tiers_earned),
        next_tier=None if tier is None else NextTier(
            tier.tier.name, len(tier.required) - len(tier.still_needed), len(tier.required)
        ),
    )


def sample_facts() -> CardFacts:
    """A made-up learner in week 3 of 12, drawn once at start so the first cards find their fonts and the stamps of
    the text every card has ready (drawn in the first burst of /progress instead, they made its slowest answers
    twice as slow as the next burst's)."""
    start = date(2026, 1, 5)
    states = (WeekState.APPROVED, WeekState.PENDING, WeekState.OPEN, *[WeekState.UPCOMING] * 9)
    return CardFacts(
        name="Sample learner", cohort="Sample cohort", week=3, total_weeks=12,
        cells=tuple(CardCell(str(week), state, week == 2) for week, state in enumerate(states, 1)),
        start=start, today=start + timedelta(days=17), zone="UTC",
        study={start + timedelta(days=day): 20 * day for day in range(0, 17, 2)},
        paused=frozenset({start + timedelta(days=9)}), daily=Streak(1, 3), weekly=Streak(2, 2),
        earned=(), next_tier=NextTier("Sample tier", 1, 4),
    )


@dataclass(frozen=True, eq=False)
class DayBoxes(Mapping[date, Box]):
    """Each heatmap day's box, worked out when asked: drawing needs only the first (a dict of every day cost more
    than drawing them)."""

    first: date
    count: int
    left: int
    top: int
    size: int
    step: int

    def __getitem__(self, day: date) -> Box:
        offset = (day - self.first).days
        if not 0 <= offset < self.count:
            raise KeyError(day)
        x, y = self.left + offset // 7 * self.step, self.top + offset % 7 * self.step
        return x, y, x + self.size, y + self.size

    def __iter__(self) -> Iterator[date]:
        return (self.first + timedelta(days=offset) for offset in range(self.count))

    def __len__(self) -> int:
        return self.count


@dataclass(frozen=True)
class CardLayout:
    """Where everything goes; the renderer draws from it and tests read colours at its cells."""

    cells: tuple[Box, ...]
    days: DayBoxes
    first_day: date
    """The heatmap's first day: the cohort's first, unless older weeks had to give way."""
    strip_top: int
    heatmap_top: int
    footer_top: int
    height: int


def layout(facts: CardFacts) -> CardLayout:
    usable = WIDTH - 2 * MARGIN
    count = max(len(facts.cells), 1)
    cell = max(MIN_CELL, min(MAX_CELL, (usable + GAP) // count - GAP))
    per_row = max(1, (usable + GAP) // (cell + GAP))
    strip_top = STRIP_TOP
    cells = tuple(
        (
            MARGIN + (i % per_row) * (cell + GAP),
            strip_top + (i // per_row) * (STRIP_HEIGHT + GAP),
            MARGIN + (i % per_row) * (cell + GAP) + cell,
            strip_top + (i // per_row) * (STRIP_HEIGHT + GAP) + STRIP_HEIGHT,
        )
        for i in range(len(facts.cells))
    )
    rows = math.ceil(len(facts.cells) / per_row) or 1
    heatmap_top = strip_top + rows * (STRIP_HEIGHT + GAP) + 70
    spanned = max((facts.today - facts.start).days + 1, 0)
    # Past what fits, the oldest weeks give way: columns stay whole cohort weeks, the latest always shown.
    skipped = max(math.ceil(spanned / 7) - MAX_COLUMNS, 0)
    first = facts.start + timedelta(days=7 * skipped)
    columns = max(math.ceil(spanned / 7) - skipped, 1)
    day = min(MAX_DAY, (usable + DAY_GAP) // columns - DAY_GAP)
    days = DayBoxes(first, max(spanned - 7 * skipped, 0), MARGIN, heatmap_top, day, day + DAY_GAP)
    footer_top = heatmap_top + 7 * (day + DAY_GAP) + 44
    return CardLayout(cells, days, first, strip_top, heatmap_top, footer_top, footer_top + 118)


def render_card(facts: CardFacts) -> Image.Image:
    place = layout(facts)
    strip_bottom = max((b[3] for b in place.cells), default=place.strip_top)
    draw = _ground(strip_bottom, place.footer_top, place.height).copy()
    right = WIDTH - MARGIN
    draw.text((MARGIN, 18), fit(draw, facts.name, font(28, bold=True), right - MARGIN), font=font(28, bold=True),
              fill=TEXT)
    week = f"week {facts.week} of {facts.total_weeks}" if facts.week else "not started yet"
    draw.text((MARGIN, 56), fit(draw, f"{facts.cohort} · {week}", font(17), right - MARGIN), font=font(17),
              fill=MUTED)

    for box, cell in zip(place.cells, facts.cells, strict=True):
        draw.rectangle(box, fill=STATE_COLOURS[cell.state])
        if cell.late:  # a notch cut from the top-right corner: readable whatever the cell's colour
            x0, y0, x1, _ = box
            notch = max(5, (x1 - x0) // 2)
            draw.polygon(((x1 - notch, y0), (x1, y0), (x1, y0 + notch)), fill=LATE)

    since = "since the cohort began" if place.first_day == facts.start else f"since {place.first_day:%d %b %Y}"
    _heading(draw, place.heatmap_top - 26, f"Study days {since} ({facts.zone})")
    if place.days:
        _days(draw, place, facts)
    else:
        draw.text((MARGIN, place.heatmap_top), "The cohort has not started yet.", font=font(14), fill=MUTED)

    top = place.footer_top + 6
    _stat(draw, MARGIN, top, facts.daily, "day")
    _stat(draw, MARGIN + 200, top, facts.weekly, "checkpoint")
    _tiers(draw, MARGIN + 420, top, right, facts)
    return draw.image


@lru_cache(maxsize=8)
def _ground(strip_bottom: int, footer_top: int, height: int) -> Sheet:
    """What every card of this shape has: the headings, both legends and the footer's titles, drawn once (they were
    16 of a card's 28 pieces of text). A shape changes with a cohort's roadmap and weekly as its heatmap grows; eight
    kept is at most 4 MB."""
    draw = Sheet(WIDTH, height, PALETTE)
    right = WIDTH - MARGIN
    _heading(draw, STRIP_TOP - 26, "Checkpoints")
    legend(draw, MARGIN, strip_bottom + 10, right, [
        (GREEN, "approved"), (SKY, "pending"), (ORANGE, "changes requested"), (VERMILLION, "missing"),
        (YELLOW, "open"), (EMPTY, "upcoming"), (LATE, "late ◥"),
    ])
    legend(draw, MARGIN, footer_top - 34, right, [
        (NO_STUDY, "no study"), (blend(STUDY, STEPS[0][1]), "studied"), (blend(STUDY, STEPS[2][1]), "1 h+"),
        (STUDY, "2 h+"), (PAUSED, "paused"),
    ])
    top = footer_top + 6
    for x, title in ((MARGIN, "Daily streak"), (MARGIN + 200, "Weekly streak"), (MARGIN + 420, "Tiers")):
        _heading(draw, top, title, x)
    return draw


@lru_cache(maxsize=128)
def card_png(facts: CardFacts) -> bytes:
    """The card as a PNG, kept for the last learners asked about: a card changes only when a fact on it does, so
    asking again the same day costs nothing (128 cards of 67 weeks with their facts and name stamps: under 4 MB)."""
    return png(render_card(facts))


def _days(sheet: Sheet, place: CardLayout, facts: CardFacts) -> None:
    """The study days: a pixel a day in a grid of weeks by weekdays, scaled up to the boxes and pasted through a mask
    that leaves the gaps (a rectangle a day, then joining bytes a day, cost more than the rest of the card)."""
    boxes = place.days
    index, first, count = sheet.palette.index, place.first_day.toordinal(), boxes.count
    # Each day's colour: studied (by minutes) before paused before nothing; only the days with something are visited.
    cells = [index[NO_STUDY]] * count
    for day in facts.paused:
        if 0 <= day.toordinal() - first < count:
            cells[day.toordinal() - first] = index[PAUSED]
    for day, minutes in facts.study.items():
        if 0 <= day.toordinal() - first < count:
            cells[day.toordinal() - first] = index[next(colour for floor, colour in _SHADES if minutes >= floor)]
    columns = -(-count // 7)
    cells += [index[PANEL]] * (7 * columns - count)  # the days after today in the last week
    grid = Image.frombytes("P", (columns, 7), b"".join(bytes(cells[weekday::7]) for weekday in range(7)))
    scaled = grid.resize((columns * boxes.step, 7 * boxes.step), Image.Resampling.NEAREST)
    sheet.image.paste(scaled, (boxes.left, boxes.top), _day_mask(columns, boxes.size + 1, boxes.step))


@lru_cache(maxsize=64)
def _day_mask(columns: int, box: int, step: int) -> Image.Image:
    """Where the heatmap's boxes are (a rectangle's far edge is drawn too, so a box is `size + 1` wide)."""
    mask = Image.new("1", (columns * step, 7 * step), 0)
    pen = ImageDraw.Draw(mask)
    for x in range(0, columns * step, step):
        for y in range(0, 7 * step, step):
            pen.rectangle((x, y, x + box - 1, y + box - 1), fill=1)
    return mask


def _heading(draw: Sheet, y: int, text: str, x: int = MARGIN) -> None:
    draw.text((x, y), text, font=font(15, bold=True), fill=TEXT)


def _stat(draw: Sheet, x: int, y: int, streak: Streak, unit: str) -> None:
    draw.text((x, y + 22), str(streak.current), font=font(40, bold=True), fill=TEXT)
    value_width = draw.textlength(str(streak.current), font=font(40, bold=True))
    units = unit if streak.current == 1 else unit + "s"
    draw.text((x + value_width + 8, y + 44), units, font=font(15), fill=MUTED)
    draw.text((x, y + 74), f"best {streak.best}", font=font(15), fill=MUTED)


def _tiers(draw: Sheet, x: int, y: int, right: int, facts: CardFacts) -> None:
    earned = ", ".join(facts.earned) if facts.earned else "none yet"
    draw.text((x, y + 24), fit(draw, f"✓ {earned}" if facts.earned else earned, font(15), right - x),
              font=font(15), fill=GREEN if facts.earned else MUTED)
    tier = facts.next_tier
    if tier is None:
        draw.text((x, y + 52), "every tier earned" if facts.earned else "no tiers on this roadmap", font=font(15),
                  fill=MUTED)
        return
    text = f"next: {tier.name} · {tier.done} of {tier.needed}"
    draw.text((x, y + 52), fit(draw, text, font(15), right - x), font=font(15), fill=MUTED)
    bar = (x, y + 78, right, y + 92)
    draw.rectangle(bar, fill=EMPTY)
    if tier.needed and tier.done:
        draw.rectangle((x, bar[1], x + round((right - x) * tier.done / tier.needed), bar[3]), fill=BLUE)
