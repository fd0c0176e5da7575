"""The delivery ledger: claim a row before sending, so nothing is ever sent twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.changes import rows_changed
from bot.db.models import Delivery, DeliveryState
from bot.db.upsert import insert_unless_present
from bot.shards import EVERYTHING, Ownership

MAX_BACKOFF = timedelta(hours=1)
REPORT_AFTER_ATTEMPTS = 3
INTERRUPTED = "interrupted by a restart"
UPDATE_CHUNK = 500
"""Rows marked per UPDATE (well under every database's limit on bound parameters)."""


class LedgerEntry(NamedTuple):
    id: int
    state: DeliveryState


Key = tuple[str, str, str]
"""(kind, subject, period): what a ledger row stands for."""


@dataclass(frozen=True)
class Claim:
    """One send to claim in bulk, keyed by (kind, subject, period)."""

    kind: str
    subject: str
    period: str
    cohort_id: int | None
    due_at: datetime

    @property
    def key(self) -> Key:
        return (self.kind, self.subject, self.period)


class Outcomes:
    """Results of many sends, written to the ledger in bulk by `Ledger.record`."""

    def __init__(self) -> None:
        self.sent_rows: dict[tuple[int | None, int | None], list[int]] = defaultdict(list)
        self.failed_rows: dict[str, list[int]] = defaultdict(list)

    def sent(self, row_ids: Iterable[int], channel_id: int | None, message_id: int | None) -> None:
        self.sent_rows[(channel_id, message_id)].extend(row_ids)

    def failed(self, row_ids: Iterable[int], reason: str) -> None:
        self.failed_rows[reason].extend(row_ids)


def learner_subject(guild_id: int, user_id: int) -> str:
    return f"learner:{guild_id}:{user_id}"


def membership_subject(membership_id: int) -> str:
    return f"membership:{membership_id}"


def cohort_subject(cohort_id: int) -> str:
    return f"cohort:{cohort_id}"


def subjects_of_learner(guild_id: int, user_id: int, membership_ids: list[int]) -> ColumnElement[bool]:
    """The rows kept about one learner (their daily reminders and each membership's weekly ones)."""
    return or_(
        Delivery.subject == learner_subject(guild_id, user_id),
        Delivery.subject.in_([membership_subject(m) for m in membership_ids]),
    )


async def forget_learner(session: AsyncSession, guild_id: int, user_id: int, membership_ids: list[int]) -> int:
    """Delete what the ledger keeps about one learner, inside the caller's erasure; returns the rows deleted."""
    return await rows_changed(session, delete(Delivery).where(subjects_of_learner(guild_id, user_id, membership_ids)))


async def periods_recorded(session: AsyncSession, kind: str, subject: str) -> list[str]:
    """The periods of `kind` already recorded for `subject`, read inside the caller's unit of work."""
    return list(
        await session.scalars(select(Delivery.period).where(Delivery.kind == kind, Delivery.subject == subject))
    )


async def record_sent_once(
    session: AsyncSession, kind: str, subject: str, period: str, *, cohort_id: int, now: datetime
) -> bool:
    """Inside the caller's unit of work, record (kind, subject, period) as done; False when it already was,
    so what the caller owes with it is owed once however many passes reach it."""
    statement = insert_unless_present(session, Delivery, ["kind", "subject", "period"]).values(
        kind=kind, subject=subject, period=period, cohort_id=cohort_id, state=DeliveryState.SENT, attempts=1,
        late=False, due_at=now, claimed_at=now, sent_at=now, parts_sent=0,
    )
    return await rows_changed(session, statement) == 1


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes between attempts, capped at an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


class Ledger:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, *, ownership: Ownership = EVERYTHING
    ) -> None:
        self._ownership = ownership
        self._sessions = sessions
        self._clock = clock

    async def claim(
        self,
        kind: str,
        subject: str,
        period: str,
        *,
        due_at: datetime,
        cohort_id: int | None = None,
        late: bool = False,
    ) -> Delivery | None:
        """Insert the row in state `claimed`; None when it already exists (sent, claimed or failed)."""
        now = self._clock.now()
        row = Delivery(
            kind=kind,
            subject=subject,
            period=period,
            cohort_id=cohort_id,
            state=DeliveryState.CLAIMED,
            attempts=1,
            late=late,
            due_at=due_at,
            claimed_at=now,
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            return None
        return row

    async def claim_many(self, claims: Sequence[Claim], now: datetime) -> list[tuple[int, Claim]]:
        """Claim in bulk (`INSERT … ON CONFLICT DO NOTHING RETURNING`): only the claims this call inserted come
        back with their row ids; the rest were claimed before, by an earlier sweep or another process."""
        keyed = {claim.key: claim for claim in claims}
        if not keyed:
            return []
        rows = [
            {
                "kind": claim.kind,
                "subject": claim.subject,
                "period": claim.period,
                "cohort_id": claim.cohort_id,
                "state": DeliveryState.CLAIMED,
                "attempts": 1,
                "late": False,
                "due_at": claim.due_at,
                "claimed_at": now,
            }
            for claim in keyed.values()
        ]
        async with self._sessions.begin() as session:
            statement = insert_unless_present(session, Delivery, ["kind", "subject", "period"]).returning(
                Delivery.id, Delivery.kind, Delivery.subject, Delivery.period
            )
            result = await session.execute(statement, rows)
            return [(row_id, keyed[(kind, subject, period)]) for row_id, kind, subject, period in result.all()]

    async def record(self, outcomes: Outcomes, now: datetime) -> None:
        """Mark rows sent or failed, many rows per statement. A failed row is final: it is not retried."""
        async with self._sessions.begin() as session:
            for (channel_id, message_id), row_ids in outcomes.sent_rows.items():
                for chunk in _chunks(row_ids, UPDATE_CHUNK):
                    await session.execute(
                        update(Delivery)
                        .where(Delivery.id.in_(chunk))
                        .values(state=DeliveryState.SENT, sent_at=now, channel_id=channel_id, message_id=message_id)
                    )
            for reason, row_ids in outcomes.failed_rows.items():
                for chunk in _chunks(row_ids, UPDATE_CHUNK):
                    await session.execute(
                        update(Delivery)
                        .where(Delivery.id.in_(chunk))
                        .values(state=DeliveryState.FAILED, last_error=reason[:500], next_attempt_at=None)
                    )

    async def reclaim_failed(self, delivery_id: int) -> Delivery | None:
        """Take a failed row for another attempt if its backoff has passed and nobody else took it."""
        now = self._clock.now()
        async with self._sessions.begin() as session:
            row = await session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update())
            if row is None or row.state is not DeliveryState.FAILED:
                return None
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                return None
            row.state = DeliveryState.CLAIMED
            row.attempts += 1
            row.claimed_at = now
            return row

    async def sent(self, row: Delivery, *, channel_id: int | None = None, message_id: int | None = None) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == row.id)
                .values(
                    state=DeliveryState.SENT,
                    sent_at=self._clock.now(),
                    channel_id=channel_id,
                    message_id=message_id,
                    last_error=None,
                )
            )

    async def part_sent(self, row: Delivery, parts_sent: int, *, channel_id: int, message_id: int) -> None:
        """One more message of a multi-part post is out: a retry resumes after it. `message_id` is the first part's."""
        row.parts_sent, row.channel_id, row.message_id = parts_sent, channel_id, message_id
        async with self._sessions.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == row.id)
                .values(parts_sent=parts_sent, channel_id=channel_id, message_id=message_id)
            )

    async def thread_opened(self, row: Delivery, thread_id: int) -> None:
        row.thread_id = thread_id
        async with self._sessions.begin() as session:
            await session.execute(update(Delivery).where(Delivery.id == row.id).values(thread_id=thread_id))

    async def dropped(self, row: Delivery, error: str | None = None) -> None:
        """Nothing more will be sent for this row: it can never succeed as it is (`error` says why), or what it
        stood for was withdrawn; what comes after it is not held up."""
        values: dict[str, object] = {"state": DeliveryState.DROPPED}
        if error is not None:
            values["last_error"] = error[:500]
        async with self._sessions.begin() as session:
            await session.execute(update(Delivery).where(Delivery.id == row.id).values(**values))

    async def failed(self, row: Delivery, error: str) -> int:
        """Record a failed attempt and when to try again; returns the number of attempts so far."""
        async with self._sessions.begin() as session:
            stored = await session.get_one(Delivery, row.id)
            stored.state = DeliveryState.FAILED
            stored.last_error = error[:500]
            stored.next_attempt_at = self._clock.now() + backoff(stored.attempts)
            return stored.attempts

    async def retry_now(self, kind: str, cohort_id: int) -> None:
        """The cohort's failed rows of `kind` may be tried again at once: what refused them was put right."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.kind == kind, Delivery.cohort_id == cohort_id, Delivery.state == DeliveryState.FAILED)
                .values(next_attempt_at=self._clock.now())
            )

    async def mark_interrupted(self) -> int:
        """At start-up, rows still `claimed` were cut off mid-send by a stop: retry them, checking first.

        Only our servers' rows: another process's claims are its sends in flight, not interrupted ones."""
        async with self._sessions.begin() as session:
            claimed = select(Delivery).where(
                Delivery.state == DeliveryState.CLAIMED, self._ownership.cohorts(Delivery.cohort_id)
            )
            rows = (await session.scalars(claimed)).all()
            for row in rows:
                row.state = DeliveryState.FAILED
                row.last_error = INTERRUPTED
                row.next_attempt_at = self._clock.now()
            return len(rows)

    async def existing(self, kind: str, cohort_ids: list[int]) -> dict[tuple[str, str], LedgerEntry]:
        """(subject, period) → (id, state), for one kind across many cohorts, in one light query."""
        if not cohort_ids:
            return {}
        async with self._sessions() as session:
            rows = await session.execute(
                select(Delivery.subject, Delivery.period, Delivery.id, Delivery.state).where(
                    Delivery.kind == kind, Delivery.cohort_id.in_(cohort_ids)
                )
            )
            return {(subject, period): LedgerEntry(row_id, state) for subject, period, row_id, state in rows}

    async def replaced(self, row: Delivery, *, due_at: datetime, message_id: int | None) -> None:
        """What was sent now stands for another moment or object (a scheduled event moved or recreated)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Delivery).where(Delivery.id == row.id).values(due_at=due_at, message_id=message_id)
            )

    async def repurposed(self, row: Delivery, period: str) -> bool:
        """What was sent for one period now stands for another (an event moved to another week);
        False when that period already has a row of its own."""
        try:
            async with self._sessions.begin() as session:
                await session.execute(update(Delivery).where(Delivery.id == row.id).values(period=period))
        except IntegrityError:
            return False
        return True

    async def release(self, kind: str, subject: str, period: str) -> bool:
        """Forget a row, so the same (kind, subject, period) may be sent again; True if there was one."""
        async with self._sessions.begin() as session:
            removed = await rows_changed(
                session,
                delete(Delivery).where(Delivery.kind == kind, Delivery.subject == subject, Delivery.period == period),
            )
            return bool(removed)


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
