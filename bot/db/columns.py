"""The tables' columns, for statements on hot paths.

A statement built from the models' attributes takes the ORM's execution path even when it selects plain rows;
built from these it is plain Core, at about half the cost a statement (80 against 49 µs measured here)."""

from __future__ import annotations

from bot.db.models import (
    CheckIn,
    Cohort,
    CohortAdvance,
    CohortPause,
    Extension,
    LearnerSettings,
    Membership,
    PeerAssignment,
    PeerReview,
    Submission,
    SubmissionVersion,
    TierAward,
)

ADVANCE = CohortAdvance.__table__.c
ASSIGNMENT = PeerAssignment.__table__.c
CHECK_IN = CheckIn.__table__.c
COHORT = Cohort.__table__.c
EXTENSION = Extension.__table__.c
MEMBER = Membership.__table__.c
PAUSE = CohortPause.__table__.c
PEER_REVIEW = PeerReview.__table__.c
SETTINGS = LearnerSettings.__table__.c
SUBMISSION = Submission.__table__.c
TIER_AWARD = TierAward.__table__.c
VERSION = SubmissionVersion.__table__.c
