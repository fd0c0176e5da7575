"""Tier rules at the service level: an award once per tier, the role given through the port, refusals kept pending."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AwardStatus, Membership, Submission, SubmissionStatus, TierAward
from bot.services.cohorts import CohortView
from bot.services.ports import DeliveryFailed
from bot.wiring import Services
from tests.fake_port import FakePort
from tests.service.cast import ADA, CHANNEL, GUILD, REVIEWS, START

TIER = "beginner"
TIER_NAME = "ML/AI Foundations"


Sessions = async_sessionmaker[AsyncSession]


async def approve_tier_weeks(sessions: Sessions, cohort: CohortView, user_id: int, *, leave_out: int = 0) -> int:
    """Approved checkpoints for every week of the first tier but the last `leave_out`; returns the membership."""
    weeks = [module.week for module in cohort.roadmap.tier_modules(cohort.roadmap.tiers[0])]
    async with sessions.begin() as session:
        membership_id = await session.scalar(select(Membership.id).where(Membership.user_id == user_id))
        assert membership_id is not None
        await session.execute(insert(Submission), [
            {"cohort_id": cohort.id, "membership_id": membership_id, "week": week, "status": SubmissionStatus.APPROVED,
             "current_version": 1, "created_at": START, "updated_at": START}
            for week in weeks[: len(weeks) - leave_out]
        ])
    return membership_id


async def awards(sessions: Sessions) -> list[tuple[str, AwardStatus, str | None]]:
    async with sessions() as session:
        rows = await session.execute(select(TierAward.tier_key, TierAward.status, TierAward.last_error))
        return [tuple(row) for row in rows.all()]


async def test_a_completed_tier_is_recorded_once_and_its_role_given(
    services: Services, sessions: Sessions, cohort: CohortView, port: FakePort
) -> None:
    membership_id = await approve_tier_weeks(sessions, cohort, ADA)
    assert await services.tiers.record_earned(membership_id) == [TIER]
    assert await services.tiers.record_earned(membership_id) == [], "a tier is earned once"
    report = await services.tiers.grant_pending(GUILD, respect_backoff=False)
    assert report.granted == [(ADA, TIER)]
    [(request,)] = port.called("resolve_role")
    assert (request.guild_id, request.role_id, request.name) == (GUILD, None, TIER_NAME)
    [(guild_id, user_id, role_id)] = port.called("add_role")
    assert (guild_id, user_id) == (GUILD, ADA)
    [(notice,)] = port.called("notify_learner")
    assert notice.user_id == ADA and f"<@&{role_id}>" in notice.text
    [(channel_id, _)] = port.called("post_announcement")
    assert channel_id == CHANNEL
    assert await awards(sessions) == [(TIER, AwardStatus.GRANTED, None)]
    calls = len(port.calls)
    assert (await services.tiers.grant_pending(GUILD, respect_backoff=False)).granted == []
    assert len(port.calls) == calls, "a granted award is never touched again"


async def test_an_unfinished_tier_earns_nothing(
    services: Services, sessions: Sessions, cohort: CohortView, port: FakePort
) -> None:
    membership_id = await approve_tier_weeks(sessions, cohort, ADA, leave_out=1)
    assert await services.tiers.record_earned(membership_id) == []
    assert await awards(sessions) == []
    assert port.calls == []


async def test_a_refused_role_stays_pending_and_the_moderators_are_told_once(
    services: Services, sessions: Sessions, cohort: CohortView, port: FakePort
) -> None:
    membership_id = await approve_tier_weeks(sessions, cohort, ADA)
    await services.tiers.record_earned(membership_id)
    refusal = DeliveryFailed(f"drag 'StudyBot' above '{TIER_NAME}'", retryable=False)
    port.fail("add_role", refusal, times=2)
    report = await services.tiers.grant_pending(GUILD, respect_backoff=False)
    assert report.failed == [(ADA, TIER)] and report.granted == []
    assert await awards(sessions) == [(TIER, AwardStatus.PENDING, f"{refusal.reason}.")]
    [(channel_id, text)] = port.called("tell_moderators")
    assert channel_id == REVIEWS and refusal.reason in text
    assert port.called("notify_learner") == [] and port.called("post_announcement") == []

    await services.tiers.grant_pending(GUILD, respect_backoff=False)
    assert len(port.called("tell_moderators")) == 1, "the same problem is reported once"
    report = await services.tiers.grant_pending(GUILD, respect_backoff=False)
    assert report.granted == [(ADA, TIER)]
    assert await awards(sessions) == [(TIER, AwardStatus.GRANTED, None)]
