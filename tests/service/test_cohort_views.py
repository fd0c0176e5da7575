"""A cohort's view with and without its member count: the same schedule either way, the count only where shown."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Cohort
from bot.services.cohorts import CohortView
from bot.services.progress import RankBy
from bot.wiring import Services
from tests.service.cast import ADA, GUILD


async def test_a_view_without_its_count_has_the_same_schedule_and_refuses_to_guess_the_count(
    services: Services, sessions: async_sessionmaker[AsyncSession], cohort: CohortView
) -> None:
    async with sessions() as session:
        row = await session.scalar(select(Cohort).where(Cohort.id == cohort.id))
        assert row is not None
        counted = await services.cohorts.view(session, row)
        uncounted = await services.cohorts.view(session, row, count_members=False)
    assert counted.active_members == 2
    assert (uncounted.openings, uncounted.pauses, uncounted.current_week) == (
        counted.openings, counted.pauses, counted.current_week
    )
    assert uncounted.members_counted is None
    with pytest.raises(RuntimeError, match="without its member count"):
        _ = uncounted.active_members


async def test_progress_skips_the_count_and_the_board_shows_it(services: Services, cohort: CohortView) -> None:
    progress = await services.progress.progress(GUILD, ADA, None, asker_id=ADA)
    assert progress.view.members_counted is None
    board = await services.progress.leaderboard(
        await services.enrolment.cohort_for_reading(GUILD, None, ADA), ADA, RankBy.STREAK
    )
    assert board.members == 2
