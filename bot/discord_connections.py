"""The bot's HTTP connections to Discord: kept open across a quiet spell, so the burst after one reuses them."""

from __future__ import annotations

import aiohttp

KEEP_IDLE_SECONDS = 120.0
"""How long an idle connection to Discord's API waits for the next request. aiohttp's default, 15 s, closed them
between bursts, and the first burst after a quiet spell opened a connection for each answer in flight (against
Discord, a TLS handshake each): in the load benchmark, the Approve clicks after the review messages' pacing answered
their first burst up to 100 ms slower than the rest. Discord's API is behind Cloudflare, which keeps an idle HTTP/1.1
connection for 400 s; 120 s stays under that, and under the idle timeouts of common NAT gateways (Azure's is 240 s),
which drop a connection silently instead of closing it."""


def discord_connector() -> aiohttp.TCPConnector:
    """discord.py's own connector (no limit on connections) with a longer keep-alive; made in the running loop."""
    return aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEP_IDLE_SECONDS)
