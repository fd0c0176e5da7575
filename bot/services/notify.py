"""The one way to tell a learner something: by DM as they prefer, else in the cohort channel, remembering refusals."""

from __future__ import annotations

from bot.domain.notices import Words
from bot.services.learners import LearnerService
from bot.services.ports import DiscordPort, LearnerNotice, NoticeRoute


class Notifier:
    def __init__(self, learners: LearnerService, port: DiscordPort) -> None:
        self._learners = learners
        self._port = port

    async def notify(
        self,
        guild_id: int,
        user_id: int,
        fallback_channel_id: int,
        text: Words,
        *,
        nonce: str | None = None,
        dms_closed: bool | None = None,
        buttons: object | None = None,
    ) -> NoticeRoute:
        """Send `text`; `dms_closed` when the caller already knows (else their settings are looked up).

        A DM that Discord refuses (50007) goes to `fallback_channel_id` mentioning only them, and later notices
        go straight there until they change their settings. DeliveryFailed when neither way worked."""
        if dms_closed is None:
            dms_closed = (await self._learners.prefs(guild_id, user_id)).dms_closed
        route = await self._port.notify_learner(
            LearnerNotice(guild_id, user_id, fallback_channel_id, text, dms_closed, nonce=nonce, buttons=buttons)
        )
        if route is NoticeRoute.CHANNEL_DMS_REFUSED:
            await self._learners.mark_dms_closed(guild_id, user_id)
        return route
