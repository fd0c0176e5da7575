"""What the bot still owes people, counted for the readiness check and the metrics."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AwardStatus, Delivery, DeliveryState, TierAward

OVERDUE_AFTER = timedelta(minutes=15)
"""Longer than the biggest reminder burst takes at Discord's pace, so a busy 18:00 is not a backlog."""

OWED_STATES = (DeliveryState.CLAIMED, DeliveryState.FAILED)


async def overdue_work(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, int]:
    """Work owed for longer than OVERDUE_AFTER, by kind: the one place a new queue (e.g. an outbox) is added."""
    cutoff = now - OVERDUE_AFTER
    async with sessions() as session:
        deliveries = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.state.in_(OWED_STATES), Delivery.claimed_at < cutoff)
        )
        awards = await session.scalar(
            select(func.count())
            .select_from(TierAward)
            .where(TierAward.status == AwardStatus.PENDING, TierAward.earned_at < cutoff)
        )
    return {"deliveries": deliveries or 0, "tier_awards": awards or 0}


async def deliveries_by_state(sessions: async_sessionmaker[AsyncSession]) -> dict[tuple[str, str], int]:
    """(kind, state) → rows in the delivery ledger: posts and reminders sent, claimed, failed and dropped."""
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.kind, Delivery.state, func.count()).group_by(Delivery.kind, Delivery.state)
        )
        return {(kind, str(state)): count for kind, state, count in rows}
