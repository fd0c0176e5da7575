"""Domain errors: each carries a sentence that is safe to show the person who caused it."""

from __future__ import annotations

import math
from datetime import datetime


class DomainError(Exception):
    """A refusal the user can act on; the command tree turns it into an ephemeral reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """Something named by the user does not exist (in this server)."""


class Conflict(DomainError):
    """The action clashes with the current state (already a member, already paused...)."""


class AlreadyDecided(Conflict):
    """A second decision on one version; `review_id` is the decision that stands (to show it where it is stale)."""

    def __init__(self, message: str, review_id: int) -> None:
        super().__init__(message)
        self.review_id = review_id


class InvalidInput(DomainError):
    """A value the user typed is malformed or out of range."""


class Unavailable(DomainError):
    """Discord did not hand over something the action needs; trying again later may work."""


class Forbidden(DomainError):
    """The user may not do this (not a moderator, not their data)."""


class QuotaExceeded(DomainError):
    """A quota is spent; the message ends with when to try again, as a Discord timestamp."""

    def __init__(self, refusal: str, retry_at: datetime) -> None:
        stamp = math.ceil(retry_at.timestamp())
        super().__init__(f"{refusal}. Try again <t:{stamp}:R> (<t:{stamp}:f>).")
        self.retry_at = retry_at


class RoadmapInvalid(DomainError):
    """A roadmap was refused; `problems` lists every problem as `source: location: what`.

    The message shows the first ones and counts the rest, so it fits one Discord message.
    """

    SHOWN = 20
    MESSAGE_CHARS = 1800

    def __init__(self, source: str | None, problems: list[str]) -> None:
        self.problems = [f"{source}: {p}" for p in problems] if source else list(problems)
        super().__init__(_first_problems(self.problems, self.SHOWN, self.MESSAGE_CHARS))


def _first_problems(problems: list[str], most: int, chars: int) -> str:
    shown: list[str] = []
    used = 0
    for problem in problems[:most]:
        if shown and used + len(problem) + 1 > chars:
            break
        shown.append(problem)
        used += len(problem) + 1
    rest = len(problems) - len(shown)
    return "\n".join(shown) + (f"\n…and {rest:,} more" if rest else "")
