"""The services' Discord port, implemented with discord.py: sends posts and maps failures to DeliveryFailed."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import discord

from bot.pacing import Pacer
from bot.render import limits
from bot.render.drawing import picture
from bot.render.messages import wrap_up_text
from bot.render.stats_chart import render_chart
from bot.render.week_post import render_embeds
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
from bot.tier_roles import RoleGranter

if TYPE_CHECKING:
    from bot.app import CohortBot

log = logging.getLogger(__name__)
T = TypeVar("T")
CANNOT_DM = 50007
CHART_NAME = "cohort-stats.png"
GUILD_ONLY = 2
CANCELLED = discord.EventStatus.cancelled.value
EVENT_DESCRIPTION = 1000
HISTORY_CHECKED = 50
"""How far back to look for a post that a cut-off attempt may already have sent."""


class BotDiscordPort:
    def __init__(self, bot: CohortBot) -> None:
        self._bot = bot
        self._roles = RoleGranter(bot)
        self.pace = Pacer()
        """Paces DMs and pings so that thousands of reminders never trip Discord's global rate limit."""
        self._dm_channels: dict[int, int] = {}
        """user id → DM channel id (discord.py keeps only 128): one request per DM instead of two or three."""

    async def resolve_role(self, request: RoleRequest) -> int:
        return await self._roles.resolve(request)

    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        await self._roles.add(guild_id, user_id, role_id, reason)

    async def post_announcement(self, channel_id: int, text: str) -> int:
        channel = self._bot.get_partial_messageable(channel_id)
        message = await _guard(lambda: channel.send(content=limits.truncate(text, limits.MESSAGE_CONTENT)))
        return message.id

    async def post_week(self, post: WeekPost) -> int:
        channel = self._bot.get_partial_messageable(post.channel_id)
        if post.may_exist:
            found = await _guard(lambda: self._find_post(channel, post.marker))
            if found is not None:
                return found
        embeds = render_embeds(post.roadmap, post.module, due=post.due)
        embeds[-1].set_footer(text=limits.truncate(post.marker, 2048))
        content = f"**{post.module.label} of '{post.cohort_name}' is open.**"
        if post.late_since is not None:
            content += f" (Posted late: it was due <t:{int(post.late_since.timestamp())}:f>; I was offline.)"
        first = await _guard(lambda: channel.send(content=content, embed=embeds[0]))
        for extra in embeds[1:]:
            await _guard(lambda extra=extra: channel.send(embed=extra))
        name = limits.truncate(f"{post.module.label} · {post.module.title}", limits.THREAD_NAME)
        try:
            # Straight to the route: a partial channel's message has no guild object to build a Thread from.
            await self._bot.http.start_thread_with_message(
                post.channel_id, first.id, name=name, auto_archive_duration=10080, rate_limit_per_user=None
            )
        except discord.HTTPException as exc:
            # The post itself is out: a missing thread is worth telling, never worth posting twice for.
            text = (
                f"'{post.cohort_name}': {post.module.label} is posted in <#{post.channel_id}>, but I could not "
                f"open its discussion thread ({_reason(exc)}). Check that I may create public threads there."
            )
            try:
                await self.tell_moderators(post.moderator_channel_id, text)
            except DeliveryFailed as report_exc:
                log.error("could not report a missing thread: %s", report_exc.reason)
        return first.id

    async def _find_post(self, channel: discord.PartialMessageable, marker: str) -> int | None:
        async for message in channel.history(limit=HISTORY_CHECKED):
            if message.author.id == self._bot.user.id and any(
                embed.footer.text == marker for embed in message.embeds
            ):
                return message.id
        return None

    async def post_wrap_up(self, wrap_up: WrapUp) -> int:
        channel = self._bot.get_partial_messageable(wrap_up.channel_id)
        message = await _guard(lambda: channel.send(content=wrap_up_text(wrap_up)))
        return message.id

    async def tell_moderators(self, channel_id: int, text: str, *, chart: CohortStats | None = None) -> None:
        channel = self._bot.get_partial_messageable(channel_id)
        content = limits.truncate(text, limits.MESSAGE_CONTENT)
        if chart is None:
            await _guard(lambda: channel.send(content=content))
            return
        image = await picture(render_chart, chart)
        await _guard(lambda: channel.send(content=content, file=discord.File(io.BytesIO(image), CHART_NAME)))


    async def notify_learner(self, notice: LearnerNotice) -> NoticeRoute:
        text = limits.truncate(notice.text, limits.MESSAGE_CONTENT - 30)
        if not notice.dms_closed:
            try:
                dm = await self._dm_channel(notice.user_id)
                await self.pace.wait()
                await dm.send(content=text)
                return NoticeRoute.DM
            except discord.Forbidden as exc:
                if exc.code != CANNOT_DM:
                    raise DeliveryFailed(f"missing permission ({_reason(exc)})", retryable=False) from exc
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
                raise DeliveryFailed(f"Discord did not accept the DM ({_reason(exc)})", retryable=True) from exc
        channel = self._bot.get_partial_messageable(notice.fallback_channel_id)
        # The one deliberate ping: exactly this learner, nobody else, whatever the text contains.
        only_them = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(notice.user_id)])
        await self.pace.wait()
        await _guard(lambda: channel.send(content=f"<@{notice.user_id}> {text}", allowed_mentions=only_them))
        return NoticeRoute.CHANNEL if notice.dms_closed else NoticeRoute.CHANNEL_DMS_REFUSED

    async def _dm_channel(self, user_id: int) -> discord.PartialMessageable:
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            await self.pace.wait()
            data = await self._bot.http.start_private_message(user_id)
            channel_id = self._dm_channels[user_id] = int(data["id"])
        return self._bot.get_partial_messageable(channel_id, type=discord.ChannelType.private)

    def can_manage_events(self, guild_id: int) -> bool | None:
        guild = self._bot.get_guild(guild_id)
        if guild is None:
            return None
        allowed = guild.me.guild_permissions
        return allowed.manage_events or allowed.create_events

    async def list_events(self, guild_id: int) -> list[KnownEvent]:
        listed = await _guard(lambda: self._bot.http.get_scheduled_events(guild_id, False))
        return [
            KnownEvent(
                int(data["id"]),
                data["name"],
                datetime.fromisoformat(data["scheduled_start_time"]),
                data.get("description") or "",
            )
            for data in listed
        ]

    async def create_event(self, event: SessionEvent) -> int:
        data = await _guard(
            lambda: self._bot.http.create_guild_scheduled_event(
                event.guild_id, privacy_level=GUILD_ONLY, **self._event_fields(event)
            )
        )
        return int(data["id"])

    async def move_event(self, event_id: int, event: SessionEvent) -> None:
        await _guard(lambda: self._bot.http.edit_scheduled_event(event.guild_id, event_id, **self._event_fields(event)))

    async def cancel_event(self, guild_id: int, event_id: int) -> None:
        try:
            await _guard(lambda: self._bot.http.edit_scheduled_event(guild_id, event_id, status=CANCELLED))
        except DeliveryFailed as exc:
            if not isinstance(exc.__cause__, discord.NotFound):
                raise

    def _event_fields(self, event: SessionEvent) -> dict[str, Any]:
        """Where and when: a stage or voice channel's event, else an external one at the location."""
        fields: dict[str, Any] = {
            "name": event.name,
            "description": limits.truncate(event.description, EVENT_DESCRIPTION),
            "scheduled_start_time": event.start.isoformat(),
            "scheduled_end_time": event.end.isoformat(),
        }
        guild = self._bot.get_guild(event.guild_id)
        channel = guild.get_channel(event.channel_id) if guild and event.channel_id else None
        if event.channel_id is not None:
            stage = isinstance(channel, discord.StageChannel)
            entity = discord.EntityType.stage_instance if stage else discord.EntityType.voice
            return {**fields, "entity_type": entity.value, "channel_id": event.channel_id, "entity_metadata": None}
        return {
            **fields,
            "entity_type": discord.EntityType.external.value,
            "channel_id": None,
            "entity_metadata": {"location": event.location},
        }

    async def post_pings(self, channel_id: int, content: str, user_ids: Sequence[int]) -> int:
        channel = self._bot.get_partial_messageable(channel_id)
        # Deliberate pings: exactly these users, never @everyone or a role, whatever the content holds.
        exactly = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(u) for u in user_ids])
        await self.pace.wait()
        message = await _guard(lambda: channel.send(content=content, allowed_mentions=exactly))
        return message.id


async def _guard(call: Callable[[], Awaitable[T]]) -> T:
    """Run one Discord call; anything Discord or the network refuses becomes DeliveryFailed."""
    try:
        return await call()
    except discord.Forbidden as exc:
        raise DeliveryFailed(f"missing permission ({_reason(exc)})", retryable=False) from exc
    except discord.NotFound as exc:
        raise DeliveryFailed(f"the channel is gone ({_reason(exc)})", retryable=False) from exc
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryFailed(f"Discord did not accept it ({_reason(exc)})", retryable=True) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}, code {exc.code}: {exc.text or 'no detail'}"
    return type(exc).__name__
