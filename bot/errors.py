"""Domain errors: each carries a sentence that is safe to show the person who caused it."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the user can act on; the command tree turns it into an ephemeral reply."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """Something named by the user does not exist (in this server)."""


class Conflict(DomainError):
    """The action clashes with the current state (already a member, already paused...)."""


class InvalidInput(DomainError):
    """A value the user typed is malformed or out of range."""


class Unavailable(DomainError):
    """Discord did not hand over something the action needs; trying again later may work."""


class Forbidden(DomainError):
    """The user may not do this (not a moderator, not their data)."""


class RoadmapInvalid(DomainError):
    """A roadmap was refused; `problems` lists every problem as `source: location: what`."""

    def __init__(self, source: str | None, problems: list[str]) -> None:
        self.problems = [f"{source}: {p}" for p in problems] if source else list(problems)
        super().__init__("\n".join(self.problems))
