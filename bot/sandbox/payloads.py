"""World objects rendered as the JSON payloads discord.py 2.7 parses."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .records import Message, StoredAttachment
from .world import Channel, Guild, Member, Role, User

GUILD_MEMBERS_INTENT = 1 << 1


def iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def user(u: User) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "username": u.name,
        "global_name": u.name,
        "discriminator": "0",
        "avatar": None,
        "bot": u.bot,
        "public_flags": 0,
    }


def member(m: Member, *, with_user: bool = True, channel: Channel | None = None) -> dict[str, Any]:
    """A member; `channel` adds the `permissions` string interactions carry for that channel."""
    data: dict[str, Any] = {
        "roles": [str(r.id) for r in m.roles],
        "nick": m.nick,
        "avatar": None,
        "joined_at": iso(m.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(m.user)
    if channel is not None:
        data["permissions"] = str(m.permissions_in(channel))
    return data


def role(r: Role) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(r.id),
        "name": r.name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": False,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def channel(c: Channel) -> dict[str, Any]:
    if c.is_dm:
        assert c.recipient is not None
        return {"id": str(c.id), "type": int(c.type), "recipients": [user(c.recipient)], "last_message_id": None}
    if c.is_thread:
        return thread(c)
    # A channel outside the world (raw interactions) still needs every field: discord.py builds a
    # TextChannel from an interaction's channel and a missing `position` kills Client.start().
    vocal = {"bitrate": 64000, "user_limit": 0, "rtc_region": None} if c.is_vocal else {}
    return {
        **vocal,
        "id": str(c.id),
        "type": int(c.type),
        "guild_id": str(c.guild.id) if c.guild else None,
        "name": c.name,
        "position": c.position,
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "permission_overwrites": [
            {"id": str(o.target_id), "type": o.kind, "allow": str(o.allow), "deny": str(o.deny)}
            for o in c.overwrites.values()
        ],
    }


def thread(c: Channel) -> dict[str, Any]:
    assert c.guild is not None
    return {
        "id": str(c.id),
        "type": int(c.type),
        "guild_id": str(c.guild.id),
        "parent_id": str(c.parent_id),
        "owner_id": str(c.owner_id),
        "name": c.name,
        "last_message_id": None,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "rate_limit_per_user": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": iso(c.created_at),
            "locked": False,
            "create_timestamp": iso(c.created_at),
        },
    }


def resolved_channel(c: Channel, permissions: int) -> dict[str, Any]:
    """The partial channel in an interaction's `resolved.channels`."""
    data = {"id": str(c.id), "type": int(c.type), "name": c.name, "permissions": str(permissions)}
    if c.is_thread:
        data.update({k: v for k, v in thread(c).items() if k in ("parent_id", "owner_id", "thread_metadata")})
        data.update(member_count=1, message_count=0)
    return data


def guild(g: Guild, *, intents: int, joined: bool = False) -> dict[str, Any]:
    """GUILD_CREATE; without the members intent Discord only includes the bot's own member.

    discord.py fires on_guild_join only when `unavailable` is absent; `false` means "available again".
    """
    members = list(g.members.values()) if intents & GUILD_MEMBERS_INTENT else [g.bot_member]
    availability = {} if joined else {"unavailable": False}
    return {
        **guild_summary(g),
        **availability,
        "joined_at": iso(g.bot_member.joined_at),
        "large": False,
        "member_count": len(g.members),
        "members": [member(m) for m in members],
        "channels": [channel(c) for c in g.channels.values() if not c.is_thread],
        "threads": [thread(c) for c in g.threads],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def guild_summary(g: Guild) -> dict[str, Any]:
    """GET /guilds/{id}: the guild without members or channels."""
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "owner_id": str(g.owner_id),
        "roles": [role(r) for r in g.roles.values()],
        "emojis": [],
        "stickers": [],
        "features": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "system_channel_flags": 0,
        "preferred_locale": "en-US",
        "approximate_member_count": len(g.members),
    }


def attachment(a: StoredAttachment) -> dict[str, Any]:
    return {
        "id": str(a.id),
        "filename": a.filename,
        "size": a.size,
        "url": a.url,
        "proxy_url": a.url,
        "content_type": a.content_type,
    }


def message(m: Message) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "type": m.type,
        "author": user(m.author),
        "content": m.content,
        "timestamp": iso(m.created_at),
        "edited_timestamp": iso(m.edited_at),
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [attachment(a) for a in m.attachments],
        "embeds": m.embeds,
        "components": m.components,
        "pinned": False,
        "flags": m.flags,
    }
    if m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
    if m.webhook_id is not None:
        data["webhook_id"] = str(m.webhook_id)
        data["application_id"] = str(m.webhook_id)
    if m.interaction_metadata is not None:
        data["interaction_metadata"] = m.interaction_metadata
    if m.nonce is not None:
        data["nonce"] = m.nonce
    return data
