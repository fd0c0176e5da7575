"""A Discord port for service tests: records every call, answers with fresh ids, and fails when told to.

What services hand it as facts is recorded worded by `bot.render`, as the real port would send it."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.notices import DigestFacts, PingMessage, Words
from bot.render.notices import words
from bot.render.reminders import ping_messages
from bot.services.ports import (
    DeliveryFailed,
    KnownEvent,
    LearnerNotice,
    NoticeRoute,
    RoleRequest,
    SessionEvent,
    WeekPost,
    WrapUp,
)
from bot.services.stats import CohortStats


@dataclass(frozen=True)
class Call:
    method: str
    args: tuple[Any, ...]


class FakePort:
    """Implements bot.services.ports.DiscordPort without Discord. Each new method is one line over `_send`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.dms_refused: set[int] = set()
        """Users whose DMs Discord refuses (50007): their notices go to the channel, and the caller is told."""
        self._failures: dict[str, list[DeliveryFailed]] = {}
        self._ids = itertools.count(900_000_000_000_000_000)

    def fail(self, method: str, error: DeliveryFailed, *, times: int = 1) -> None:
        """Make the next `times` calls of `method` raise `error` (recorded all the same)."""
        self._failures.setdefault(method, []).extend([error] * times)

    def called(self, method: str) -> list[tuple[Any, ...]]:
        """The arguments of every call of `method`, oldest first."""
        return [call.args for call in self.calls if call.method == method]

    async def _send(self, method: str, *args: Any) -> int:
        self.calls.append(Call(method, args))
        pending = self._failures.get(method)
        if pending:
            raise pending.pop(0)
        return next(self._ids)

    def week_parts(self, post: WeekPost) -> int:
        return 1

    async def post_week_part(self, post: WeekPost, index: int) -> int:
        return await self._send("post_week_part", post, index)

    async def post_week_short(self, post: WeekPost) -> int:
        return await self._send("post_week_short", post)

    async def open_week_thread(self, post: WeekPost, message_id: int) -> int:
        return await self._send("open_week_thread", post, message_id)

    async def post_wrap_up(self, wrap_up: WrapUp) -> int:
        return await self._send("post_wrap_up", wrap_up)

    async def tell_moderators(self, channel_id: int, text: Words, *, chart: CohortStats | None = None) -> None:
        await self._send("tell_moderators", channel_id, words(text))

    async def post_digest(self, channel_id: int, digest: DigestFacts, chart: CohortStats) -> None:
        await self._send("post_digest", channel_id, digest)

    async def notify_learner(self, notice: LearnerNotice) -> NoticeRoute:
        await self._send("notify_learner", dataclasses.replace(notice, text=words(notice.text)))
        if notice.dms_closed:
            return NoticeRoute.CHANNEL
        return NoticeRoute.CHANNEL_DMS_REFUSED if notice.user_id in self.dms_refused else NoticeRoute.DM

    async def resolve_role(self, request: RoleRequest) -> int:
        made = await self._send("resolve_role", request)
        return request.role_id if request.role_id is not None else made

    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        await self._send("add_role", guild_id, user_id, role_id)

    async def post_announcement(self, channel_id: int, text: Words) -> int:
        return await self._send("post_announcement", channel_id, words(text))

    def can_manage_events(self, guild_id: int) -> bool | None:
        return True

    async def list_events(self, guild_id: int) -> list[KnownEvent]:
        await self._send("list_events", guild_id)
        return []

    async def create_event(self, event: SessionEvent) -> int:
        return await self._send("create_event", event)

    async def move_event(self, event_id: int, event: SessionEvent) -> None:
        await self._send("move_event", event_id, event)

    async def cancel_event(self, guild_id: int, event_id: int) -> None:
        await self._send("cancel_event", guild_id, event_id)

    def ping_messages(self, said: Words, user_ids: Sequence[int]) -> list[PingMessage]:
        return ping_messages(user_ids, words(said))

    async def post_pings(self, channel_id: int, content: str, user_ids: Sequence[int]) -> int:
        return await self._send("post_pings", channel_id, content, tuple(user_ids))
