"""What the bot tells people, as facts: the services decide them, `bot.render.notices` words them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.roadmap import Module


@dataclass(frozen=True)
class WeekInfo:
    """The module a message is about, as much of it as the message names."""

    week: int
    label: str
    title: str
    checkpoint: str

    @classmethod
    def of(cls, module: Module) -> WeekInfo:
        return cls(module.week, module.label, module.title, module.checkpoint.title)


@dataclass(frozen=True)
class DailyReminder:
    cohort_name: str
    week: WeekInfo | None
    """The module open at the reminder's moment (None before the first)."""
    sessions: tuple[tuple[str, datetime], ...] = ()
    """(title, start) of the live sessions meeting that local day."""


@dataclass(frozen=True)
class WeeklyReminder:
    cohort_name: str
    week: WeekInfo
    deadline: datetime


@dataclass(frozen=True)
class Weeks:
    """The weeks some checkpoints cover, in order (a tier's, say)."""

    numbers: tuple[int, ...]

    @classmethod
    def of(cls, modules: Iterable[Module]) -> Weeks:
        return cls(tuple(sorted({w for m in modules for w in range(m.week, m.last_week + 1)})))


@dataclass(frozen=True)
class TierEarned:
    """To the learner: they completed a tier and now hold its role."""

    cohort_name: str
    tier_name: str
    weeks: Weeks
    role_id: int
    next_tier: tuple[str, Weeks] | None


@dataclass(frozen=True)
class TierAnnounced:
    """In the cohort channel: someone earned a tier."""

    user_id: int
    tier_name: str
    weeks: Weeks
    roadmap_title: str
    role_id: int


@dataclass(frozen=True)
class AwardBlocked:
    """To the moderators: a tier was earned but its role could not be given."""

    user_id: int
    tier_name: str
    cohort_name: str
    reason: str


@dataclass(frozen=True)
class PendingReview:
    user_id: int
    week_label: str
    since: datetime
    link: str | None


@dataclass(frozen=True)
class SubmittedLately:
    user_id: int
    week_label: str
    late: bool


@dataclass(frozen=True)
class AwardLately:
    user_id: int
    tier_name: str
    granted: bool


@dataclass(frozen=True)
class DigestFacts:
    """The moderators' weekly digest of one cohort."""

    cohort_name: str
    week: int
    total_weeks: int
    opened: datetime
    submissions: list[SubmittedLately]
    pending: list[PendingReview]
    """Oldest first."""
    inactive: list[int]
    awards: list[AwardLately]
    active_members: int


@dataclass(frozen=True)
class PingMessage:
    content: str
    user_ids: tuple[int, ...]
    """Exactly the users this message mentions, and so the only ones it may ping."""


Words = str | DailyReminder | WeeklyReminder | TierEarned | TierAnnounced | AwardBlocked
"""Something to say: text already worded, or facts that `bot.render.notices.words` turns into text."""
