"""Message and attachment storage, shared by channel routes and interaction responses."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from .bodies import Body, Upload
from .records import EPHEMERAL, LOADING, Message, StoredAttachment
from .waiting import Notifier
from .world import Channel, User, World, utcnow

SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_COMPONENTS_V2 = 1 << 2, 1 << 12, 1 << 15
SETTABLE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2


class MessageStore:
    """Every message per channel, plus uploaded files served under /attachments/."""

    def __init__(self, world: World, notifier: Notifier) -> None:
        self.world = world
        self.notifier = notifier
        self.base_url = ""
        self.by_channel: dict[int, list[Message]] = {}
        self.by_id: dict[int, Message] = {}
        self.attachments: dict[int, StoredAttachment] = {}
        self.nonces: dict[tuple[int, str], tuple[float, Message]] = {}
        """(author id, nonce) → (when, message) of messages created with enforce_nonce."""

    def store_file(self, channel_id: int, filename: str, data: bytes, content_type: str) -> StoredAttachment:
        attachment_id = self.world.ids.next()
        quoted = urllib.parse.quote(filename)
        url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{quoted}"
        stored = StoredAttachment(attachment_id, filename, content_type, data, url)
        self.attachments[attachment_id] = stored
        return stored

    def create(
        self,
        channel: Channel,
        author: User,
        body: Body,
        *,
        extra_flags: int = 0,
        allowed_flags: int = SETTABLE_FLAGS,
        **fields: Any,
    ) -> Message:
        """Store a message built from a create-message body; `fields` sets Message attributes directly."""
        payload = body.fields
        message = Message(
            id=self.world.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild.id if channel.guild else None,
            author=author,
            content=payload.get("content") or "",
            embeds=payload.get("embeds") or [],
            components=payload.get("components") or [],
            flags=((payload.get("flags") or 0) & allowed_flags) | extra_flags,
            **fields,
        )
        message.attachments = self._attachments(channel.id, body, [])
        self.by_channel.setdefault(channel.id, []).append(message)
        self.by_id[message.id] = message
        self.notifier.bump()
        return message

    def by_nonce(self, author: User, nonce: str, window: float) -> Message | None:
        """The message `author` created with this nonce within the last `window` seconds, if it still exists."""
        found = self.nonces.get((author.id, nonce))
        if found is None or time.monotonic() - found[0] > window or found[1].deleted:
            return None
        return found[1]

    def remember_nonce(self, message: Message, nonce: str) -> None:
        message.nonce = nonce
        self.nonces[(message.author.id, nonce)] = (time.monotonic(), message)

    def edit(self, message: Message, body: Body) -> None:
        """Apply an edit body: keys present replace, `attachments` lists which files survive."""
        payload = body.fields
        for key in ("content", "embeds", "components"):
            if key in payload:
                setattr(message, key, payload[key] or ("" if key == "content" else []))
        if "flags" in payload:
            kept = message.flags & (EPHEMERAL | LOADING)
            message.flags = kept | ((payload["flags"] or 0) & SETTABLE_FLAGS)
        if "attachments" in payload or body.files:
            message.attachments = self._attachments(message.channel_id, body, message.attachments)
        # An edit always resolves a deferred "thinking…" placeholder.
        message.flags &= ~LOADING
        message.edited_at = utcnow()
        message.revision += 1
        self.notifier.bump()

    def delete(self, message: Message) -> None:
        message.deleted = True
        self.by_channel.get(message.channel_id, []).remove(message)
        self.by_id.pop(message.id, None)
        self.notifier.bump()

    def in_channel(self, channel_id: int, *, include_ephemeral: bool = False) -> list[Message]:
        return [m for m in self.by_channel.get(channel_id, []) if include_ephemeral or not m.ephemeral]

    def _attachments(self, channel_id: int, body: Body, existing: list[StoredAttachment]) -> list[StoredAttachment]:
        uploads = {upload.index: upload for upload in body.files}
        spec = body.fields.get("attachments")
        if spec is None:
            return existing + [self._upload(channel_id, u, u.filename) for u in body.files]
        kept = {a.id: a for a in existing}
        result = []
        for entry in spec:
            ref = int(entry["id"])
            if ref in kept:
                result.append(kept[ref])
            elif ref in uploads:
                result.append(self._upload(channel_id, uploads[ref], entry.get("filename") or uploads[ref].filename))
        return result

    def _upload(self, channel_id: int, upload: Upload, filename: str) -> StoredAttachment:
        return self.store_file(channel_id, filename, upload.data, upload.content_type)
