"""What the bot still owes people, counted for the readiness check and the metrics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import (
    AwardStatus,
    Cohort,
    Delivery,
    DeliveryState,
    Membership,
    OutboxMessage,
    OutboxState,
    TierAward,
)
from bot.shards import EVERYTHING, Ownership

OVERDUE_AFTER = timedelta(minutes=15)
"""Longer than the biggest reminder burst takes at Discord's pace, so a busy 18:00 is not a backlog."""

OWED_STATES = (DeliveryState.CLAIMED, DeliveryState.FAILED)
OUTBOX_OWED = (OutboxState.PENDING, OutboxState.SENDING)
UNSENT_STATES = [state for state in DeliveryState if state is not DeliveryState.SENT]  # IN uses the index, != not


async def overdue_work(
    sessions: async_sessionmaker[AsyncSession], now: datetime, ownership: Ownership = EVERYTHING
) -> dict[str, int]:
    """Work owed for longer than OVERDUE_AFTER, by kind: the one place a new queue (e.g. an outbox) is added.

    Only the work of `ownership`'s servers: a process is not unready for what another process owes."""
    cutoff = now - OVERDUE_AFTER
    our_members = select(Membership.id).join(Cohort, Cohort.id == Membership.cohort_id).where(
        ownership.where(Cohort.guild_id)
    )
    async with sessions() as session:
        deliveries = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.state.in_(OWED_STATES), Delivery.claimed_at < cutoff, ownership.cohorts(Delivery.cohort_id))
        )
        awards = await session.scalar(
            select(func.count())
            .select_from(TierAward)
            .where(
                TierAward.status == AwardStatus.PENDING, TierAward.earned_at < cutoff,
                true() if ownership.everything else TierAward.membership_id.in_(our_members),
            )
        )
        outbox = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.state.in_(OUTBOX_OWED), OutboxMessage.created_at < cutoff,
                ownership.where(OutboxMessage.guild_id),
            )
        )
    return {"deliveries": deliveries or 0, "tier_awards": awards or 0, "outbox": outbox or 0}


class LedgerCounts(NamedTuple):
    sent: int
    unsent: dict[tuple[str, str], int]
    """(kind, state) → rows claimed, failed or dropped."""


async def ledger_counts(sessions: async_sessionmaker[AsyncSession]) -> LedgerCounts:
    """The delivery ledger by state, cheaply: both queries are answered from the state index.

    Sent rows are counted without their kind: at a million rows grouping them by kind reads the whole
    table (0.6-1 s on SQLite), counting them reads only the index (about 40 ms).
    """
    async with sessions() as session:
        sent = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.state == DeliveryState.SENT)
        )
        rows = await session.execute(
            select(Delivery.kind, Delivery.state, func.count())
            .where(Delivery.state.in_(UNSENT_STATES))
            .group_by(Delivery.kind, Delivery.state)
        )
        return LedgerCounts(sent or 0, {(kind, str(state)): count for kind, state, count in rows})
