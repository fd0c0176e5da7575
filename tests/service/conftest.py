"""Fixtures for service tests: the services wired as the bot wires them, on the real database, with a fake port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.services.cohorts import CohortView, NewCohort
from bot.wiring import Services, build_services
from tests.fake_port import FakePort
from tests.service.cast import ADA, CHANNEL, GRACE, GUILD, MODERATOR, REVIEWS, START


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def port() -> FakePort:
    return FakePort()


@pytest_asyncio.fixture
async def services(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock, port: FakePort
) -> AsyncIterator[Services]:
    wired = build_services(sessions, clock, port)
    try:
        yield wired
    finally:
        await wired.close()


@pytest_asyncio.fixture
async def cohort(services: Services) -> CohortView:
    """'Spring' on the study guide from Monday 2 March 2026, 09:00 UTC, with Ada and Grace enrolled."""
    view = await services.cohorts.create(
        NewCohort(
            guild_id=GUILD, name="Spring", roadmap_id="ml-ai-study-guide", start="2026-03-02",
            channel_id=CHANNEL, created_by=MODERATOR, review_channel_id=REVIEWS,
        )
    )
    await services.runner.settle()
    for user_id, name in ((ADA, "ada"), (GRACE, "grace")):
        await services.enrolment.join(GUILD, "Spring", user_id, name)
    return view
