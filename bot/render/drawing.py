"""What every picture shares: the bundled font, a colour-blind-safe palette, and PNG encoding."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from PIL import Image, ImageDraw, ImageFont

T = TypeVar("T")

FONTS = Path(__file__).parent / "fonts"

Colour = tuple[int, int, int]

# Okabe & Ito's palette (2008): told apart with every common colour-vision deficiency, and bright enough
# to read on the dark panel every picture draws itself, so Discord's light and dark themes look the same.
GREEN: Colour = (0, 158, 115)
SKY: Colour = (86, 180, 233)
BLUE: Colour = (0, 114, 178)
ORANGE: Colour = (230, 159, 0)
VERMILLION: Colour = (213, 94, 0)
PURPLE: Colour = (204, 121, 167)
YELLOW: Colour = (240, 228, 66)

PANEL: Colour = (30, 31, 36)
EMPTY: Colour = (58, 60, 68)
"""A cell with nothing in it: visibly a cell, not background."""
FAINT: Colour = (118, 122, 134)
TEXT: Colour = (236, 237, 240)
MUTED: Colour = (170, 174, 184)


_per_thread = threading.local()

_drawer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drawing")
"""One drawing thread: with asyncio's default pool, 50 cards at once drew in six threads, each with its own fonts
and canvas, and the bot's peak memory grew by 26 MB instead of 8; the event loop keeps the other core."""


def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The bundled font, loaded once per worker thread: FreeType allows a face in one thread at a time."""
    loaded: dict[tuple[int, bool], ImageFont.FreeTypeFont] = _per_thread.__dict__.setdefault("fonts", {})
    if (size, bold) not in loaded:
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        loaded[size, bold] = ImageFont.truetype(str(FONTS / name), size)
    return loaded[size, bold]


def canvas(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (width, height), PANEL)
    return image, ImageDraw.Draw(image)


def fit(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """`text` cut with an ellipsis so it is at most `width` pixels wide in `face`."""
    if draw.textlength(text, font=face) <= width:
        return text
    while text and draw.textlength(text + "…", font=face) > width:
        text = text[:-1]
    return text + "…"


def blend(colour: Colour, share: float, base: Colour = PANEL) -> Colour:
    """`colour` at `share` strength over `base`: the steps of a heatmap."""
    return (
        round(base[0] + (colour[0] - base[0]) * share),
        round(base[1] + (colour[1] - base[1]) * share),
        round(base[2] + (colour[2] - base[2]) * share),
    )


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # zlib's fastest level: a card encodes 2-3x faster (the larger part of its cost) for about a fifth more bytes.
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


async def picture(draw: Callable[[T], Image.Image], facts: T) -> bytes:
    """Draw and encode in the drawing thread: Pillow releases the GIL in its C code, so the event loop keeps going."""
    return await asyncio.get_running_loop().run_in_executor(_drawer, lambda: png(draw(facts)))


def legend(
    draw: ImageDraw.ImageDraw, left: float, y: float, right: float, items: list[tuple[Colour, str]], size: int = 14
) -> float:
    """Swatches with labels from left to right, wrapping before `right`; returns the y below the last row."""
    face = font(size)
    step = size + 8
    x = left
    for colour, label in items:
        width = size + 4 + draw.textlength(label, font=face) + 18
        if x > left and x + width > right:
            x, y = left, y + step
        draw.rectangle((x, y + 2, x + size - 2, y + size), fill=colour)
        draw.text((x + size + 4, y), label, font=face, fill=MUTED)
        x += width
    return y + step
