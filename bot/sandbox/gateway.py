"""The gateway websocket: HELLO, IDENTIFY/READY, heartbeats, RESUME and event dispatch, per shard.

A session identifies as shard `[id, count]` (none: `[0, 1]`, every server). A server's events and interactions go
to the session of its shard, `(guild_id >> 22) % count`; events of no server (DMs) go to shard 0, as on Discord.
When two sessions identify the same shard (a rolling deploy) the later one gets its events.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from . import payloads
from .waiting import Notifier
from .world import Guild, World

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
DAILY_IDENTIFIES = 1000
DAY_MS = 86_400_000
IDENTIFY_WINDOW = 5.0
"""Discord lets `max_concurrency` sessions IDENTIFY per 5 seconds, one per bucket (shard id % max_concurrency)."""
GUILD_EVENTS = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")
"""Events whose `id` is the server's (the others name it in `guild_id`)."""
GUILDS, GUILD_MEMBERS, GUILD_MESSAGES, DIRECT_MESSAGES = 1 << 0, 1 << 1, 1 << 9, 1 << 12
# Events Discord only sends when the bot asked for the matching intent.
EVENT_INTENTS = {
    "GUILD_CREATE": GUILDS,
    "GUILD_ROLE_CREATE": GUILDS,
    "GUILD_ROLE_UPDATE": GUILDS,
    "CHANNEL_CREATE": GUILDS,
    "THREAD_CREATE": GUILDS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
}


@dataclass
class Session:
    """A gateway session; it outlives a connection so that RESUME can replay what was missed."""

    id: str
    intents: int
    shard: tuple[int, int] = (0, 1)
    """[shard id, shard count] as identified."""
    seq: int = 0
    backlog: collections.deque[dict[str, Any]] = field(default_factory=lambda: collections.deque(maxlen=1000))
    socket: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Gateway:
    """Serves GET /gateway and pushes dispatch events to the bot's current session."""

    def __init__(self, world: World, notifier: Notifier, resume_url: str = "") -> None:
        self.world = world
        self.notifier = notifier
        self.resume_url = resume_url
        self.sessions: dict[str, Session] = {}
        self.shards: dict[tuple[int, int], Session] = {}
        """(shard id, count) → the session that identified or resumed it last; it gets that shard's events."""
        self.resumes = 0
        self.identifies: list[tuple[float, tuple[int, int]]] = []
        """(monotonic time, shard) of every IDENTIFY, to check a bot's pacing against `max_concurrency`."""
        self.recommended_shards = 1
        self.max_concurrency = 1

    @property
    def current(self) -> Session | None:
        """The session of shard 0 (an unsharded bot's only one): it gets the DMs."""
        return self._session_of(None)

    @property
    def connected(self) -> bool:
        return any(s.socket is not None for s in self.shards.values())

    @property
    def connected_shards(self) -> list[tuple[int, int]]:
        return sorted(shard for shard, s in self.shards.items() if s.socket is not None)

    def crowded_identifies(self) -> list[tuple[int, int]]:
        """Shards that IDENTIFYed less than 5 s after another IDENTIFY of their `max_concurrency` bucket (which
        Discord refuses), in order."""
        last: dict[int, float] = {}
        crowded = []
        for at, shard in self.identifies:
            bucket = shard[0] % self.max_concurrency
            if bucket in last and at - last[bucket] < IDENTIFY_WINDOW:
                crowded.append(shard)
            last[bucket] = at
        return crowded

    def bot_gateway(self) -> dict[str, Any]:
        """GET /gateway/bot: where to connect, how many shards to run, and what is left of the identify budget."""
        return {
            "url": self.resume_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": DAILY_IDENTIFIES,
                "remaining": max(0, DAILY_IDENTIFIES - len(self.identifies)),
                "reset_after": DAY_MS,
                "max_concurrency": self.max_concurrency,
            },
        }

    def session_for(self, event: str, data: dict[str, Any]) -> Session | None:
        """The session that gets this event, if any identified for its shard."""
        return self._session_of(_guild_of(event, data))

    def _session_of(self, guild_id: int | None) -> Session | None:
        """The session a server's events go to (None: events of no server, which Discord sends on shard 0)."""
        found = None
        for (shard, count), session in self.shards.items():  # in identify order: the last match wins
            if shard == (0 if guild_id is None else (guild_id >> 22) % count):
                found = session
        return found

    def _claim(self, session: Session) -> None:
        self.shards.pop(session.shard, None)
        self.shards[session.shard] = session

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        await self._send(socket, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None})
        session: Session | None = None
        try:
            async for frame in socket:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                session = await self._on_frame(socket, json.loads(frame.data), session)
        finally:
            if session is not None and session.socket is socket:
                session.socket = None
            self.notifier.bump()
        return socket

    async def _on_frame(
        self, socket: web.WebSocketResponse, msg: dict[str, Any], session: Session | None
    ) -> Session | None:
        op, d = msg.get("op"), msg.get("d")
        data: dict[str, Any] = d if isinstance(d, dict) else {}
        if op == 1:
            await self._send(socket, {"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            return await self._identify(socket, data)
        elif op == 6:
            return await self._resume(socket, data)
        elif op == 8 and session is not None:
            await self._chunk(session, data)
        return session

    async def _identify(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> Session:
        shard = data.get("shard") or [0, 1]
        session = Session(
            secrets.token_hex(16), int(data.get("intents") or 0), shard=(int(shard[0]), int(shard[1])), socket=socket
        )
        self.identifies.append((time.monotonic(), session.shard))
        self.sessions[session.id] = session
        self._claim(session)
        await self.dispatch("READY", self._ready(session), to=session)
        for guild in self._guilds_of(session):
            await self.guild_create(guild)
        return session

    def _guilds_of(self, session: Session) -> list[Guild]:
        shard, count = session.shard
        return [g for g in self.world.guilds.values() if g.bot_joined and (g.id >> 22) % count == shard]

    async def guild_create(self, guild: Guild, *, joined: bool = False) -> None:
        """GUILD_CREATE shaped by its shard's session's intents; `joined` for a guild the bot just joined."""
        session = self._session_of(guild.id)
        if session is not None:
            data = payloads.guild(guild, intents=session.intents, joined=joined)
            await self.dispatch("GUILD_CREATE", data)

    def _ready(self, session: Session) -> dict[str, Any]:
        return {
            "v": 10,
            "user": payloads.user(self.world.bot),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in self._guilds_of(session)],
            "shard": list(session.shard),
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "application": {"id": str(self.world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        }

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
        session = self.sessions.get(data.get("session_id", ""))
        last_seen = data.get("seq") or 0
        if session is None or _replay_gap(session, last_seen):
            # d=false: the session cannot be resumed, so discord.py re-identifies.
            await self._send(socket, {"op": 9, "d": False, "s": None, "t": None})
            return None
        async with session.lock:
            session.socket = socket
            self._claim(session)
            for frame in list(session.backlog):
                if frame["s"] > last_seen:
                    await self._send(socket, frame)
        self.resumes += 1
        await self.dispatch("RESUMED", {}, to=session)
        return session

    async def _chunk(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        await self.dispatch("GUILD_MEMBERS_CHUNK", {
            "guild_id": str(guild.id),
            "members": [payloads.member(m) for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "nonce": data.get("nonce"),
        })

    async def dispatch(
        self, event: str, data: dict[str, Any], *, intent: int | None = None, to: Session | None = None
    ) -> None:
        """Send a dispatch event (op 0) with the next sequence number to the session of its server's shard (or `to`);
        kept for replay on RESUME.

        Events gated by an intent the bot did not identify with are dropped, as Discord does.
        """
        session = to or self.session_for(event, data)
        if session is None:
            return
        needed = EVENT_INTENTS.get(event, 0) if intent is None else intent
        if needed and not session.intents & needed and not _about_bot(event, data, self.world.bot.id):
            return
        async with session.lock:
            session.seq += 1
            frame = {"op": 0, "s": session.seq, "t": event, "d": data}
            session.backlog.append(frame)
            if session.socket is not None and not session.socket.closed:
                await self._send(session.socket, frame)
        self.notifier.bump()

    async def request_reconnect(self) -> None:
        """Op 7: discord.py closes the socket and RESUMEs on resume_gateway_url."""
        session = self.current
        if session is None or session.socket is None:
            return
        async with session.lock:
            await self._send(session.socket, {"op": 7, "d": None, "s": None, "t": None})

    async def close(self) -> None:
        for session in self.sessions.values():
            if session.socket is not None:
                await session.socket.close(code=1001)

    async def _send(self, socket: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        try:
            await socket.send_str(json.dumps(frame))
        except ConnectionResetError:
            log.debug("gateway socket closed before %s could be sent", frame.get("t") or frame.get("op"))


def _guild_of(event: str, data: dict[str, Any]) -> int | None:
    """The server an event is about (it picks the shard), or None for DMs and the like."""
    guild_id = data.get("guild_id") or (data.get("id") if event in GUILD_EVENTS else None)
    return int(guild_id) if guild_id else None


def _replay_gap(session: Session, last_seen: int) -> bool:
    """Events older than the backlog are gone, so such a session cannot be resumed."""
    return bool(session.backlog) and session.backlog[0]["s"] > last_seen + 1


def _about_bot(event: str, data: dict[str, Any], bot_id: int) -> bool:
    """Discord sends the bot updates about its own member even without the members intent."""
    return event == "GUILD_MEMBER_UPDATE" and data.get("user", {}).get("id") == str(bot_id)
