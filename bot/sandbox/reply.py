"""What a test gets back from an injected interaction: the bot's response, live."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError
from .interactions import DEFERRED_MESSAGE, DEFERRED_UPDATE, InteractionRecord
from .limits import walk_components
from .records import Message, StoredAttachment
from .waiting import SANDBOX_ONLY_RECHECK, Notifier

TEXT_INPUT = 4
# Modal inputs answered with a list (string select, checkbox group) or one value, with its empty form
# (text input, radio group, checkbox).
LIST_INPUTS = frozenset({3, 22})
SCALAR_INPUTS: dict[int, Any] = {TEXT_INPUT: "", 21: None, 23: False}
MODAL_INPUTS = LIST_INPUTS | SCALAR_INPUTS.keys()


@dataclass
class Modal:
    """A modal the bot opened; `fields` are its inputs with the label shown to the user."""

    custom_id: str
    title: str
    components: list[dict[str, Any]]

    @property
    def fields(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _, component in walk_components(self.components):
            inner = component.get("component")
            if component.get("type") == 18 and isinstance(inner, dict):
                component = {**inner, "label": component.get("label")}
            custom_id = component.get("custom_id")
            # A label's child is walked again on its own; the first sighting carries the label.
            if component.get("type") in MODAL_INPUTS and custom_id and custom_id not in seen:
                seen.add(custom_id)
                found.append(component)
        return found


class Reply:
    """The bot's answer to one interaction; attributes read the sandbox's current state."""

    def __init__(
        self,
        record: InteractionRecord,
        notifier: Notifier,
        timeout: float,
        what: str,
        settle_hooks: list[Callable[[int], Awaitable[object]]],
    ) -> None:
        self.record = record
        self._settle_hooks = settle_hooks
        self._notifier = notifier
        self._timeout = timeout
        self._what = what
        self._start_revision = record.source_message.revision if record.source_message else 0

    def __repr__(self) -> str:
        return f"<Reply to {self._what} type={self.type} content={self.content!r} errors={self.errors}>"

    @property
    def type(self) -> int | None:
        """The callback type the bot used (4 message, 5/6 deferred, 7 update, 8 choices, 9 modal)."""
        return self.record.response_type

    @property
    def responded(self) -> bool:
        return self.record.response_type is not None

    @property
    def deferred(self) -> bool:
        return self.type in (DEFERRED_MESSAGE, DEFERRED_UPDATE)

    @property
    def message(self) -> Message | None:
        """The message this response created or updated (the component's message for 6/7)."""
        return self.record.original

    @property
    def content(self) -> str | None:
        return self.message.content if self.message else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds if self.message else []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.components if self.message else []

    @property
    def attachments(self) -> list[StoredAttachment]:
        return self.message.attachments if self.message else []

    @property
    def ephemeral(self) -> bool:
        return self.message.ephemeral if self.message else False

    @property
    def modal(self) -> Modal | None:
        data = self.record.modal
        if data is None:
            return None
        return Modal(data.get("custom_id", ""), data.get("title", ""), data.get("components") or [])

    @property
    def choices(self) -> list[dict[str, Any]]:
        return self.record.choices or []

    @property
    def followups(self) -> list[Message]:
        return self.record.followups

    @property
    def errors(self) -> list[ApiError]:
        """Discord errors the sandbox answered to the bot's calls for this interaction."""
        return self.record.errors

    async def wait(self, *, settle: bool = True, within: float | None = None) -> Reply:
        """Wait for the initial response (or a refusal); with `settle`, also for the content after a deferral."""
        limit = within or self._timeout
        record = self.record
        await self._notifier.until(lambda: self.responded or record.errors, limit, self._describe("a response"),
                                   recheck=SANDBOX_ONLY_RECHECK)
        if settle and self.deferred and not record.errors:
            await self._notifier.until(self._settled, limit, self._describe("a followup or edit after the deferral"),
                                       recheck=SANDBOX_ONLY_RECHECK)
        if settle:
            for hook in self._settle_hooks:
                await hook(record.id)
        return self

    async def wait_followups(self, count: int = 1, *, within: float | None = None) -> list[Message]:
        def enough() -> bool:
            return len(self.record.followups) >= count or bool(self.record.errors)

        await self._notifier.until(enough, within or self._timeout, self._describe(f"{count} followup(s)"),
                                   recheck=SANDBOX_ONLY_RECHECK)
        return self.record.followups

    def _settled(self) -> bool:
        record = self.record
        if record.followups or record.original_edited or record.errors:
            return True
        original = record.original
        if self.type == DEFERRED_MESSAGE:
            return original is not None and not original.loading
        return original is not None and original.revision > self._start_revision

    def _describe(self, event: str) -> str:
        return f"{event} from the bot to {self._what} (interaction {self.record.id})"
