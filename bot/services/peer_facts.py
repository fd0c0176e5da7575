"""What peer reviews add to other views: verdicts on a review message, counts on /progress, the roster and the board."""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Label,
    Select,
    SQLColumnExpression,
    bindparam,
    exists,
    func,
    literal,
    select,
    union_all,
)
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


def peer_assigned(submission_id: SQLColumnExpression[int]) -> Label[bool]:
    """Whether any peer was asked to review a submission, as a column of its card's statement: with none there are no
    verdicts to read, and a card skips that statement (a round trip on each one where peer review is off)."""
    return exists().where(ASSIGNMENT.submission_id == submission_id).label("peer_assigned")


async def verdicts_of(session: AsyncSession, submission_id: int, version: int) -> tuple[PeerVerdict, ...]:
    """The peer reviews of one version of a submission, oldest first."""
    rows = await session.execute(_VERDICTS, {"submission": submission_id, "version": version})
    return tuple(
        PeerVerdict(review_id, name, tuple(Verdict(v) for v in verdicts), comment)
        for review_id, name, verdicts, comment in rows
    )


TALLY_KINDS = ("given", "received", "missed")


def tally_branches(of: Callable[[ColumnElement[int]], ColumnElement[bool]]) -> list[Select[tuple[str, int, int]]]:
    """The tallies as rows of (kind, member, value) for the members `of` picks out of a membership id column: a
    count given, a count received, and each week missed. A union of them reads every tally in one statement."""
    given, received, missed = (literal(kind) for kind in TALLY_KINDS)
    return [
        select(given, ASSIGNMENT.reviewer_id, func.count())
        .join_from(PeerAssignment.__table__, PeerReview.__table__, PEER_REVIEW.assignment_id == ASSIGNMENT.id)
        .where(of(ASSIGNMENT.reviewer_id))
        .group_by(ASSIGNMENT.reviewer_id),
        select(received, SUBMISSION.membership_id, func.count())
        .join_from(Submission.__table__, PeerAssignment.__table__, ASSIGNMENT.submission_id == SUBMISSION.id)
        .join(PeerReview.__table__, PEER_REVIEW.assignment_id == ASSIGNMENT.id)
        .where(of(SUBMISSION.membership_id))
        .group_by(SUBMISSION.membership_id),
        select(missed, ASSIGNMENT.reviewer_id, ASSIGNMENT.week).where(
            of(ASSIGNMENT.reviewer_id), ASSIGNMENT.state == PeerState.MISSED
        ),
    ]


def tallies_from(rows: Iterable[tuple[str, int, int]], membership_ids: Iterable[int]) -> dict[int, PeerTally]:
    """Each listed member's tally from rows of `tally_branches` (a member without any has an empty tally)."""
    counts: dict[tuple[str, int], int] = {}
    weeks: dict[int, set[int]] = defaultdict(set)
    for kind, member, value in rows:
        if kind == "missed":
            weeks[member].add(value)
        else:
            counts[kind, member] = value
    return {
        m: PeerTally(counts.get(("given", m), 0), counts.get(("received", m), 0), frozenset(weeks.get(m, ())))
        for m in membership_ids
    }


# Built once (the roster asks for a page of members at a time), of the tables' columns (bot/db/columns.py):
# building it and its cache key cost more than running it.
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_TALLIES = union_all(*tally_branches(lambda member: member.in_(_IDS)))


async def peer_tallies(session: AsyncSession, membership_ids: Sequence[int]) -> dict[int, PeerTally]:
    """Every listed member's tally, in one statement whatever their number."""
    if not membership_ids:
        return {}
    rows = await session.execute(_TALLIES, {"ids": list(membership_ids)})
    return tallies_from(rows.tuples(), membership_ids)
