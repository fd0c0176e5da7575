"""Point the unmodified discord.py client at a sandbox instead of discord.com."""

from __future__ import annotations

import functools
from collections.abc import Callable

import discord.gateway
import discord.http
import yarl

API_VERSION = 10


def patch_discord(api_base: str, gateway_url: str) -> Callable[[], None]:
    """Redirect REST (Route.BASE, also used by interaction webhooks) and the gateway; returns an undo function.

    discord.http._set_api_version() rewrites Route.BASE to discord.com, so it is wrapped to
    re-apply the sandbox base afterwards: a later call cannot silently send traffic to Discord.
    """
    saved_base = discord.http.Route.BASE
    saved_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    saved_setter = discord.http._set_api_version
    original_setter = getattr(saved_setter, "__wrapped__", saved_setter)

    def set_api_version(value: int) -> None:
        original_setter(value)
        discord.http.Route.BASE = api_base

    functools.update_wrapper(set_api_version, original_setter)  # sets __wrapped__, read back above
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    discord.http._set_api_version = set_api_version

    def restore() -> None:
        discord.http.Route.BASE = saved_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved_gateway
        discord.http._set_api_version = saved_setter

    return restore


def sandbox_urls(sandbox_url: str) -> tuple[str, str]:
    """http://127.0.0.1:PORT -> (REST base, gateway URL)."""
    url = yarl.URL(sandbox_url.rstrip("/"))
    ws_scheme = "wss" if url.scheme == "https" else "ws"
    api_base = str(url.with_path(f"/api/v{API_VERSION}"))
    gateway = str(url.with_scheme(ws_scheme).with_path("/gateway"))
    return api_base, gateway


def point_discord_at(sandbox_url: str) -> Callable[[], None]:
    """For the production entry point when DISCORD_SANDBOX_URL is set; returns the undo function."""
    return patch_discord(*sandbox_urls(sandbox_url))

