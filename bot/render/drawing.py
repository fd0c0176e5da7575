"""What every picture shares: the bundled font, a colour-blind-safe palette, palette sheets, and PNG encoding."""

from __future__ import annotations

import asyncio
import math
import struct
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol, TypeVar

from isal import isal_zlib
from PIL import Image, ImageChops, ImageDraw, ImageFont

T = TypeVar("T")

FONTS = Path(__file__).parent / "fonts"
_REGULAR, _BOLD = str(FONTS / "DejaVuSans.ttf"), str(FONTS / "DejaVuSans-Bold.ttf")
"""As strings, made once: a card asks for a face some 20 times, and joining the path each time was a fifth of its
drawing."""

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
    return _face(_BOLD if bold else _REGULAR, size)


def _face(path: str, size: int) -> ImageFont.FreeTypeFont:
    loaded: dict[tuple[str, int], ImageFont.FreeTypeFont] = _per_thread.__dict__.setdefault("fonts", {})
    if (path, size) not in loaded:
        loaded[path, size] = ImageFont.truetype(path, size)
    return loaded[path, size]


def canvas(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (width, height), PANEL)
    return image, ImageDraw.Draw(image)


class Pen(Protocol):
    """What the shared helpers draw with: an `ImageDraw.ImageDraw` or a `Sheet`."""

    def rectangle(self, xy: tuple[float, float, float, float], fill: Colour) -> None: ...

    def text(self, xy: tuple[float, float], text: str, fill: Colour, font: ImageFont.FreeTypeFont) -> None: ...

    def textlength(self, text: str, font: ImageFont.FreeTypeFont) -> float: ...


@dataclass(frozen=True, eq=False)  # compared and hashed as itself: it keys every stamp lookup
class Palette:
    """A picture's fixed colours: solid ones, and inks that text is drawn in over `background` (its only ground).

    Each ink gets a ramp from the background to it, so anti-aliased text keeps its smooth edges in
    (256 - solids) / inks steps instead of 256: at most 2 of 255 off in a channel, which no eye sees.
    """

    background: Colour
    solids: tuple[Colour, ...]
    inks: tuple[Colour, ...]

    @cached_property
    def steps(self) -> int:
        return (256 - 1 - len(self.solids)) // len(self.inks) + 1

    @cached_property
    def colours(self) -> tuple[Colour, ...]:
        """Index → colour: the background, the solids, then each ink's ramp without its first (background) step."""
        ramps = (_blend_exact(self.background, ink, round(255 * k / (self.steps - 1)))
                 for ink in self.inks for k in range(1, self.steps))
        return (self.background, *self.solids, *ramps)

    @cached_property
    def index(self) -> dict[Colour, int]:
        """Colour → index of the solids (and the background); the first wins where a colour comes twice."""
        found: dict[Colour, int] = {}
        for i, colour in enumerate(self.colours[:1 + len(self.solids)]):
            found.setdefault(colour, i)
        return found

    @cached_property
    def data(self) -> bytes:
        """The palette as Pillow takes it: R, G, B of each index."""
        return b"".join(bytes(c) for c in self.colours)

    @cached_property
    def coverage(self) -> dict[Colour, list[int]]:
        """For each ink, a lookup table from a glyph's coverage (0-255) to the index of its ramp's nearest step."""
        nearest = [round(a * (self.steps - 1) / 255) for a in range(256)]
        tables = {}
        for i, ink in enumerate(self.inks):
            before = len(self.solids) + i * (self.steps - 1)  # the index just before this ink's first step
            tables[ink] = [before + step if step else 0 for step in nearest]
        return tables


def _blend_exact(base: Colour, ink: Colour, alpha: int) -> Colour:
    """The colour Pillow itself gives text of `ink` at coverage `alpha` over `base` (rounded the same way)."""
    r, g, b = ((x * (255 - alpha) + y * alpha + 127) // 255 for x, y in zip(base, ink, strict=True))
    return r, g, b


class Sheet:
    """A picture drawn in a fixed `Palette`: a third of an RGB picture's bytes, so it encodes 3-5x faster and smaller.

    It draws like `ImageDraw` (rectangle, polygon, text, textlength), so the shared helpers take either. Text is
    pasted from stamps drawn once per text, face, ink and sub-pixel start, and kept (most of a card's text
    repeats from card to card).
    """

    def __init__(self, width: int, height: int, palette: Palette) -> None:
        self.image = Image.new("P", (width, height), palette.index[palette.background])
        self.image.putpalette(palette.data)
        self.palette = palette
        self._draw = ImageDraw.Draw(self.image)

    def copy(self) -> Sheet:
        """Another sheet with what this one has drawn so far, to draw on while this one stays as it is."""
        other = Sheet.__new__(Sheet)
        other.image, other.palette = self.image.copy(), self.palette
        other._draw = ImageDraw.Draw(other.image)
        return other

    def rectangle(self, xy: tuple[float, float, float, float], fill: Colour) -> None:
        self._draw.rectangle(xy, fill=self.palette.index[fill])

    def polygon(self, xy: tuple[tuple[float, float], ...], fill: Colour) -> None:
        self._draw.polygon(xy, fill=self.palette.index[fill])

    def text(self, xy: tuple[float, float], text: str, fill: Colour, font: ImageFont.FreeTypeFont) -> None:
        # Whole pixels and the fraction, as ImageDraw.text splits them: the fraction shifts the glyphs' rendering.
        (fx, x), (fy, y) = math.modf(xy[0]), math.modf(xy[1])
        stamp = _stamp(text, str(font.path), font.size, self.palette, fill, fx, fy)
        if stamp is not None:
            image, (dx, dy) = stamp
            self.image.paste(image, (int(x) + dx, int(y) + dy))

    def textlength(self, text: str, font: ImageFont.FreeTypeFont) -> float:
        return _length(text, str(font.path), font.size)


@lru_cache(maxsize=4096)
def _length(text: str, path: str, size: int) -> float:
    return _face(path, size).getlength(text, mode="L")


# Bounded: each learner's name is a stamp of its own (a few KB); headings, labels and numbers recur.
@lru_cache(maxsize=512)
def _stamp(
    text: str, path: str, size: int, palette: Palette, ink: Colour, fx: float, fy: float
) -> tuple[Image.Image, tuple[int, int]] | None:
    """`text` in palette indices, cut to its ink, and where its corner lies from the drawing point (None: no ink)."""
    face = _face(path, size)
    left, top, right, bottom = map(int, face.getbbox(text))  # whole pixels for "L", though typed as floats
    pad_x, pad_y = 2 - min(left, 0), 2 - min(top, 0)
    cover = Image.new("L", (right + pad_x + 2, bottom + pad_y + 2))
    ImageDraw.Draw(cover).text((pad_x + fx, pad_y + fy), text, font=face, fill=255)
    box = cover.getbbox()
    if box is None:
        return None
    stamp = cover.crop(box).point(palette.coverage[ink])
    stamp.putpalette(palette.data)
    return stamp, (box[0] - pad_x, box[1] - pad_y)


def fit(draw: Pen, text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
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


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png(image: Image.Image) -> bytes:
    """The picture as a PNG, compressed by ISA-L's deflate (isal) rather than Pillow's zlib.

    A card's 400 KB of pixels took Pillow 1.3-1.5 ms at zlib's fastest level, the larger part of a /progress's drawing
    thread; ISA-L's level 1 takes about 0.1 ms and its file is smaller. PNG's own framing is a few small chunks,
    written here: IHDR, PLTE for a palette sheet, IDAT (each row after its filter's byte) and IEND."""
    colour_type, filtered = _FORMATS[image.mode]
    width, height = image.size
    kind, samples = filtered(image)
    # Each row after its filter's byte, as one picture a column wider: pasting and reading it back is C all the way
    # (joining 500 rows' slices in Python cost 0.5 ms a card, as much as the card's text).
    rows = Image.new(samples.mode, (samples.width + 1, height), kind)
    rows.paste(samples, (1, 0))
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))]
    if colour_type == 3:
        chunks.append(_chunk(b"PLTE", bytes(image.getpalette() or ())))
    chunks += [_chunk(b"IDAT", isal_zlib.compress(rows.tobytes(), 1)), _chunk(b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(chunks)


def _unfiltered(image: Image.Image) -> tuple[int, Image.Image]:
    """PNG's advice for a palette: no filter (a card is 12.7 KB so, 15.0 KB through Up)."""
    return 0, image


def _up(image: Image.Image) -> tuple[int, Image.Image]:
    """PNG's Up filter: each byte less the one a row above (mod 256), the first row as it is. The benchmark's chart
    is 51 KB so, 69 KB unfiltered; Pillow, choosing a filter row by row, made 48 KB in 10 ms against 4. Given back
    a byte a sample (an RGB row is three times as wide), as `png` frames its rows."""
    width, height = image.size
    above = Image.new(image.mode, image.size)
    above.paste(image.crop((0, 0, width, height - 1)), (0, 1))
    difference = ImageChops.subtract_modulo(image, above).tobytes()
    return 2, Image.frombytes("L", (width * len(image.getbands()), height), difference)


_FORMATS: dict[str, tuple[int, Callable[[Image.Image], tuple[int, Image.Image]]]] = {
    "P": (3, _unfiltered),
    "RGB": (2, _up),
}
"""The modes pictures are drawn in → PNG's colour type and the rows' filter, which gives back one byte a sample as a
palette ("P") or grey ("L") picture."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


async def picture(draw: Callable[[T], Image.Image], facts: T) -> bytes:
    """Draw and encode in the drawing thread (the chart: 10-15 ms; the card, about one, is drawn where it is asked
    for, see cogs/progress.py): Pillow releases the GIL in its C code, so the event loop keeps going."""
    return await asyncio.get_running_loop().run_in_executor(_drawer, lambda: png(draw(facts)))


def legend(
    draw: Pen, left: float, y: float, right: float, items: list[tuple[Colour, str]], size: int = 14
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
