"""The Sandbox: an aiohttp server on 127.0.0.1 that plays Discord's REST API and gateway."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import hdrs, web

from . import payloads
from .bodies import BODY, read_body
from .commands import CommandRegistry
from .errors import ApiError, json_response
from .events import EventRoutes
from .faults import LOST, ChaosMonkey, Fault, FaultInjector, Hold, compile_pattern, matches, response
from .gateway import DIRECT_MESSAGES, GUILD_MESSAGES, Gateway
from .inject import Injection
from .interactions import InteractionRoutes
from .patch import patch_discord
from .records import Message, RecordedRequest
from .rest import RestRoutes
from .store import MessageStore
from .waiting import Notifier
from .world import Channel, Guild, Member, Role, User, World

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


class Sandbox(Injection):
    """A local Discord for the real discord.py client; see Injection for the user-side API."""

    def __init__(
        self,
        world: World | None = None,
        *,
        interaction_deadline: float = 3.0,
        followup_lifetime: float = 15 * 60.0,
        response_timeout: float = 5.0,
        nonce_window: float = 300.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.world = world or World()
        self.interaction_deadline = interaction_deadline
        self.followup_lifetime = followup_lifetime
        self.response_timeout = response_timeout
        self.nonce_window = nonce_window
        """Seconds during which a message sent again with the same nonce (and enforce_nonce) is not created twice."""
        self.notifier = Notifier()
        self.store = MessageStore(self.world, self.notifier)
        self.commands = CommandRegistry(self.world)
        self.gateway = Gateway(self.world, self.notifier)
        self.interactions = InteractionRoutes(self)
        self.rest = RestRoutes(self)
        self.events = EventRoutes(self)
        """Scheduled events; set `events.now` to the bot's clock when a test moves time."""
        self.faults = FaultInjector()
        self.requests: list[RecordedRequest] = []
        self.settle_hooks: list[Callable[[int], Awaitable[object]]] = []
        """Awaited with an interaction's id once its answer has settled (`Reply.wait`): an in-process bot's harness
        adds what tests expect to be done by then, such as the deliveries that answer started."""
        self.unknown_routes: list[str] = []
        self.default_user: User | Member | None = None
        self.default_guild: Guild | None = None
        self.default_channel: Channel | None = None
        self.token = "sandbox-token"
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    # Lifecycle.

    async def start(self) -> Self:
        app = web.Application(middlewares=[self._api_middleware], client_max_size=64 * 1024 * 1024)
        app.add_routes(self.rest.routes(API_PREFIX))
        app.add_routes(self.events.routes(API_PREFIX))
        app.add_routes(self.interactions.routes(API_PREFIX))
        app.add_routes([
            web.get("/gateway", self.gateway.handle),
            web.get(API_PREFIX + "/gateway/bot", self._bot_gateway),
            web.get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment),
        ])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]
        self.store.base_url = self.url
        self.gateway.resume_url = self.gateway_url
        return self

    async def stop(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def api_base(self) -> str:
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self._host}:{self._port}/gateway"

    @contextlib.contextmanager
    def point_discord_here(self) -> Iterator[Self]:
        """Send discord.py's REST and gateway traffic here for the duration of the block."""
        restore = patch_discord(self.api_base, self.gateway_url)
        try:
            yield self
        finally:
            restore()

    # Request pipeline.

    @web.middleware
    async def _api_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX):]
        try:
            request[BODY] = body = await read_body(request)
        except (ValueError, UnicodeDecodeError):
            return json_response({"code": 50109, "message": "The request body contains invalid JSON."}, 400)
        record = RecordedRequest(request.method, path, dict(request.query), body.json,
                                 [u.filename for u in body.files], time.monotonic())
        self.requests.append(record)
        await self.faults.wait_if_held(request.method, path)
        fault = self.faults.take(request.method, path)
        if fault is None or fault.status == LOST:
            answer = await self._route(request, handler, path)
        else:
            answer = response(fault)
        if fault is not None and fault.status == LOST:
            record.status = LOST
            if request.transport is not None:
                request.transport.close()  # done, but the bot never hears so: it looks like a timeout
            return answer
        record.status = answer.status
        # The raw header: aiohttp's `content_type` parses it with the email package, slower than the request.
        json_body = answer.headers.get(hdrs.CONTENT_TYPE, "").startswith("application/json")
        sent = answer.body if isinstance(answer, web.Response) and json_body else None
        if isinstance(sent, bytes) and sent:
            record.response = json.loads(sent)
        self.notifier.bump()
        return answer

    async def _route(self, request: web.Request, handler: Handler, path: str) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as error:
            return json_response(error.body(), error.status)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            # Loud on purpose: a route the bot needs but the sandbox lacks must not go unnoticed.
            log.warning("sandbox has no route for %s %s", request.method, path)
            self.unknown_routes.append(f"{request.method} {path}")
            return json_response({"code": 0, "message": "404: Not Found"}, 404)

    async def _attachment(self, request: web.Request) -> web.Response:
        """A file download from the CDN; fail_next("GET", "/attachments/...") makes it fail."""
        injected = self.faults.take(request.method, request.path)
        if injected is not None:
            if injected.status == LOST and request.transport is not None:
                request.transport.close()  # the download breaks off, as a dropped connection would
            return response(injected)
        stored = self.store.attachments.get(int(request.match_info["attachment_id"]))
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})

    async def _bot_gateway(self, request: web.Request) -> web.Response:
        return json_response(self.gateway.bot_gateway())

    async def announce(self, message: Message, event: str) -> None:
        """MESSAGE_CREATE/UPDATE as the bot's gateway sees them; ephemeral ones and unknown channels are skipped."""
        if message.ephemeral or self.world.channel(message.channel_id) is None:
            return
        data = payloads.message(message)
        guild = self.world.guilds.get(message.guild_id or 0)
        if guild is not None and (author := guild.member(message.author.id)) is not None:
            data["member"] = payloads.member(author, with_user=False)
        await self.gateway.dispatch(event, data, intent=GUILD_MESSAGES if guild else DIRECT_MESSAGES)

    # Test-facing helpers.

    def messages_in(self, channel: Channel | int, *, include_ephemeral: bool = False) -> list[Message]:
        """Messages in a channel, oldest first; ephemeral interaction replies only on request."""
        channel_id = channel if isinstance(channel, int) else channel.id
        return self.store.in_channel(channel_id, include_ephemeral=include_ephemeral)

    def dms_to(self, user: User | Member | int) -> list[Message]:
        user_id = user if isinstance(user, int) else user.id
        channel = self.world.dm_channels.get(user_id)
        return self.store.in_channel(channel.id) if channel else []

    def synced_commands(self, guild: Guild | None = None) -> list[dict[str, Any]]:
        return self.commands.listing(guild.id if guild else None)

    @property
    def api_errors(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.status >= 400]

    def requests_to(self, method: str, path_pattern: str | re.Pattern[str]) -> list[RecordedRequest]:
        pattern = compile_pattern(path_pattern)
        return [r for r in self.requests if matches(method, pattern, r.method, r.path)]

    def fail_next(
        self,
        method: str,
        path_pattern: str | re.Pattern[str],
        *,
        times: int = 1,
        status: int = 500,
        retry_after: float = 0.05,
        code: int = 0,
        message: str | None = None,
        body: Any = None,
        skip: int = 0,
    ) -> None:
        """Answer the next `times` matching requests with `status` (429s carry `retry_after`; `body`, if
        given, is answered verbatim), after letting `skip` matching requests through. Status `faults.LOST`
        carries the request out and then drops the connection, as a timeout looks to the bot.

        `path_pattern` is relative to /api/v10: a regex, or a template like /channels/{channel_id}/messages.
        """
        pattern = compile_pattern(path_pattern)
        self.faults.add(Fault(method.upper(), pattern, times, status, retry_after, code, message, body, skip))

    def unleash_chaos(self, seed: int, rate: float) -> ChaosMonkey:
        """From now on fail any request at `rate` (503, 429 or a lost answer), repeatably for one `seed`."""
        self.faults.chaos = ChaosMonkey(seed, rate)
        return self.faults.chaos

    def calm(self) -> None:
        self.faults.chaos = None

    def hold_next(self, method: str, path_pattern: str | re.Pattern[str]) -> asyncio.Event:
        """Hold the next matching request (recorded at once, answered later) until the returned event is set."""
        hold = Hold(method.upper(), compile_pattern(path_pattern), asyncio.Event())
        self.faults.holds.append(hold)
        return hold.release

    async def change_role(self, role: Role, *, permissions: int | None = None, position: int | None = None) -> None:
        """A moderator edits a role in Server Settings: the world changes and the bot gets GUILD_ROLE_UPDATE."""
        if permissions is not None:
            role.permissions = int(permissions)
        if position is not None:
            role.position = position
        await self.gateway.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(role.guild.id), "role": payloads.role(role)})
        self.notifier.bump()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Push any gateway event to the bot, e.g. a GUILD_UPDATE the sandbox has no helper for."""
        await self.gateway.dispatch(event, data)

    async def add_bot_to(self, guild: Guild) -> None:
        """The bot joins `guild` (made with bot_joined=False): GUILD_CREATE, so on_guild_join fires."""
        guild.bot_joined = True
        await self.gateway.guild_create(guild, joined=True)

    async def force_reconnect(self, within: float | None = None) -> None:
        """Ask the bot to reconnect (op 7) and wait until it has RESUMEd its session."""
        before = self.gateway.resumes
        await self.gateway.request_reconnect()
        await self.until(lambda: self.gateway.resumes > before, within, "the bot to resume its gateway session")

    async def until(self, predicate: Callable[[], T], within: float | None = None, what: str = "condition") -> T:
        """Wait for any sandbox state the test cares about, e.g. `lambda: sb.messages_in(channel)`."""
        return await self.notifier.until(predicate, within or self.response_timeout, what)
