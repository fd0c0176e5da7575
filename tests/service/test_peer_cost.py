"""Peer review's cost: a week's assignment takes the same number of SQL statements whatever the cohort's size."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.db.statements import counting_statements
from bot.services.cohorts import NewCohort
from bot.services.peer_review import PeerReviewService
from bot.services.submissions import SubmissionRequest
from bot.shards import Ownership
from bot.wiring import Services
from tests.service.cast import CHANNEL, GUILD, MODERATOR, REVIEWS

WEEK_1_OPEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
WEEK_1_CLOSED = datetime(2026, 3, 9, 9, 1, tzinfo=UTC)
SHARDS = 2
OTHER_GUILD = (1 << 22) | GUILD
"""A server on the other of two shards: each cohort is swept by a service that sees only its own."""


async def cohort_handing_in(services: Services, guild_id: int, name: str, learners: int) -> None:
    await services.cohorts.create(
        NewCohort(
            guild_id=guild_id, name=name, roadmap_id="ml-ai-study-guide", start="2026-03-02", channel_id=CHANNEL,
            created_by=MODERATOR, review_channel_id=REVIEWS,
        )
    )
    await services.runner.settle()
    await services.peer.configure(guild_id, name, 2, None, None, MODERATOR)
    for user_id in range(guild_id * 100, guild_id * 100 + learners):
        await services.enrolment.join(guild_id, name, user_id, f"learner {user_id}")
        link = f"https://example.com/{user_id}"
        await services.submissions.submit(SubmissionRequest(guild_id, user_id, name, 1, link, None))


async def test_a_weeks_assignment_takes_the_same_statements_for_4_and_16_learners(
    services: Services, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    clock.set(WEEK_1_OPEN)
    await cohort_handing_in(services, GUILD, "Small", 4)
    await cohort_handing_in(services, OTHER_GUILD, "Large", 16)
    services.outbox.shutdown()  # what the sweeps owe is written, not sent: the count is the sweep's alone
    await services.outbox.settle()
    clock.set(WEEK_1_CLOSED)
    counted = []
    for shard, assignments in ((GUILD >> 22) % SHARDS, 8), ((OTHER_GUILD >> 22) % SHARDS, 32):
        peer = PeerReviewService(
            sessions, clock, services.cohorts, services.catalog, services.outbox,
            ownership=Ownership.of(SHARDS, [shard]),
        )
        with counting_statements(engine) as counter:
            report = await peer.sweep()
        assert report.assigned == assignments
        counted.append(counter.count)
    assert counted[0] == counted[1]
