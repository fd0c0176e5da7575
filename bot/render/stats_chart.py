"""The cohort statistics chart: a pure function from a cohort's numbers to a PNG (funnel by week, review times)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, ImageDraw

from bot.render.drawing import (
    BLUE,
    EMPTY,
    FAINT,
    GREEN,
    MUTED,
    ORANGE,
    SKY,
    TEXT,
    VERMILLION,
    Colour,
    canvas,
    fit,
    font,
    legend,
)
from bot.services.stats import CohortStats, WeekFunnel

WIDTH = 960
HEIGHT = 600
LEFT = 64
RIGHT = WIDTH - 24
FUNNEL = (104, 334)
"""Top and bottom (the zero line) of the funnel plot."""
TURNAROUND = (420, 530)

ACTIVE: Colour = EMPTY
BARS: tuple[tuple[str, Colour], ...] = (
    ("submitted", SKY),
    ("on_time", BLUE),
    ("approved", GREEN),
    ("sent_back", ORANGE),
)
QUIET: Colour = VERMILLION
MEDIAN: Colour = SKY
P90: Colour = ORANGE

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class ChartLayout:
    """Where each week's bars go; the renderer draws from it and tests read colours at its bars."""

    slots: tuple[tuple[int, int], ...]
    """Left and right x of each week's slot."""
    funnel_max: int
    hours_max: int

    def funnel_y(self, value: float) -> int:
        top, bottom = FUNNEL
        return round(bottom - (bottom - top) * value / self.funnel_max)

    def hours_y(self, value: float) -> int:
        top, bottom = TURNAROUND
        return round(bottom - (bottom - top) * min(value, self.hours_max) / self.hours_max)

    def bar(self, index: int, name: str, value: int) -> Box:
        """The box of one of a week's funnel bars (`active` is the wide one behind the others)."""
        left, right = self.slots[index]
        if name == "active":
            return left, self.funnel_y(value), right, FUNNEL[1]
        width = (right - left) / len(BARS)
        k = [n for n, _ in BARS].index(name)
        return round(left + k * width), self.funnel_y(value), round(left + (k + 1) * width) - 1, FUNNEL[1]


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… at or above `value` (at least 1): a readable axis top."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(int(step * power) for step in (1, 2, 5, 10) if step * power >= value)


def hours(delta: timedelta | None) -> float:
    return delta.total_seconds() / 3600 if delta is not None else 0.0


def duration_text(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = delta.total_seconds() / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def chart_layout(stats: CohortStats) -> ChartLayout:
    count = max(len(stats.weeks), 1)
    step = (RIGHT - LEFT) / count
    gap = max(1, round(step * 0.18))
    slots = tuple((round(LEFT + i * step + gap / 2), round(LEFT + (i + 1) * step - gap / 2)) for i in range(count))
    funnel_max = nice_ceiling(max((w.active for w in stats.weeks), default=1))
    hours_max = nice_ceiling(max((hours(w.review_p90) for w in stats.weeks), default=1))
    return ChartLayout(slots[: len(stats.weeks)], funnel_max, hours_max)


def render_chart(stats: CohortStats) -> Image.Image:
    place = chart_layout(stats)
    image, draw = canvas(WIDTH, HEIGHT)
    title = f"{stats.cohort_name} · week {stats.current_week} of {stats.total_weeks}"
    draw.text((24, 16), fit(draw, title, font(24, bold=True), WIDTH - 48), font=font(24, bold=True), fill=TEXT)
    summary = (
        f"{stats.members:,} active members · {stats.reviews:,} reviews: median {duration_text(stats.review_median)}, "
        f"90th percentile {duration_text(stats.review_p90)} · quiet for 7 days now: {len(stats.quiet_now)}"
    )
    draw.text((24, 50), fit(draw, summary, font(15), WIDTH - 48), font=font(15), fill=MUTED)

    draw.text((24, FUNNEL[0] - 26), "Of the learners active each week: handed in, on time, approved, sent back",
              font=font(15, bold=True), fill=TEXT)
    _axis(draw, FUNNEL, place.funnel_max, "")
    for index, week in enumerate(stats.weeks):
        draw.rectangle(place.bar(index, "active", week.active), fill=ACTIVE)
        for name, colour in BARS:
            value = getattr(week, name)
            if value:
                draw.rectangle(place.bar(index, name, value), fill=colour)
    quiet_points = [
        ((place.slots[i][0] + place.slots[i][1]) // 2, place.funnel_y(w.quiet)) for i, w in enumerate(stats.weeks)
    ]
    if len(quiet_points) > 1:
        draw.line(quiet_points, fill=QUIET, width=2)
    for x, y in quiet_points:
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=QUIET)
    _week_labels(draw, place, stats.weeks, FUNNEL[1] + 4)
    legend(draw, LEFT, FUNNEL[1] + 24, RIGHT, [
        (ACTIVE, "active"), (SKY, "handed in"), (BLUE, "on time"), (GREEN, "approved"), (ORANGE, "sent back"),
        (QUIET, "quiet 7 days (line)"),
    ])

    draw.text((24, TURNAROUND[0] - 26), "Time from hand-in to first review (hours): median bar, 90th percentile tick",
              font=font(15, bold=True), fill=TEXT)
    _axis(draw, TURNAROUND, place.hours_max, "h")
    for index, week in enumerate(stats.weeks):
        left, right = place.slots[index]
        if week.review_median is not None:
            draw.rectangle((left, place.hours_y(hours(week.review_median)), right, TURNAROUND[1]), fill=MEDIAN)
        if week.review_p90 is not None:
            y = place.hours_y(hours(week.review_p90))
            draw.rectangle((left, y - 1, right, y + 1), fill=P90)
    _week_labels(draw, place, stats.weeks, TURNAROUND[1] + 4)

    tiers = " · ".join(f"{name} {count}" for name, count in stats.tiers) or "this roadmap has no tiers"
    draw.text((24, HEIGHT - 30), fit(draw, f"Tiers earned: {tiers}", font(15), WIDTH - 48), font=font(15), fill=TEXT)
    return image


def _axis(draw: ImageDraw.ImageDraw, span: tuple[int, int], top_value: int, unit: str) -> None:
    top, bottom = span
    face = font(12)
    for value in (0, top_value / 2, top_value):
        y = round(bottom - (bottom - top) * value / top_value)
        draw.line((LEFT - 4, y, RIGHT, y), fill=(48, 50, 57) if value else FAINT)
        text = f"{value:g}{unit}"
        draw.text((LEFT - 8 - draw.textlength(text, font=face), y - 7), text, font=face, fill=MUTED)


def _week_labels(draw: ImageDraw.ImageDraw, place: ChartLayout, weeks: tuple[WeekFunnel, ...], y: int) -> None:
    face = font(11)
    every = max(1, math.ceil(26 / max(place.slots[0][1] - place.slots[0][0], 1))) if place.slots else 1
    for index, week in enumerate(weeks):
        if index % every and index != len(weeks) - 1:
            continue
        left, right = place.slots[index]
        text = str(week.week)
        draw.text(((left + right - draw.textlength(text, font=face)) / 2, y), text, font=face, fill=MUTED)
