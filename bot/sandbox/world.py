"""The sandbox's model of Discord: guilds, channels, roles, members and their permissions."""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import time
from dataclasses import dataclass, field

import discord

DISCORD_EPOCH_MS = 1420070400000


class Perm(enum.IntFlag):
    """Permission bits the sandbox itself enforces (the full set lives in discord.Permissions)."""

    ADMINISTRATOR = 1 << 3
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    CHANGE_NICKNAME = 1 << 26
    MANAGE_ROLES = 1 << 28
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    CREATE_EVENTS = 1 << 44


ALL_PERMISSIONS = discord.Permissions.all().value
DEFAULT_EVERYONE = int(
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.ADD_REACTIONS
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.CHANGE_NICKNAME
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS = int(DEFAULT_EVERYONE | Perm.MANAGE_ROLES | Perm.MANAGE_THREADS | Perm.MANAGE_MESSAGES)
# What Discord grants a bot in a DM channel; overwrites and roles do not exist there.
DM_PERMISSIONS = int(
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.ADD_REACTIONS
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.USE_APPLICATION_COMMANDS
)
# Discord drops these when SEND_MESSAGES is denied ("implicit permissions").
NEEDS_SEND = int(Perm.SEND_TTS_MESSAGES | Perm.MENTION_EVERYONE | Perm.EMBED_LINKS | Perm.ATTACH_FILES)

PermissionsLike = int | discord.Permissions


def as_bits(value: PermissionsLike) -> int:
    """Accept either a raw bit field or a discord.Permissions."""
    return value.value if isinstance(value, discord.Permissions) else int(value)


class ChannelType(enum.IntEnum):
    """The channel types the sandbox models."""

    TEXT = 0
    DM = 1
    VOICE = 2
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    STAGE = 13


class Snowflakes:
    """Issues increasing ids whose timestamp part is the current time, as Discord's do."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0

    def next(self, shard: tuple[int, int] | None = None) -> int:
        """The next id; with `shard` = (id, count), one whose server would be on that shard."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        if shard is not None:
            ms = max(ms, (self._last >> 22) + 1)
            ms += (shard[0] - ms) % shard[1]  # the shard is the timestamp modulo the count
        candidate = (ms << 22) | (next(self._counter) & 0xFFF)
        # Several ids in one millisecond with a wrapped counter must still increase.
        self._last = max(candidate, self._last + 1)
        return self._last


def utcnow() -> dt.datetime:
    """Timestamps in payloads are timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass(eq=False)
class User:
    """A Discord account; the same user can be a member of several guilds."""

    id: int
    name: str
    bot: bool = False
    dms_closed: bool = False


@dataclass(eq=False)
class Role:
    """A guild role; the @everyone role shares its id with the guild."""

    id: int
    guild: Guild = field(repr=False)
    name: str
    position: int
    permissions: int = 0
    managed: bool = False
    bot_id: int | None = None

    @property
    def is_everyone(self) -> bool:
        return self.id == self.guild.id


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (kind 0) or a member (kind 1)."""

    target_id: int
    kind: int
    allow: int = 0
    deny: int = 0


@dataclass(eq=False)
class Channel:
    """A text channel, thread or DM channel."""

    id: int
    name: str
    type: ChannelType
    guild: Guild | None = field(default=None, repr=False)
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None
    recipient: User | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    created_at: dt.datetime = field(default_factory=utcnow)

    @property
    def is_thread(self) -> bool:
        return self.type in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD)

    @property
    def is_dm(self) -> bool:
        return self.type == ChannelType.DM

    @property
    def is_vocal(self) -> bool:
        return self.type in (ChannelType.VOICE, ChannelType.STAGE)

    @property
    def parent(self) -> Channel | None:
        if self.guild is None or self.parent_id is None:
            return None
        return self.guild.channels.get(self.parent_id)

    def set_overwrite(self, target: Role | Member, *, allow: PermissionsLike = 0, deny: PermissionsLike = 0) -> None:
        """Allow/deny bits for a role or member in this channel, replacing any earlier overwrite."""
        kind = 0 if isinstance(target, Role) else 1
        self.overwrites[target.id] = Overwrite(target.id, kind, as_bits(allow), as_bits(deny))


@dataclass(eq=False)
class Member:
    """A user's membership in one guild."""

    user: User
    guild: Guild = field(repr=False)
    roles: list[Role] = field(default_factory=list)
    joined_at: dt.datetime = field(default_factory=utcnow)
    nick: str | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def dms_closed(self) -> bool:
        return self.user.dms_closed

    @dms_closed.setter
    def dms_closed(self, value: bool) -> None:
        self.user.dms_closed = value

    @property
    def top_position(self) -> int:
        return max((role.position for role in self.roles), default=0)

    def add_role(self, role: Role) -> None:
        if role not in self.roles and not role.is_everyone:
            self.roles.append(role)

    def remove_role(self, role: Role) -> None:
        if role in self.roles:
            self.roles.remove(role)

    @property
    def guild_permissions(self) -> int:
        return self.guild.base_permissions(self)

    def permissions_in(self, channel: Channel) -> int:
        return self.guild.permissions_for(self, channel)


@dataclass(eq=False)
class Guild:
    """A guild with its roles, channels (threads included) and members."""

    id: int
    name: str
    world: World = field(repr=False)
    owner_id: int = 0
    bot_joined: bool = True
    roles: dict[int, Role] = field(default_factory=dict, repr=False)
    channels: dict[int, Channel] = field(default_factory=dict, repr=False)
    members: dict[int, Member] = field(default_factory=dict, repr=False)
    created_at: dt.datetime = field(default_factory=utcnow)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    @property
    def bot_member(self) -> Member:
        return self.members[self.world.bot.id]

    @property
    def bot_role(self) -> Role:
        return next(role for role in self.roles.values() if role.bot_id == self.world.bot.id)

    @property
    def text_channels(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.type == ChannelType.TEXT]

    @property
    def threads(self) -> list[Channel]:
        return [c for c in self.channels.values() if c.is_thread]

    def add_role(
        self,
        name: str,
        position: int = 1,
        permissions: PermissionsLike = 0,
        *,
        bot_id: int | None = None,
    ) -> Role:
        """Insert a role at `position`, moving roles at or above it up one, as Discord does."""
        for role in self.roles.values():
            if not role.is_everyone and role.position >= position:
                role.position += 1
        role = Role(self.world.ids.next(), self, name, position, as_bits(permissions), bot_id is not None, bot_id)
        self.roles[role.id] = role
        return role

    def add_text_channel(self, name: str, position: int | None = None) -> Channel:
        if position is None:
            position = len(self.text_channels)
        channel = Channel(self.world.ids.next(), name, ChannelType.TEXT, self, position)
        self.channels[channel.id] = channel
        return channel

    def add_voice_channel(self, name: str, *, stage: bool = False) -> Channel:
        kind = ChannelType.STAGE if stage else ChannelType.VOICE
        channel = Channel(self.world.ids.next(), name, kind, self, len(self.channels))
        self.channels[channel.id] = channel
        return channel

    def add_thread(
        self, parent: Channel, name: str, owner: User, *, private: bool = False, thread_id: int = 0
    ) -> Channel:
        kind = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        thread = Channel(thread_id or self.world.ids.next(), name, kind, self, parent_id=parent.id, owner_id=owner.id)
        self.channels[thread.id] = thread
        return thread

    def add_member(
        self,
        name: str = "",
        roles: tuple[Role, ...] | list[Role] = (),
        *,
        permissions: PermissionsLike | None = None,
        dms_closed: bool = False,
        user: User | None = None,
    ) -> Member:
        """Add a member; `permissions` gives them a personal role carrying exactly those bits."""
        if user is None:
            user = self.world.add_user(name, dms_closed=dms_closed)
        member = Member(user, self, [])
        for role in roles:
            member.add_role(role)
        if permissions is not None:
            member.add_role(self.add_role(f"{user.name}-permissions", permissions=permissions))
        self.members[user.id] = member
        return member

    def member(self, user_id: int) -> Member | None:
        return self.members.get(user_id)

    def base_permissions(self, member: Member) -> int:
        if member.id == self.owner_id:
            return ALL_PERMISSIONS
        bits = self.everyone.permissions
        for role in member.roles:
            bits |= role.permissions
        return ALL_PERMISSIONS if bits & Perm.ADMINISTRATOR else bits

    def permissions_for(self, member: Member, channel: Channel) -> int:
        """Discord's algorithm: base from roles, then @everyone, role and member overwrites."""
        base = self.base_permissions(member)
        if base & Perm.ADMINISTRATOR:
            return ALL_PERMISSIONS
        # Threads have no overwrites of their own; they inherit their parent's.
        source = channel.parent if channel.is_thread and channel.parent else channel
        bits = _apply_overwrites(base, source, member)
        if not bits & Perm.VIEW_CHANNEL:
            return 0
        if not channel.is_thread and not bits & Perm.SEND_MESSAGES:
            bits &= ~NEEDS_SEND
        return bits


def _apply_overwrites(bits: int, channel: Channel, member: Member) -> int:
    everyone = channel.overwrites.get(member.guild.id)
    if everyone is not None:
        bits = (bits & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role in member.roles:
        overwrite = channel.overwrites.get(role.id)
        if overwrite is not None and overwrite.kind == 0:
            allow |= overwrite.allow
            deny |= overwrite.deny
    bits = (bits & ~deny) | allow
    personal = channel.overwrites.get(member.id)
    if personal is not None and personal.kind == 1:
        bits = (bits & ~personal.deny) | personal.allow
    return bits


@dataclass(eq=False)
class World:
    """Everything the sandbox serves: the bot's identity, users, guilds and DM channels."""

    bot_name: str = "SandboxBot"
    ids: Snowflakes = field(default_factory=Snowflakes, repr=False)
    users: dict[int, User] = field(default_factory=dict, repr=False)
    guilds: dict[int, Guild] = field(default_factory=dict, repr=False)
    dm_channels: dict[int, Channel] = field(default_factory=dict, repr=False)
    _dm_by_channel_id: dict[int, Channel] = field(default_factory=dict, repr=False)
    bot: User = field(init=False)
    app_owner: User = field(init=False)
    application_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.bot = self.add_user(self.bot_name, bot=True)
        self.app_owner = self.add_user(f"{self.bot_name}-developer")
        # A bot's application id equals its user id for every bot created since 2019.
        self.application_id = self.bot.id

    def add_user(self, name: str, *, bot: bool = False, dms_closed: bool = False) -> User:
        user = User(self.ids.next(), name, bot, dms_closed)
        if not name:
            user.name = f"user{user.id % 10000}"
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner: User | None = None,
        bot_permissions: PermissionsLike = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: PermissionsLike = DEFAULT_EVERYONE,
        bot_joined: bool = True,
        channels: tuple[str, ...] = ("general",),
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """A guild with @everyone, a human owner, the bot (with its managed role) and `channels`; `shard` = (id, count)
        picks an id on that shard."""
        guild = Guild(self.ids.next(shard), name, self, bot_joined=bot_joined)
        guild.roles[guild.id] = Role(guild.id, guild, "@everyone", 0, as_bits(everyone_permissions))
        owner_member = guild.add_member(user=owner) if owner else guild.add_member(f"{name}-owner")
        guild.owner_id = owner_member.id
        bot_role = guild.add_role(self.bot.name, permissions=bot_permissions, bot_id=self.bot.id)
        guild.add_member(user=self.bot, roles=[bot_role])
        for channel_name in channels:
            guild.add_text_channel(channel_name)
        self.guilds[guild.id] = guild
        return guild

    def dm_channel(self, user: User) -> Channel:
        """The bot's DM channel with `user`, created on first use like POST /users/@me/channels."""
        existing = self.dm_channels.get(user.id)
        if existing is not None:
            return existing
        channel = Channel(self.ids.next(), "", ChannelType.DM, recipient=user)
        self.dm_channels[user.id] = channel
        self._dm_by_channel_id[channel.id] = channel
        return channel

    def channel(self, channel_id: int) -> Channel | None:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        # An index, not a scan: a bulk DM run opens thousands of DM channels.
        return self._dm_by_channel_id.get(channel_id)

    def bot_permissions_in(self, channel: Channel) -> int:
        if channel.guild is None:
            return DM_PERMISSIONS
        return channel.guild.permissions_for(channel.guild.bot_member, channel)
