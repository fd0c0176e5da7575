"""Domain events that one service raises and others react to (e.g. an approval completing a tier)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckpointApproved:
    """A moderator approved a learner's checkpoint: the tier logic listens for this."""

    guild_id: int
    cohort_id: int
    membership_id: int
    user_id: int
    week: int
    submission_id: int
    reviewer_id: int


ApprovalListener = Callable[[CheckpointApproved], Awaitable[None]]
