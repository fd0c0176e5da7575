"""Start-up failures worth retrying: something the bot needs could not be reached, and why, in one line."""

from __future__ import annotations

from typing import TypeGuard

import aiohttp
import discord
from sqlalchemy.exc import InterfaceError, OperationalError


class Unavailable(Exception):
    """The message names what could not be reached and why; never a token or a password."""


class DiscordUnavailable(Unavailable):
    pass


class DatabaseUnavailable(Unavailable):
    pass


def is_discord_outage(exc: BaseException) -> TypeGuard[Exception]:
    """Connection refused, DNS, TLS, timeouts and Discord's own 5xx: waiting may fix them, a new token would not."""
    return isinstance(exc, OSError | aiohttp.ClientError | TimeoutError | discord.DiscordServerError)


def is_database_outage(exc: BaseException) -> TypeGuard[Exception]:
    """Connection trouble (refused, locked, server starting); not a file that is no database, which waiting never fixes.

    asyncpg raises its own errors when connecting, outside SQLAlchemy's wrappers; all are retried, each
    logged with its reason, since a database still being created is one of them.
    """
    return isinstance(exc, OSError | TimeoutError | OperationalError | InterfaceError) or type(
        exc
    ).__module__.startswith("asyncpg")


def reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
