"""Validated, immutable models of a roadmap file (see SPEC "Roadmaps")."""

from __future__ import annotations

import re
from collections import Counter
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.roadmap.limits import MAX_MODULES, MAX_PHASES, MAX_SECTIONS, MAX_TIERS

_MOST = {"phases": MAX_PHASES, "modules": MAX_MODULES, "tiers": MAX_TIERS, "appendix": MAX_SECTIONS}

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
HexColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]

_HOURS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:(-|–)\s*(\d+(?:\.\d+)?)|(\+))?\s*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Hours(_Frozen):
    """A time estimate: exact (`12`), a range (`"15-20"`) or open-ended (`"60+"`)."""

    low: float = Field(ge=0)
    high: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse_shorthand(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("hours must be a number, a range like '15-20' or an open range like '60+'")
        if isinstance(value, int | float):
            return {"low": value, "high": value}
        if isinstance(value, str):
            match = _HOURS.match(value)
            if not match:
                raise ValueError(f"hours {value!r} is not a number, a range like '15-20' or '60+'")
            low, _, high, plus = match.groups()
            return {"low": float(low), "high": None if plus else float(high or low)}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Hours:
        if self.high is not None and self.high < self.low:
            raise ValueError(f"hours range {self.low:g}-{self.high:g} runs backwards")
        return self

    def __str__(self) -> str:
        if self.high is None:
            return f"{self.low:g}+ h"
        if self.high == self.low:
            return f"{self.low:g} h"
        return f"{self.low:g}–{self.high:g} h"


class Material(_Frozen):
    """Something to read or watch; a bare string is shorthand for its title."""

    title: Text
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None
    details: tuple[Text, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"title": value} if isinstance(value, str) else value


class Checkpoint(_Frozen):
    """The project a learner submits for a module."""

    title: Text
    description: str = ""
    requirements: tuple[Text, ...] = ()
    hours: Hours | None = None


class Phase(_Frozen):
    """A named stage of a roadmap that groups modules."""

    key: Slug
    title: ShortText
    summary: str = ""


class Module(_Frozen):
    """The unit that is posted: opens at `week` and spans `weeks` weeks."""

    week: int = Field(ge=1, le=520)
    weeks: int = Field(default=1, ge=1, le=52)
    title: ShortText
    phase: Slug
    summary: str = ""
    materials: tuple[Material, ...] = ()
    objectives: tuple[Text, ...] = ()
    practice: tuple[Text, ...] = ()
    checkpoint: Checkpoint
    hours: Hours | None = None

    # Cached (the models are frozen): a command asks these of every module, often several times.
    @cached_property
    def last_week(self) -> int:
        return self.week + self.weeks - 1

    @cached_property
    def label(self) -> str:
        return f"Week {self.week}" if self.weeks == 1 else f"Weeks {self.week}-{self.last_week}"

    def covers(self, week: int) -> bool:
        return self.week <= week <= self.last_week


class WeekRange(_Frozen):
    """Weeks `first`..`last` inclusive; no `last` means through the end of the roadmap."""

    first: int = Field(ge=1)
    last: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> WeekRange:
        if self.last is not None and self.last < self.first:
            raise ValueError(f"week range {self.first}-{self.last} runs backwards")
        return self


def _weeks_shape(value: Any) -> str | None:
    if isinstance(value, dict | WeekRange):
        return "range"
    if isinstance(value, list | tuple):
        return "list"
    return None


TierWeeks = Annotated[
    Annotated[WeekRange, Tag("range")] | Annotated[tuple[int, ...], Tag("list")],
    Discriminator(
        _weeks_shape,
        custom_error_type="tier_weeks",
        custom_error_message="must be a range like {first: 1, last: 4} or a list of weeks like [1, 2]",
    ),
]


class Tier(_Frozen):
    """A certification level: earned when every checkpoint of its weeks is approved."""

    key: Slug
    name: ShortText
    role: ShortText
    color: HexColor = "#5865f2"
    description: str = ""
    highlights: tuple[Text, ...] = ()
    weeks: TierWeeks

    @field_validator("weeks")
    @classmethod
    def _not_empty(cls, value: WeekRange | tuple[int, ...]) -> WeekRange | tuple[int, ...]:
        if isinstance(value, tuple) and (not value or min(value) < 1):
            raise ValueError("a week list needs at least one week, each 1 or more")
        if isinstance(value, tuple) and len(set(value)) < len(value):
            twice = sorted(week for week, times in Counter(value).items() if times > 1)
            listed = ", ".join(str(week) for week in twice[:5]) + (", …" if len(twice) > 5 else "")
            raise ValueError(f"a week list names each week once (listed more than once: {listed})")
        return value


class Section(_Frozen):
    """Guidance outside the weekly modules (study tips, resources, career notes)."""

    title: ShortText
    summary: str = ""
    items: tuple[Text, ...] = ()


class Roadmap(_Frozen):
    """A whole study plan. Cross-field rules are checked by `semantic_problems`."""

    id: Slug
    title: ShortText
    summary: Text
    source: str | None = None
    phases: tuple[Phase, ...]
    modules: tuple[Module, ...]
    tiers: tuple[Tier, ...] = ()
    appendix: tuple[Section, ...] = ()

    @field_validator("phases", "modules", "tiers", "appendix", mode="before")
    @classmethod
    def _not_too_many(cls, value: Any, info: ValidationInfo) -> Any:
        # Before validation, so a file of 100,000 modules is refused without validating each one.
        assert info.field_name is not None  # a field validator is always told its field
        most = _MOST[info.field_name]
        if isinstance(value, list | tuple) and len(value) > most:
            raise ValueError(f"has {len(value):,} entries; a roadmap may have at most {most}")
        return value

    @field_validator("phases", "modules")
    @classmethod
    def _not_empty(cls, value: tuple[object, ...]) -> tuple[object, ...]:
        # An after-validator: it only runs when every item was valid, so it never adds a false problem.
        if not value:
            raise ValueError("needs at least one entry")
        return value

    @cached_property
    def total_weeks(self) -> int:
        return max(module.last_week for module in self.modules)

    def module_for_week(self, week: int) -> Module | None:
        return next((m for m in self.modules if m.covers(week)), None)

    def phase(self, key: str) -> Phase | None:
        return next((p for p in self.phases if p.key == key), None)

    def tier(self, key: str) -> Tier | None:
        return next((t for t in self.tiers if t.key == key), None)

    def tier_modules(self, tier: Tier) -> tuple[Module, ...]:
        """The modules whose checkpoints a tier requires."""
        if isinstance(tier.weeks, WeekRange):
            last = tier.weeks.last or self.total_weeks
            return tuple(m for m in self.modules if m.week <= last and m.last_week >= tier.weeks.first)
        return tuple(m for m in self.modules if any(m.covers(w) for w in tier.weeks))
