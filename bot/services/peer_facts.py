"""What peer reviews add to other views: verdicts on a review message, counts on /progress, the roster and the board."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, bindparam, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.columns import ASSIGNMENT, PEER_REVIEW, SUBMISSION
from bot.db.models import Membership, PeerAssignment, PeerReview, PeerState, Submission


class Verdict(enum.StrEnum):
    MET = "met"
    PARTLY = "partly"
    NOT_YET = "not_yet"


@dataclass(frozen=True)
class PeerVerdict:
    """One peer's review of one version, as moderators see it (always named: they may need to discard it)."""

    review_id: int
    reviewer_name: str
    verdicts: tuple[Verdict, ...]
    comment: str | None

    def count(self, verdict: Verdict) -> int:
        return sum(1 for v in self.verdicts if v is verdict)


@dataclass(frozen=True)
class PeerTally:
    """A learner's peer reviews in one cohort: given, received, and the weeks in which they let one lapse."""

    given: int = 0
    received: int = 0
    missed_weeks: frozenset[int] = field(default_factory=frozenset)


# Built once: every submission's card asks it.
_VERDICTS = (
    select(PeerReview.id, Membership.display_name, PeerReview.verdicts, PeerReview.comment)
    .join(PeerAssignment, PeerAssignment.id == PeerReview.assignment_id)
    .join(Membership, Membership.id == PeerAssignment.reviewer_id)
    .where(PeerAssignment.submission_id == bindparam("submission"), PeerReview.version == bindparam("version"))
    .order_by(PeerReview.submitted_at, PeerReview.id)
)


async def verdicts_of(session: AsyncSession, submission_id: int, version: int) -> tuple[PeerVerdict, ...]:
    """The peer reviews of one version of a submission, oldest first."""
    rows = await session.execute(_VERDICTS, {"submission": submission_id, "version": version})
    return tuple(
        PeerVerdict(review_id, name, tuple(Verdict(v) for v in verdicts), comment)
        for review_id, name, verdicts, comment in rows
    )


# Built once (every /progress asks), of the tables' columns (bot/db/columns.py): building it and its cache key cost
# more than running it.
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_TALLIES = union_all(
    select(literal("given"), ASSIGNMENT.reviewer_id, func.count())
    .join_from(PeerAssignment.__table__, PeerReview.__table__, PEER_REVIEW.assignment_id == ASSIGNMENT.id)
    .where(ASSIGNMENT.reviewer_id.in_(_IDS))
    .group_by(ASSIGNMENT.reviewer_id),
    select(literal("received"), SUBMISSION.membership_id, func.count())
    .join_from(Submission.__table__, PeerAssignment.__table__, ASSIGNMENT.submission_id == SUBMISSION.id)
    .join(PeerReview.__table__, PEER_REVIEW.assignment_id == ASSIGNMENT.id)
    .where(SUBMISSION.membership_id.in_(_IDS))
    .group_by(SUBMISSION.membership_id),
    select(literal("missed"), ASSIGNMENT.reviewer_id, ASSIGNMENT.week).where(
        ASSIGNMENT.reviewer_id.in_(_IDS), ASSIGNMENT.state == PeerState.MISSED
    ),
)


async def peer_tallies(session: AsyncSession, membership_ids: Sequence[int]) -> dict[int, PeerTally]:
    """Every listed member's tally, in one statement whatever their number."""
    if not membership_ids:
        return {}
    counts: dict[tuple[str, int], int] = {}
    weeks: dict[int, set[int]] = defaultdict(set)
    for kind, member, value in await session.execute(_TALLIES, {"ids": list(membership_ids)}):
        if kind == "missed":
            weeks[member].add(value)
        else:
            counts[kind, member] = value
    return {
        m: PeerTally(counts.get(("given", m), 0), counts.get(("received", m), 0), frozenset(weeks.get(m, ())))
        for m in membership_ids
    }
