"""Small reusable views: buttons that only the person who asked can press, and a confirm/cancel pair."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord

from bot.interaction_errors import ErrorHandlingView
from bot.telemetry.interactions import Outcome, note_outcome


@dataclass(frozen=True)
class Answer:
    """What Confirm shows, and Discord calls to make only once it is shown (they may be slow or refused)."""

    text: str
    then: Callable[[], Awaitable[None]] | None = None


OnConfirm = Callable[[discord.Interaction], Awaitable[str | Answer]]


class OwnerOnlyView(ErrorHandlingView):
    """Refuses everyone but `owner_id`; `close()` disables every button once one was used."""

    def __init__(self, owner_id: int, *, timeout: float = 120) -> None:
        super().__init__(timeout=timeout)
        self._owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self._owner_id:
            note_outcome(Outcome.REFUSED)
            await interaction.response.send_message("These buttons are for someone else.", ephemeral=True)
            return False
        return True

    def close(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        self.stop()


class ConfirmView(OwnerOnlyView):
    """Confirm runs `on_confirm` and shows its answer; Cancel changes nothing. Both disable the buttons."""

    def __init__(self, owner_id: int, on_confirm: OnConfirm, *, confirm_label: str, timeout: float = 120) -> None:
        super().__init__(owner_id, timeout=timeout)
        self._on_confirm = on_confirm
        self.confirm.label = confirm_label

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.close()
        answer = await self._on_confirm(interaction)
        if isinstance(answer, str):
            answer = Answer(answer)
        await interaction.response.edit_message(content=answer.text, view=self)
        if answer.then is not None:
            await answer.then()

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.close()
        await interaction.response.edit_message(content="Cancelled; nothing changed.", view=self)
