"""What the sandbox remembers: requests, stored messages and uploaded attachments."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .world import User, utcnow

EPHEMERAL = 1 << 6
LOADING = 1 << 7


@dataclass
class RecordedRequest:
    """One REST call from the bot; `path` is relative to the API base, e.g. /channels/1/messages."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[str]
    time: float
    status: int = 0
    response: Any = None

    @property
    def error_code(self) -> int | None:
        return self.response.get("code") if self.status >= 400 and isinstance(self.response, dict) else None


@dataclass(eq=False)
class StoredAttachment:
    """An uploaded file, served back at `url` by the sandbox."""

    id: int
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    url: str = ""

    @property
    def size(self) -> int:
        return len(self.data)

    def text(self, encoding: str = "utf-8") -> str:
        return self.data.decode(encoding)


@dataclass(eq=False)
class Message:
    """A message as the sandbox stores it; ephemeral interaction replies included."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    created_at: dt.datetime = field(default_factory=utcnow)
    edited_at: dt.datetime | None = None
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    deleted: bool = False
    revision: int = 0
    nonce: str | None = None

    @property
    def author_id(self) -> int:
        return self.author.id

    @property
    def edited(self) -> bool:
        return self.edited_at is not None

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while this is a deferred "thinking…" placeholder."""
        return bool(self.flags & LOADING)
