"""What the services need from Discord, as a protocol: the bot implements it, tests use the sandbox."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.notices import DigestFacts, PingMessage, Words
from bot.roadmap import Module, Roadmap
from bot.services.stats import CohortStats


class DeliveryFailed(Exception):
    """Discord refused or failed a send. `retryable` is false when only a person can fix it.

    `rejected`: Discord refused the request itself (HTTP 400), so sending it again unchanged can never work."""

    def __init__(self, reason: str, *, retryable: bool, rejected: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable and not rejected
        self.rejected = rejected


@dataclass(frozen=True)
class WeekPost:
    cohort_id: int
    cohort_name: str
    channel_id: int
    moderator_channel_id: int
    roadmap: Roadmap
    module: Module
    due: datetime | None
    late_since: datetime | None
    """Set when the bot missed the opening (downtime): the post says it is late and since when."""
    delivery_id: int = 0
    """Its ledger row: every part is sent with a nonce derived from it, so Discord drops a resend."""
    may_exist: bool = False
    """A previous attempt may have sent this part unrecorded: look for it in the channel before sending it."""

    @property
    def marker(self) -> str:
        """Footer text that identifies this post in the channel, for the duplicate check."""
        return f"{self.cohort_name} · {self.module.label} · cohort #{self.cohort_id}"

    def nonce(self, part: int | str) -> str:
        """The same for every attempt at one part (Discord allows 25 characters)."""
        return f"w{self.delivery_id}.{part}"


@dataclass(frozen=True)
class WrapUp:
    cohort_name: str
    channel_id: int
    roadmap: Roadmap
    members: int


@dataclass(frozen=True)
class LearnerNotice:
    """Something meant for one learner: by DM, else in `fallback_channel_id` mentioning only them."""

    guild_id: int
    user_id: int
    fallback_channel_id: int
    text: Words
    dms_closed: bool = False
    nonce: str | None = None
    """The same on every attempt at this notice (an outbox item's), so a resend cannot make a second one."""
    buttons: object | None = None
    """Components the Discord adapter attaches as they are (peer review's Review buttons, a `discord.ui.View`);
    services pass them through without knowing Discord's types."""


@dataclass(frozen=True)
class RoleRequest:
    """A role to give: `role_id` if the server still has it, else the role named `name`, else a new one."""

    guild_id: int
    role_id: int | None
    name: str | None
    """None: only `role_id` will do (a moderator chose it); its absence is then a problem to report."""
    color: int
    reason: str


@dataclass(frozen=True)
class SessionEvent:
    """One meeting of a live session as a Discord scheduled event: in a voice or stage channel, else at `location`."""

    guild_id: int
    name: str
    description: str
    start: datetime
    end: datetime
    channel_id: int | None
    location: str | None
    """Shown for an event outside a channel."""


@dataclass(frozen=True)
class KnownEvent:
    """A scheduled event as the server lists it now (moderators may have edited or deleted ours)."""

    id: int
    name: str
    start: datetime
    description: str


class NoticeRoute(enum.StrEnum):
    DM = "dm"
    CHANNEL = "channel"
    CHANNEL_DMS_REFUSED = "channel_dms_refused"
    """Discord refused the DM (50007) just now: the caller should remember that DMs are closed."""


class DiscordPort(Protocol):
    def week_parts(self, post: WeekPost) -> int:
        """How many messages the full post of this week takes."""
        ...

    async def post_week_part(self, post: WeekPost, index: int) -> int:
        """Send part `index` (from 0) of a week's post; return its message id."""
        ...

    async def post_week_short(self, post: WeekPost) -> int:
        """One short message announcing the week and pointing to /roadmap, for when Discord refused the full post."""
        ...

    async def open_week_thread(self, post: WeekPost, message_id: int) -> int:
        """Open the week's discussion thread on `message_id` (or find the one already there); return its id."""
        ...

    async def post_wrap_up(self, wrap_up: WrapUp) -> int: ...

    async def tell_moderators(self, channel_id: int, text: Words, *, chart: CohortStats | None = None) -> None:
        """Post `text` for the moderators, with the cohort's statistics chart attached when given."""
        ...

    async def post_digest(self, channel_id: int, digest: DigestFacts, chart: CohortStats) -> None:
        """The moderators' weekly digest, in as many messages as it takes, the chart on the first."""
        ...

    async def notify_learner(self, notice: LearnerNotice) -> NoticeRoute: ...

    async def resolve_role(self, request: RoleRequest) -> int:
        """The id of the role to give, creating it (name and colour, no permissions) when the server lacks it."""
        ...

    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        """Give a member a role; DeliveryFailed says exactly what a moderator must change when Discord refuses."""
        ...

    async def post_announcement(self, channel_id: int, text: Words) -> int:
        """Post `text` in a channel, pinging nobody; return the message id."""
        ...

    def can_manage_events(self, guild_id: int) -> bool | None:
        """Whether the bot holds Manage Events or Create Events in the server (from the gateway's cache);
        None for a server it does not know (not joined, or not told about yet)."""
        ...

    async def list_events(self, guild_id: int) -> list[KnownEvent]:
        """The server's scheduled events that have not ended."""
        ...

    async def create_event(self, event: SessionEvent) -> int:
        """Create the scheduled event; return its id."""
        ...

    async def move_event(self, event_id: int, event: SessionEvent) -> None: ...

    async def cancel_event(self, guild_id: int, event_id: int) -> None:
        """Cancel the event; one that is already gone counts as cancelled."""
        ...

    def ping_messages(self, said: Words, user_ids: Sequence[int]) -> list[PingMessage]:
        """`said` with the users' mentions in front, over as few messages as Discord's limits allow."""
        ...

    async def post_pings(self, channel_id: int, content: str, user_ids: Sequence[int]) -> int:
        """Post `content` in a channel, pinging exactly `user_ids` whatever it contains; return the message id.

        The caller keeps `content` within Discord's limits (as `ping_messages` made it)."""
        ...
