"""Submission rules at the service level: weeks not open are refused, versions pile up, lateness, one decision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db.models import ReviewDecision, Submission, SubmissionVersion
from bot.errors import DomainError
from bot.services.cohorts import CohortView
from bot.services.submissions import SubmissionRequest
from bot.wiring import Services
from tests.service.cast import ADA, GUILD, MODERATOR

WEEK_1_DEADLINE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def request(week: int, link: str = "https://example.com/my-work") -> SubmissionRequest:
    return SubmissionRequest(guild_id=GUILD, user_id=ADA, cohort_name=None, week=week, link=link, notes=None)


async def stored(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session:
        submissions = await session.scalar(select(func.count()).select_from(Submission))
        versions = await session.scalar(select(func.count()).select_from(SubmissionVersion))
        return submissions or 0, versions or 0


async def test_a_week_not_yet_open_is_refused_and_nothing_is_stored(
    services: Services, sessions: async_sessionmaker[AsyncSession], cohort: CohortView, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    with pytest.raises(DomainError, match=r"[Ww]eek 2"):
        await services.submissions.submit(request(2))
    with pytest.raises(DomainError, match="link"):
        await services.submissions.submit(request(1, link="ftp://example.com/x"))
    assert await stored(sessions) == (0, 0)


async def test_a_resubmission_is_a_new_version_and_late_only_after_the_deadline(
    services: Services, sessions: async_sessionmaker[AsyncSession], cohort: CohortView, clock: ManualClock
) -> None:
    clock.set(WEEK_1_DEADLINE)
    first = await services.submissions.submit(request(1))
    assert (first.version, first.late, first.deadline) == (1, False, WEEK_1_DEADLINE), "exactly at the deadline"
    clock.set(WEEK_1_DEADLINE.replace(minute=1))
    second = await services.submissions.submit(request(1, link="https://example.com/better"))
    assert (second.submission_id, second.version, second.late) == (first.submission_id, 2, True)
    assert await stored(sessions) == (1, 2)


async def test_a_version_is_decided_once(services: Services, cohort: CohortView, clock: ManualClock) -> None:
    clock.set(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    card = await services.submissions.submit(request(1))
    decision = await services.submissions.decide(
        GUILD, card.submission_id, card.version, MODERATOR, ReviewDecision.APPROVED
    )
    assert decision.decision is ReviewDecision.APPROVED and decision.card.user_id == ADA
    with pytest.raises(DomainError):
        await services.submissions.decide(
            GUILD, card.submission_id, card.version, MODERATOR, ReviewDecision.CHANGES_REQUESTED, "again"
        )
    with pytest.raises(DomainError, match="already approved"):
        await services.submissions.submit(request(1))
