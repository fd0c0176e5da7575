"""The worst roadmap uploads we can build against the limits in bot/roadmap/limits.py, as YAML bytes.

Each builder returns a file a hostile moderator could upload; `HOSTILE` lists them with what the bot
should do. bench/uploads_bench.py times them; the README quotes its table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from bot.roadmap.limits import (
    MAX_DEPTH,
    MAX_EXPANDED_CHARS,
    MAX_MODULES,
    MAX_ROADMAP_BYTES,
    MAX_SECTIONS,
    MAX_TIERS,
    MAX_VALUES,
)

HEAD = 'id: hostile\ntitle: "Hostile"\nsummary: "Built to hurt."\nphases: [{key: p, title: "P"}]\n'


def _modules(count: int, extra: str = "", first: str | None = None) -> str:
    """`count` one-week modules in flow style, each with `extra` (the first with `first`, if given) spliced in."""
    lines = [
        f'  - {{week: {week}, title: "M{week}", phase: p, checkpoint: {{title: "C{week}"}}'
        f"{first if week == 1 and first is not None else extra}}}\n"
        for week in range(1, count + 1)
    ]
    return "modules:\n" + "".join(lines)


def alias_laughs() -> bytes:
    """A "billion laughs" in fields the schema validates: 2 KB of aliases, 2 billion characters expanded.

    A 1,000-character text is a material's detail 100 times; that material is listed 100 times as the
    materials of each of 200 modules: 2,000,000 strings to validate and 10,000 lines per week post.
    """
    detail = f'&s "{"x " * 500}"'
    details = "&d [" + ", ".join([detail] + ["*s"] * 99) + "]"
    materials = "&ms [" + ", ".join([f'&m {{title: "M", details: {details}}}'] + ["*m"] * 99) + "]"
    return (HEAD + _modules(MAX_MODULES, ", materials: *ms", first=f", materials: {materials}")).encode()


def alias_week_post() -> bytes:
    """The issue's kind of file: a few KB whose week 1, once its aliases are expanded, is 90 long materials."""
    material = f'&m {{title: "{"x" * 1900}", url: "https://example.com/{"p" * 100}"}}'
    materials = "[" + ", ".join([material] + ["*m"] * 89) + "]"
    return (HEAD + _modules(1, f", materials: {materials}")).encode()


def alias_text_bomb() -> bytes:
    """Aliases of a long string: 4,000 characters reached 300 times is 1.2 MB of text once expanded."""
    objectives = "[" + ", ".join([f'&long "{"y" * 4000}"'] + ["*long"] * 299) + "]"
    return (HEAD + _modules(1, f", objectives: {objectives}")).encode()


def deep_nesting() -> bytes:
    """One level deeper than allowed (and libyaml's own limit of 1,000 levels far away)."""
    depth = MAX_DEPTH + 1
    return (HEAD + "appendix: " + "[" * depth + "]" * depth + "\n" + _modules(1)).encode()


def many_values() -> bytes:
    """Just over the value limit with one-character values in a flat list (no aliases)."""
    items = ",".join(["0"] * (MAX_VALUES + 1))
    return (HEAD + _modules(1) + f"tiers: [{{key: t, name: T, role: R, weeks: [{items}]}}]\n").encode()


def too_many_modules() -> bytes:
    """Ten times the module limit, each module valid: refused before any module is validated."""
    return (HEAD + _modules(MAX_MODULES * 10)).encode()[:MAX_ROADMAP_BYTES].rsplit(b"\n  - ", 1)[0] + b"\n"


def many_problems() -> bytes:
    """Every module broken in several ways: thousands of problems, of which a refusal shows the first."""
    bad = ', weeks: 0, hours: "soon", materials: [{url: "ftp://x"}], objectives: [""], practice: [[]]'
    text = HEAD + _modules(MAX_MODULES, bad)
    text += "tiers:\n" + "".join(
        f"  - {{key: T{n}, name: '', role: '', color: red, weeks: [999, 998]}}\n" for n in range(MAX_TIERS)
    )
    return text.encode()


def long_week_post() -> bytes:
    """One module whose post needs more than 10 messages, all in plain text (no aliases)."""
    materials = json.dumps([{"title": "z" * 1900, "url": "https://example.com/" + "p" * 1900}] * 40)
    return (HEAD + _modules(1, f", materials: {materials}")).encode()


def largest_accepted() -> bytes:
    """The most text an accepted upload can carry: aliases expanding to just under 1,000,000 characters.

    One 1,900-character text, reached through aliases, fills two practice items of each of 200 modules
    and the items of 50 appendix sections; 25 tiers each cover every week.
    """
    text = "w " * 950
    per_module = 2
    left = MAX_EXPANDED_CHARS - MAX_MODULES * (per_module * len(text) + 60) - 20_000
    per_section = left // (MAX_SECTIONS * len(text))
    modules = _modules(MAX_MODULES, ", practice: *practice", first=f', practice: &practice [&t "{text}", *t]')
    items = "[" + ", ".join(["*t"] * per_section) + "]"
    appendix = "appendix:\n" + f'  - {{title: "S0", items: &items {items}}}\n' + "".join(
        f'  - {{title: "S{n}", items: *items}}\n' for n in range(1, MAX_SECTIONS)
    )
    tiers = "tiers:\n" + "".join(
        f'  - {{key: t{n}, name: "T{n}", role: "R{n}", weeks: {{first: 1}}}}\n' for n in range(MAX_TIERS)
    )
    return (HEAD + modules + tiers + appendix).encode()


def most_values_accepted() -> bytes:
    """Just under the value limit, every value validated: 200 modules sharing 480 one-letter objectives."""
    objectives = "&o [" + ", ".join(["a"] * 480) + "]"
    return (HEAD + _modules(MAX_MODULES, ", objectives: *o", first=f", objectives: {objectives}")).encode()


def largest_plain() -> bytes:
    """A plain file of nearly the byte limit: 200 modules with long objectives, no aliases at all."""
    objective = json.dumps("o " * 300)
    per_module = (MAX_ROADMAP_BYTES - 20_000) // MAX_MODULES // (len(objective) + 2)
    objectives = "[" + ", ".join([objective] * per_module) + "]"
    return (HEAD + _modules(MAX_MODULES, f", objectives: {objectives}")).encode()


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[], bytes]
    accepted: bool
    expect: str
    """A phrase the refusal must contain (or the id when accepted)."""


HOSTILE = [
    Hostile("alias-laughs", alias_laughs, False, "characters of text once its aliases"),
    Hostile("alias-week-post", alias_week_post, False, "its week post would take"),
    Hostile("alias-text-bomb", alias_text_bomb, False, "characters of text once its aliases"),
    Hostile("deep-nesting", deep_nesting, False, "nested more than 50 levels deep"),
    Hostile("many-values", many_values, False, "values once its aliases are expanded"),
    Hostile("too-many-modules", too_many_modules, False, "a roadmap may have at most 200"),
    Hostile("many-problems", many_problems, False, "more"),
    Hostile("long-week-post", long_week_post, False, "its week post would take"),
    Hostile("largest-accepted", largest_accepted, True, "hostile"),
    Hostile("largest-plain", largest_plain, True, "hostile"),
    Hostile("most-values-accepted", most_values_accepted, True, "hostile"),
]
