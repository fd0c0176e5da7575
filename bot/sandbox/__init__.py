"""A local Discord (REST + gateway) that the real, unmodified discord.py client runs against."""

from .errors import ApiError, SandboxError
from .options import SandboxFile
from .patch import patch_discord, point_discord_at
from .records import Message, RecordedRequest, StoredAttachment
from .reply import Modal, Reply
from .server import Sandbox
from .world import Channel, ChannelType, Guild, Member, Perm, Role, User, World

__all__ = [
    "ApiError",
    "Channel",
    "ChannelType",
    "Guild",
    "Member",
    "Message",
    "Modal",
    "Perm",
    "RecordedRequest",
    "Reply",
    "Role",
    "Sandbox",
    "SandboxError",
    "SandboxFile",
    "StoredAttachment",
    "User",
    "World",
    "patch_discord",
    "point_discord_at",
]
