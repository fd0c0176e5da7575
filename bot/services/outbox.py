"""The outbox: what the bot owes people, written with the change that caused it and delivered until done.

A service adds a message (`owe`) in the same transaction as its change, so the debt exists exactly
when the change does. After the commit the caller asks for delivery at once (`deliver`); the schedule's
minute sweep (`kick`) delivers whatever that attempt or a stopped process left behind. Each attempt
claims its row by compare-and-set (pending → sending), so two workers never both send it; a row found
`sending` at start-up was cut off by a stop and is tried again, and handlers make that resend harmless
(the item's nonce, or a check of what is already recorded). Messages of one lane (a channel, a learner)
go out in the order they were written, a lane's later messages waiting behind one that backs off,
and a channel's lane is paced (a Discord channel takes about 5 messages per 5 seconds).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db.changes import rows_changed
from bot.db.group_commit import GroupCommit
from bot.db.models import OutboxMessage, OutboxState
from bot.pacing import Pacer
from bot.services.ledger import INTERRUPTED, backoff
from bot.services.ports import DeliveryFailed
from bot.shards import EVERYTHING, Ownership

log = logging.getLogger(__name__)

BATCH = 500
"""Rows read per pass of the drain; the next pass reads on."""
GIVE_UP_AFTER = 12
"""Attempts before a message nobody can deliver is dropped (with hourly back-off, about half a day)."""
CHANNEL_LANE = "channel:"
"""Lanes named `channel:ID` post into one Discord channel, and are paced like it."""
LANE_RATE = 1.0
LANE_BURST = 5
"""Per channel lane: 5 at once, then one a second, i.e. about 5 per 5 s, what Discord lets one channel take.
(DMs pass the Discord port's own pacer.)"""
LANES_AT_ONCE = 8
GATHER_OWED = 0.02
"""While lanes are at work, what is owed within this long is read in one go (a burst of commands owes one message
after another; a read for each would cost more than it gains)."""
WAIT_FOR_DELIVERY = 10.0
"""How long `deliver` waits for its own messages before returning (they stay owed if it runs out)."""


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    """This attempt's number: above 1, an earlier attempt may have reached Discord unrecorded."""

    @property
    def nonce(self) -> str:
        """The same on every attempt, so Discord drops a resend of a message it already made."""
        return f"o{self.id}"


Handler = Callable[[OutboxItem], Awaitable[None]]
"""Delivers one item; raises DeliveryFailed when Discord refused or failed it. Returning means done."""


def learner_lane(guild_id: int, user_id: int) -> str:
    """The lane of everything owed to one learner in one server (erasing them empties it)."""
    return f"learner:{guild_id}:{user_id}"


_OUTBOX = cast(Table, OutboxMessage.__table__)
_OWE = insert(_OUTBOX)


def owe(
    session: AsyncSession, clock: Clock, kind: str, payload: dict[str, Any], lane: str, *, guild_id: int | None
) -> OutboxMessage:
    """Add a message to the outbox inside the caller's transaction; its id is known after a flush.

    `guild_id` is the server it is owed in (None for DM-only work): the process of that server's shard delivers it."""
    now = clock.now()
    row = OutboxMessage(
        kind=kind, payload=payload, lane=lane[:64], guild_id=guild_id, state=OutboxState.PENDING, attempts=0,
        due_at=now, created_at=now,
    )
    session.add(row)
    return row


async def owe_many(
    session: AsyncSession, clock: Clock, debts: Sequence[tuple[str, dict[str, Any], str]], *, guild_id: int
) -> list[int]:
    """`owe` for many (kind, payload, lane) messages of one server at once, in one INSERT whatever their number;
    returns their ids. The rows take their ids in the order of `debts`, which is their order in a lane. Plain Core:
    on an Approve click, flushing two messages through the unit of work cost more than the statement."""
    if not debts:
        return []
    now = clock.now()
    rows = [
        {
            "kind": kind, "payload": payload, "lane": lane[:64], "guild_id": guild_id, "state": OutboxState.PENDING,
            "attempts": 0, "due_at": now, "created_at": now,
        }
        for kind, payload, lane in debts
    ]
    statement = _OWE.returning(_OUTBOX.c.id)
    return list((await session.scalars(statement.execution_options(insertmanyvalues_page_size=5000), rows)).all())


class Outbox:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        lane_rate: float | None = LANE_RATE,
        lane_burst: int = LANE_BURST,
        ownership: Ownership = EVERYTHING,
        give_way: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._ownership = ownership
        self._give_way = give_way
        """Awaited before each read of what is due (lanes already sending go on): the running bot's waits while
        interactions await their first answer."""
        self._sessions = sessions
        self._clock = clock
        self._handlers: dict[str, Handler] = {}
        self.lane_rate = lane_rate
        self._lane_burst = lane_burst
        self._pacers: dict[str, Pacer] = {}
        self._drain: asyncio.Task[None] | None = None
        self._owed = asyncio.Event()
        self._closed = False
        self._done: dict[int, asyncio.Event] = {}
        self._soon: dict[int, asyncio.Task[None]] = {}
        # Lanes claim and finish their messages side by side: each of these writes goes with the others of its
        # moment (an approval owes two messages, and their four units of work cost about as much CPU as the
        # decision's own).
        self._claims = GroupCommit(self._claim_all)
        self._sent = GroupCommit(self._mark_all_sent)

    def register(self, kind: str, handler: Handler) -> None:
        """The one handler for a kind of message (each feature registers its own)."""
        self._handlers[kind] = handler

    async def mark_interrupted(self) -> int:
        """At start-up: rows still `sending` were cut off by a stop; they, and all that wait, are due at once.

        Only our servers' rows: another process's `sending` rows are its sends in flight."""
        now = self._clock.now()
        mine = self._ownership.where(OutboxMessage.guild_id)
        async with self._sessions.begin() as session:
            interrupted = await rows_changed(
                session,
                update(OutboxMessage)
                .where(OutboxMessage.state == OutboxState.SENDING, mine)
                .values(state=OutboxState.PENDING, last_error=INTERRUPTED, due_at=now),
            )
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.due_at > now, mine)
                .values(due_at=now)
            )
            return interrupted

    async def deliver(self, ids: Iterable[int], within: float = WAIT_FOR_DELIVERY) -> None:
        """Deliver these (just committed) messages now, behind any older ones of their lanes, and wait a while
        for their first attempt; whatever is not done by then stays owed and the drain goes on."""
        waiters = [asyncio.create_task(self._done.setdefault(i, asyncio.Event()).wait()) for i in ids]
        self.start_drain()
        if waiters:
            _, late = await asyncio.wait(waiters, timeout=within)
            for waiter in late:
                waiter.cancel()

    def deliver_soon(self, ids: Iterable[int], *, key: int, then: Callable[[], object] | None = None) -> None:
        """`deliver` without waiting for it (an answer that must not wait for a paced channel); `then` runs when
        `deliver` would have returned, and `delivered(key)` waits for the same moment."""
        task = asyncio.create_task(self._deliver_then(list(ids), then), name="outbox-deliver")
        self._soon[key] = task
        task.add_done_callback(lambda _: self._soon.pop(key, None))

    async def _deliver_then(self, ids: list[int], then: Callable[[], object] | None) -> None:
        try:
            await self.deliver(ids)
        finally:
            if then is not None:
                then()

    async def delivered(self, key: int) -> None:
        """Wait for a `deliver_soon(key=key)` to reach the point `deliver` returns at (tests read that state)."""
        task = self._soon.get(key)
        if task is not None:
            await asyncio.wait([task])

    async def kick(self) -> None:
        """Make sure a drain runs soon (the schedule's sweep calls this every minute)."""
        self.start_drain()

    def start_drain(self) -> None:
        if self._closed:
            return
        if self._drain is not None and not self._drain.done():
            self._owed.set()  # something new was owed: the drain reads again, and starts its lane if idle
            return
        self._drain = asyncio.create_task(self._drain_logged(), name="outbox-drain")

    async def settle(self) -> None:
        """Wait until the drain has nothing left that is due, and every `deliver_soon` is over (tests and the demo
        read a settled state; a stop waits for the cancelled ones)."""
        while (self._drain is not None and not self._drain.done()) or self._soon:
            running = [task for task in (self._drain, *self._soon.values()) if task is not None]
            await asyncio.gather(*running, return_exceptions=True)
        for group in (self._claims, self._sent):
            await group.settle()

    def shutdown(self) -> None:
        self._closed = True
        if self._drain is not None:
            self._drain.cancel()
        for task in self._soon.values():
            task.cancel()

    async def drain(self) -> int:
        """Deliver everything due, lane by lane in order, until nothing due is left; returns how many were sent.

        Lanes run side by side, and a lane owed something while others are still at work starts at once: a
        learner's notice never waits behind a review channel's paced backlog."""
        gate = asyncio.Semaphore(LANES_AT_ONCE)
        running: dict[str, asyncio.Task[int]] = {}
        sent = 0
        # A task group, not gather: a drain cancelled by a stop ends only when each lane has left its unit of
        # work, so `settle` returns with no connection in use (gather gives up at the first cancelled lane).
        async with asyncio.TaskGroup() as group:
            while True:
                if self._give_way is not None:
                    await self._give_way()  # what is owed meanwhile is read in the same pass
                self._owed.clear()
                for lane, items in (await self._due_lanes(busy=running.keys())).items():
                    running[lane] = group.create_task(self._drain_lane(lane, items, gate))
                if not running:
                    if self._owed.is_set():
                        continue
                    return sent
                owed = asyncio.create_task(self._owed.wait())
                try:
                    await asyncio.wait([owed, *running.values()], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    owed.cancel()
                if self._owed.is_set():
                    await asyncio.sleep(GATHER_OWED)
                for lane, run in list(running.items()):
                    if run.done():
                        sent += run.result()
                        del running[lane]

    async def _drain_logged(self) -> None:
        try:
            await self.drain()
        except Exception:
            log.exception("the outbox drain failed; the next sweep tries again")
        finally:
            for event in self._done.values():
                event.set()  # nobody waits past a drain that stopped
            self._done.clear()

    async def _due_lanes(self, busy: Iterable[str] = ()) -> dict[str, list[OutboxItem]]:
        """Unsent messages in write order, grouped by lane, each lane cut at its first one not due yet; none of the
        `busy` lanes (being drained: read again when they finish, and never filling the batch meanwhile)."""
        now = self._clock.now()
        async with self._sessions() as session:
            # Plain rows, not ORM objects: a drain pass under a burst reads hundreds of them.
            rows = (
                await session.execute(
                    select(
                        OutboxMessage.id, OutboxMessage.kind, OutboxMessage.payload, OutboxMessage.lane,
                        OutboxMessage.state, OutboxMessage.attempts, OutboxMessage.due_at,
                    )
                    .where(
                        OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                        self._ownership.where(OutboxMessage.guild_id),
                        OutboxMessage.lane.not_in(list(busy)),
                    )
                    .order_by(OutboxMessage.id)
                    .limit(BATCH)
                )
            ).all()
        lanes: dict[str, list[OutboxItem]] = defaultdict(list)
        blocked: set[str] = set()
        for row in rows:
            if row.lane in blocked:
                continue
            if row.state is OutboxState.SENDING or row.due_at > now:
                blocked.add(row.lane)  # order holds: nothing overtakes a message still in flight or backing off
                self._finished(row.id)
                continue
            lanes[row.lane].append(OutboxItem(row.id, row.kind, dict(row.payload), row.attempts + 1))
        return lanes

    async def _drain_lane(self, lane: str, items: list[OutboxItem], gate: asyncio.Semaphore) -> int:
        sent = 0
        async with gate:
            for item in items:
                if not await self._claims(item.id):
                    break  # another worker has it: it keeps the lane's order
                await self._pace(lane)
                delivered = await self._attempt(item)
                self._finished(item.id)
                if not delivered:
                    break
                sent += 1
        return sent

    async def _claim_all(self, ids: list[int]) -> dict[int, bool]:
        """Pending → sending for each row still pending (compare-and-set: another worker's stays theirs)."""
        async with self._sessions.begin() as session:
            taken = set(
                (await session.scalars(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.state == OutboxState.PENDING)
                    .values(state=OutboxState.SENDING, attempts=OutboxMessage.attempts + 1)
                    .returning(OutboxMessage.id)
                )).all()
            )
        return {i: i in taken for i in ids}

    async def _mark_all_sent(self, ids: list[int]) -> dict[int, None]:
        async with self._sessions.begin() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids))
                .values(state=OutboxState.SENT, sent_at=self._clock.now(), last_error=None)
            )
        return dict.fromkeys(ids)

    async def _pace(self, lane: str) -> None:
        if not lane.startswith(CHANNEL_LANE):
            return
        pacer = self._pacers.get(lane)
        if pacer is None:
            pacer = self._pacers[lane] = Pacer(self.lane_rate, self._lane_burst)
        await pacer.wait()

    async def _attempt(self, item: OutboxItem) -> bool:
        handler = self._handlers.get(item.kind)
        try:
            if handler is None:
                raise DeliveryFailed(f"no handler for '{item.kind}'", retryable=False)
            await handler(item)
        except DeliveryFailed as exc:
            await self._failed(item, exc)
            return False
        except Exception as exc:
            log.exception("outbox message %s (%s) failed unexpectedly", item.id, item.kind)
            await self._failed(item, DeliveryFailed(f"unexpected error: {type(exc).__name__}", retryable=True))
            return False
        await self._sent(item.id)
        return True

    async def _failed(self, item: OutboxItem, exc: DeliveryFailed) -> None:
        give_up = exc.rejected or item.attempts >= GIVE_UP_AFTER
        log.warning(
            "outbox message %s (%s) failed, attempt %d%s: %s",
            item.id, item.kind, item.attempts, " (dropped)" if give_up else "", exc.reason,
        )
        state = OutboxState.DROPPED if give_up else OutboxState.PENDING
        due = self._clock.now() + backoff(item.attempts)
        await self._set(item, state=state, due_at=due, last_error=exc.reason[:500])

    async def _set(self, item: OutboxItem, **values: Any) -> None:
        async with self._sessions.begin() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == item.id).values(**values))

    def _finished(self, item_id: int) -> None:
        event = self._done.pop(item_id, None)
        if event is not None:
            event.set()
