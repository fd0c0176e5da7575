"""The services' Discord port, implemented with discord.py: words what services hand it, sends it, gives roles,
and maps every failure to DeliveryFailed."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
import discord

from bot.domain.notices import DigestFacts, PingMessage, Words
from bot.pacing import DISCORD_SAFE_RATE, Pacer
from bot.render import limits
from bot.render.drawing import picture
from bot.render.messages import wrap_up_text
from bot.render.notices import words
from bot.render.reminders import digest_messages, ping_messages
from bot.render.stats_chart import render_chart
from bot.render.week_post import render_embeds
from bot.role_check import grant_time_problem, unsafe_role
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

log = logging.getLogger(__name__)
T = TypeVar("T")
CANNOT_DM = 50007
CHART_NAME = "cohort-stats.png"
GUILD_ONLY = 2
CANCELLED = discord.EventStatus.cancelled.value
EVENT_DESCRIPTION = 1000
BAD_REQUEST = 400
THREAD_EXISTS = 160004
"""Discord's code for "a thread has already been created for this message"."""
HISTORY_CHECKED = 50
"""How far back to look for a post that a cut-off attempt may already have sent."""
UNKNOWN_ROLE = 10011


class RoleGranter:
    """The role half of the Discord port: find or create a tier's role, give it, and say exactly what blocks it."""

    def __init__(self, bot: discord.Client) -> None:
        self._bot = bot
        self._created: dict[tuple[int, str], int] = {}
        """(guild, name) → id of roles created here, until the gateway's ROLE_CREATE has reached the cache."""

    async def resolve(self, request: RoleRequest) -> int:
        guild = self._bot.get_guild(request.guild_id)
        if guild is None:
            raise DeliveryFailed("I can't see that server right now (it may be unavailable).", retryable=True)
        if request.role_id is not None:
            if guild.get_role(request.role_id) is not None or request.role_id in self._created.values():
                return request.role_id
            if request.name is None:
                # Not in the cache: ask Discord before calling a moderator's choice gone.
                if any(role.id == request.role_id for role in await self._fetch_roles(guild)):
                    return request.role_id
                raise DeliveryFailed(
                    f"the role chosen for this tier with /cohort tier-role (id {request.role_id}) no longer exists. "
                    "Choose another one with /cohort tier-role.",
                    retryable=False,
                )
        assert request.name is not None
        named = [role for role in guild.roles if role.name == request.name]
        if named:
            # Several roles may share a name: prefer one I am able to give.
            top = guild.me.top_role
            givable = [role for role in named if role < top and unsafe_role(role) is None]
            return max(givable or named).id
        key = (guild.id, request.name)
        if key in self._created:
            return self._created[key]
        try:
            role = await guild.create_role(
                name=request.name,
                colour=discord.Colour(request.color),
                permissions=discord.Permissions.none(),
                mentionable=False,
                reason=request.reason,
            )
        except discord.Forbidden as exc:
            my_role = guild.me.top_role.name
            raise DeliveryFailed(
                f"I could not create the role '{request.name}' because I lack the Manage Roles permission. "
                f"In Server Settings → Roles → {my_role}, turn on Manage Roles (or create '{request.name}' "
                f"yourself, below {my_role}).",
                retryable=False,
            ) from exc
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"Discord did not create the role '{request.name}' ({_reason(exc)}).",
                                 retryable=True) from exc
        self._created[key] = role.id
        return role.id

    @staticmethod
    async def _fetch_roles(guild: discord.Guild) -> list[discord.Role]:
        try:
            return await guild.fetch_roles()
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"Discord did not list the server's roles ({_reason(exc)}).", retryable=True) from exc

    async def add(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        guild = self._bot.get_guild(guild_id)
        problem = grant_time_problem(guild, role_id) if guild is not None else None
        if problem is not None:
            raise DeliveryFailed(problem, retryable=False)
        try:
            await self._bot.http.add_role(guild_id, user_id, role_id, reason=reason)
        except discord.Forbidden as exc:
            raise DeliveryFailed(await self._why_refused(guild_id, role_id, exc), retryable=False) from exc
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_ROLE:
                self._created = {k: v for k, v in self._created.items() if v != role_id}
                raise DeliveryFailed("the role was deleted.", retryable=True) from exc
            raise DeliveryFailed(
                f"<@{user_id}> is no longer a member of the server ({_reason(exc)}).", retryable=False
            ) from exc
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryFailed(f"Discord did not accept it ({_reason(exc)}).", retryable=True) from exc

    async def _why_refused(self, guild_id: int, role_id: int, exc: discord.HTTPException) -> str:
        """What exactly a moderator must change, from fresh role positions when Discord gives them."""
        guild = self._bot.get_guild(guild_id)
        if guild is None:
            return f"Discord refused it ({_reason(exc)})."
        try:
            roles = {role.id: role for role in await guild.fetch_roles()}
        except discord.HTTPException:
            roles = {role.id: role for role in guild.roles}
        mine = [roles.get(role.id, role) for role in guild.me.roles]
        top = max(mine, key=lambda role: (role.position, role.id))
        can_manage = guild.owner_id == guild.me.id or any(
            role.permissions.manage_roles or role.permissions.administrator for role in mine
        )
        target = roles.get(role_id)
        if not can_manage:
            return f"I lack the Manage Roles permission. In Server Settings → Roles → {top.name}, turn on Manage Roles."
        if target is not None and target.managed:
            return (
                f"the role '{target.name}' is managed by an integration, so nobody can give it. "
                "Choose another role with /cohort tier-role."
            )
        if target is not None and target.position >= top.position:
            return (
                f"the role '{target.name}' is not below my highest role '{top.name}'. In Server Settings → Roles, "
                f"drag '{top.name}' above '{target.name}' (or move '{target.name}' below '{top.name}')."
            )
        return f"Discord refused it ({_reason(exc)}). Check that my role '{top.name}' has Manage Roles."


class BotDiscordPort:
    def __init__(self, bot: discord.Client, *, rate_share: float = 1.0) -> None:
        self._bot = bot
        self._roles = RoleGranter(bot)
        self.pace = Pacer(DISCORD_SAFE_RATE * rate_share)
        """Paces DMs and pings so that thousands of reminders never trip Discord's global rate limit, which is
        the bot's over all its processes: each paces at its share of the shards."""
        self._dm_channels: dict[int, int] = {}
        """user id → DM channel id (discord.py keeps only 128): one request per DM instead of two or three."""

    async def resolve_role(self, request: RoleRequest) -> int:
        return await self._roles.resolve(request)

    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        await self._roles.add(guild_id, user_id, role_id, reason)

    async def post_announcement(self, channel_id: int, text: Words) -> int:
        channel = self._bot.get_partial_messageable(channel_id)
        message = await guard(lambda: channel.send(content=limits.truncate(words(text), limits.MESSAGE_CONTENT)))
        return message.id

    def week_parts(self, post: WeekPost) -> int:
        return len(self._week_embeds(post))

    def _week_embeds(self, post: WeekPost) -> list[discord.Embed]:
        return render_embeds(post.roadmap, post.module, due=post.due, footer=post.marker)

    async def post_week_part(self, post: WeekPost, index: int) -> int:
        channel = self._bot.get_partial_messageable(post.channel_id)
        embed = self._week_embeds(post)[index]
        if post.may_exist:
            found = await self.find_own_message(post.channel_id, embed.footer.text or "")
            if found is not None:
                return found.id
        content = _week_heading(post) if index == 0 else None
        message = await guard(lambda: channel.send(content=content, embed=embed, nonce=post.nonce(index)))
        return message.id

    async def post_week_short(self, post: WeekPost) -> int:
        channel = self._bot.get_partial_messageable(post.channel_id)
        text = (
            f"{_week_heading(post)}\n**{post.module.title}**: Discord refused the full post, so read this week "
            f"with `/roadmap week:{post.module.week}`."
        )
        content = limits.truncate(text, limits.MESSAGE_CONTENT)
        message = await guard(lambda: channel.send(content=content, nonce=post.nonce("short")))
        return message.id

    async def open_week_thread(self, post: WeekPost, message_id: int) -> int:
        name = limits.truncate(f"{post.module.label} · {post.module.title}", limits.THREAD_NAME)
        try:
            # Straight to the route: a partial channel's message has no guild object to build a Thread from.
            data = await guard(
                lambda: self._bot.http.start_thread_with_message(
                    post.channel_id, message_id, name=name, auto_archive_duration=10080, rate_limit_per_user=None
                )
            )
        except DeliveryFailed as exc:
            cause = exc.__cause__
            if isinstance(cause, discord.HTTPException) and cause.code == THREAD_EXISTS:
                return message_id  # an earlier attempt made it but its answer was lost; it shares the message's id
            raise
        return int(data["id"])

    async def find_own_message(self, channel_id: int, footer: str) -> discord.Message | None:
        """A recent message of ours whose embed has this footer: what a cut-off attempt may have sent already."""
        channel = self._bot.get_partial_messageable(channel_id)

        async def look() -> discord.Message | None:
            async for message in channel.history(limit=HISTORY_CHECKED):
                if message.author == self._bot.user and any(e.footer.text == footer for e in message.embeds):
                    return message
            return None

        return await guard(look)

    async def post_wrap_up(self, wrap_up: WrapUp) -> int:
        channel = self._bot.get_partial_messageable(wrap_up.channel_id)
        message = await guard(lambda: channel.send(content=wrap_up_text(wrap_up)))
        return message.id

    async def tell_moderators(self, channel_id: int, text: Words, *, chart: CohortStats | None = None) -> None:
        channel = self._bot.get_partial_messageable(channel_id)
        content = limits.truncate(words(text), limits.MESSAGE_CONTENT)
        if chart is None:
            await guard(lambda: channel.send(content=content))
            return
        image = await picture(render_chart, chart)
        await guard(lambda: channel.send(content=content, file=discord.File(io.BytesIO(image), CHART_NAME)))

    async def post_digest(self, channel_id: int, digest: DigestFacts, chart: CohortStats) -> None:
        for index, text in enumerate(digest_messages(digest)):
            await self.tell_moderators(channel_id, text, chart=None if index else chart)

    async def notify_learner(self, notice: LearnerNotice) -> NoticeRoute:
        """By DM, else in the fallback channel pinging only them, with the notice's buttons if it has any."""
        text = limits.truncate(words(notice.text), limits.NOTICE_TEXT)
        extra: dict[str, Any] = {"view": notice.buttons} if isinstance(notice.buttons, discord.ui.View) else {}
        if not notice.dms_closed:
            try:
                dm = await self._dm_channel(notice.user_id)
                await self.pace.wait()
                # discord.py's send() takes nonce=None (then picks one) though its overloads leave None out.
                await dm.send(content=text, nonce=notice.nonce, **extra)  # type: ignore[arg-type]
                return NoticeRoute.DM
            except discord.Forbidden as exc:
                if exc.code != CANNOT_DM:
                    raise DeliveryFailed(f"missing permission ({_reason(exc)})", retryable=False) from exc
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
                raise _failure(exc) from exc
        channel = self._bot.get_partial_messageable(notice.fallback_channel_id)
        # The one deliberate ping: exactly this learner, nobody else, whatever the text contains.
        only_them = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(notice.user_id)])
        await self.pace.wait()
        nonce = f"{notice.nonce}c" if notice.nonce else None  # Discord matches nonces per author, not per channel
        content = f"<@{notice.user_id}> {text}"
        await guard(
            lambda: channel.send(
                content=content, allowed_mentions=only_them, nonce=nonce, **extra  # type: ignore[arg-type]
            )
        )
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
        listed = await guard(lambda: self._bot.http.get_scheduled_events(guild_id, False))
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
        data = await guard(
            lambda: self._bot.http.create_guild_scheduled_event(
                event.guild_id, privacy_level=GUILD_ONLY, **self._event_fields(event)
            )
        )
        return int(data["id"])

    async def move_event(self, event_id: int, event: SessionEvent) -> None:
        await guard(lambda: self._bot.http.edit_scheduled_event(event.guild_id, event_id, **self._event_fields(event)))

    async def cancel_event(self, guild_id: int, event_id: int) -> None:
        try:
            await guard(lambda: self._bot.http.edit_scheduled_event(guild_id, event_id, status=CANCELLED))
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

    def ping_messages(self, said: Words, user_ids: Sequence[int]) -> list[PingMessage]:
        return ping_messages(user_ids, words(said))

    async def post_pings(self, channel_id: int, content: str, user_ids: Sequence[int]) -> int:
        channel = self._bot.get_partial_messageable(channel_id)
        # Deliberate pings: exactly these users, never @everyone or a role, whatever the content holds.
        exactly = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(u) for u in user_ids])
        await self.pace.wait()
        message = await guard(lambda: channel.send(content=content, allowed_mentions=exactly))
        return message.id


def _week_heading(post: WeekPost) -> str:
    content = f"**{post.module.label} of '{post.cohort_name}' is open.**"
    if post.late_since is not None:
        content += f" (Posted late: it was due <t:{int(post.late_since.timestamp())}:f>; I was offline.)"
    return limits.truncate(content, limits.MESSAGE_CONTENT)


async def guard(call: Callable[[], Awaitable[T]]) -> T:
    """Run one Discord call; anything Discord or the network refuses becomes DeliveryFailed."""
    try:
        return await call()
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        raise _failure(exc) from exc


def _failure(exc: discord.HTTPException | aiohttp.ClientError | TimeoutError) -> DeliveryFailed:
    if isinstance(exc, discord.Forbidden):
        return DeliveryFailed(f"missing permission ({_reason(exc)})", retryable=False)
    if isinstance(exc, discord.NotFound):
        return DeliveryFailed(f"the channel is gone ({_reason(exc)})", retryable=False)
    if isinstance(exc, discord.HTTPException) and exc.status == BAD_REQUEST:
        # The request itself is wrong (too long, malformed): the same request would be refused forever.
        return DeliveryFailed(f"Discord refused it ({_reason(exc)})", retryable=False, rejected=True)
    return DeliveryFailed(f"Discord did not accept it ({_reason(exc)})", retryable=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}, code {exc.code}: {exc.text or 'no detail'}"
    return type(exc).__name__
