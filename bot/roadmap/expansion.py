"""Measures what a YAML text expands to (aliases included) from its event stream, before anything is built."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from bot.roadmap.limits import MAX_DEPTH, MAX_EXPANDED_CHARS, MAX_VALUES


@dataclass
class _Size:
    chars: int = 0
    values: int = 0
    depth: int = 0


@dataclass
class _Open:
    anchor: str | None
    start: _Size
    deepest: int = 0


@dataclass
class _Tally:
    total: _Size = field(default_factory=_Size)
    stack: list[_Open] = field(default_factory=list)
    anchors: dict[str, _Size] = field(default_factory=dict)
    deepest: int = 0

    def add(self, size: _Size) -> None:
        self.total.chars += size.chars
        self.total.values += size.values
        depth = len(self.stack) + size.depth
        self.deepest = max(self.deepest, depth)
        if self.stack:
            # Only the innermost open collection learns it; each passes its deepest on when it closes.
            self.stack[-1].deepest = max(self.stack[-1].deepest, depth)

    def open(self, anchor: str | None) -> None:
        self.stack.append(_Open(anchor, _Size(self.total.chars, self.total.values)))
        self.add(_Size())

    def close(self) -> None:
        opened = self.stack.pop()
        if self.stack:
            self.stack[-1].deepest = max(self.stack[-1].deepest, opened.deepest)
        if opened.anchor:
            self.anchors[opened.anchor] = _Size(
                self.total.chars - opened.start.chars,
                self.total.values - opened.start.values,
                opened.deepest - len(self.stack),
            )


def measure_expansion(text: str, loader: type) -> str | None:
    """The first limit the text breaks once aliases are expanded, with its line; None when within limits.

    Walks parser events only (no recursion, no objects built), so a "billion laughs" file costs the
    time of reading it once. Syntax errors surface as `yaml.YAMLError`, as from `yaml.load`.
    """
    tally = _Tally()
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            tally.open(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            tally.close()
            continue
        elif isinstance(event, yaml.ScalarEvent):
            size = _Size(len(event.value), 1)
            if event.anchor:
                tally.anchors[event.anchor] = size
            tally.add(size)
        elif isinstance(event, yaml.AliasEvent):
            # An unknown or still-open anchor is left to the loader, which reports it as an error.
            tally.add(tally.anchors.get(event.anchor, _Size()) if event.anchor else _Size())
        else:
            continue
        problem = _over_limit(tally, _line(event))
        if problem is not None:
            return problem
    return None


def _line(event: yaml.Event) -> int:
    # The parser marks every event it reads from text; only a hand-built event has no mark.
    return event.start_mark.line + 1 if event.start_mark else 0


def _over_limit(tally: _Tally, line: int) -> str | None:
    if tally.deepest > MAX_DEPTH:
        return f"line {line}: nested more than {MAX_DEPTH} levels deep (aliases included); flatten it"
    if tally.total.chars > MAX_EXPANDED_CHARS:
        return (
            f"line {line}: holds more than {MAX_EXPANDED_CHARS:,} characters of text once its aliases "
            "are expanded; a roadmap may hold at most that"
        )
    if tally.total.values > MAX_VALUES:
        return (
            f"line {line}: holds more than {MAX_VALUES:,} values once its aliases are expanded; "
            "a roadmap may hold at most that"
        )
    return None
