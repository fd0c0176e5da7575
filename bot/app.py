"""The Bot subclass: wires config, database, roadmaps, services and scheduler; loads cogs; syncs commands."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import pkgutil
from datetime import datetime, timedelta
from typing import Any

import discord
from discord.ext import commands
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import cogs
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db.engine import create_engine, open_pool, session_factory
from bot.db.migrate import upgrade_to_head
from bot.db.models import BotState
from bot.db.warm_up import prepare_everywhere
from bot.discord_connections import discord_connector
from bot.discord_port import BotDiscordPort
from bot.interaction_errors import CohortTree
from bot.memory import freeze_what_start_built
from bot.roadmap_worker import RoadmapChecker
from bot.schedule.reminder_runner import ReminderRunner
from bot.schedule.runner import ScheduleRunner
from bot.schedule.scheduler import Scheduler
from bot.services.calendar import CalendarService
from bot.services.catalog import RoadmapCatalog
from bot.services.cohorts import CohortService
from bot.services.enrolment import EnrolmentService
from bot.services.hot_statements import hot_statements
from bot.services.learners import LearnerService
from bot.services.ledger import Ledger
from bot.services.live_sessions import LiveSessionService
from bot.services.mydata import MyDataService
from bot.services.notify import Notifier
from bot.services.outbox import Outbox
from bot.services.peer_review import PeerReviewService
from bot.services.posting import PostingService
from bot.services.progress import ProgressService
from bot.services.reminders import ReminderService
from bot.services.roster import RosterService
from bot.services.session_events import SessionEventKeeper
from bot.services.stats import StatsService
from bot.services.streak_book import StreakBook
from bot.services.submissions import SubmissionService
from bot.services.tiers import TierService
from bot.start_guard import IDENTIFY_EVERY, StartGuard, budget_wait, identify_turn
from bot.telemetry.discord_http import http_trace
from bot.telemetry.interactions import InteractionMonitor
from bot.telemetry.metrics import Metrics
from bot.unavailable import DatabaseUnavailable, DiscordUnavailable, is_database_outage, is_discord_outage, reason
from bot.wiring import Services, build_services

log = logging.getLogger(__name__)

DATABASE_CONNECT_WITHIN = 10.0


class CohortBot(commands.Bot):
    """One process: one database, one scheduler, every cog in `cogs/`."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    services: Services
    # Each of the services below is also reachable as an attribute of the bot, which is how the cogs call them.
    roadmap_checker: RoadmapChecker
    catalog: RoadmapCatalog
    cohorts: CohortService
    enrolment: EnrolmentService
    learners: LearnerService
    submissions: SubmissionService
    mydata: MyDataService
    roster: RosterService
    stats: StatsService
    ledger: Ledger
    outbox: Outbox
    peer: PeerReviewService
    port: BotDiscordPort
    notifier: Notifier
    posting: PostingService
    progress: ProgressService
    streak_book: StreakBook
    tiers: TierService
    runner: ScheduleRunner
    reminders: ReminderService
    reminder_runner: ReminderRunner
    live_sessions: LiveSessionService
    session_events: SessionEventKeeper
    calendars: CalendarService
    scheduler: Scheduler

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        guild_ready_timeout: float = 2.0,
        metrics: Metrics | None = None,
        pace_starts: bool = False,
        freeze_start: bool = False,
        **sharding: Any,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.interaction_monitor = InteractionMonitor(self.metrics)
        super().__init__(
            command_prefix=commands.when_mentioned,
            # Only what the bot reads: its servers, channels and roles. No message, reaction or typing events
            # (it has no listener for them) and no message cache: Discord sends less and the bot keeps less.
            intents=discord.Intents(guilds=True),
            max_messages=None,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=CohortTree,
            guild_ready_timeout=guild_ready_timeout,
            http_trace=http_trace(self.metrics, self.interaction_monitor.on_response),
            **sharding,
        )
        self.interaction_monitor.install(self)
        self.settings = settings
        self.reached_discord = False
        self.clock: Clock = clock or SystemClock()
        self.commands_synced = False
        self.catch_up: asyncio.Task[None] | None = None
        self.pace_starts = pace_starts
        """`python -m bot run`: back off a crash loop and mind the daily identify budget (bot/start_guard.py)."""
        self.freeze_start = freeze_start
        """`python -m bot run`: once caught up, leave start-up's objects out of garbage collection (bot/memory.py)."""
        self.max_concurrency = 1
        """Discord's identify buckets (from GET /gateway/bot); sharded processes take turns per bucket."""

    async def login(self, token: str) -> None:
        """discord.py's login, with "Discord cannot be reached" told apart from everything else."""
        if self.http.connector is discord.utils.MISSING:
            self.http.connector = discord_connector()  # discord.py's session is opened with it at login
        try:
            await super().login(token)
        except Exception as exc:
            if self.reached_discord or not is_discord_outage(exc):
                raise
            raise DiscordUnavailable(f"Discord is unreachable ({reason(exc)})") from exc

    async def setup_hook(self) -> None:
        self.reached_discord = True  # discord.py calls this once Discord accepted the token
        await self._connect_database()
        await upgrade_to_head(self.engine)
        await prepare_everywhere(self.engine, hot_statements())
        self.sessions = session_factory(self.engine)
        if self.pace_starts or self.settings.SHARD_COUNT is not None:
            await self._pace_start()
        self.services = build_services(
            self.sessions,
            self.clock,
            BotDiscordPort(self, rate_share=self.settings.ownership.share),
            ownership=self.settings.ownership,
            give_way=self.interaction_monitor.answers_first,
        )
        for service in dataclasses.fields(self.services):
            setattr(self, service.name, getattr(self.services, service.name))
        for extension in sorted(m.name for m in pkgutil.iter_modules(cogs.__path__)):
            await self.load_extension(f"cogs.{extension}")
        if self.settings.ownership.owns_dms:
            # Application commands belong to the application, not to a shard: one process syncs them.
            await self.sync_commands_if_changed()
        interrupted = await self.ledger.mark_interrupted() + await self.outbox.mark_interrupted()
        if interrupted:
            log.warning("%d sends were cut off by the last stop; they will be checked and retried", interrupted)
        self.scheduler.start()
        # Catch up once the gateway is ready, so missed weeks go out right after a restart.
        self.catch_up = self.loop.create_task(self._first_run(), name="first-schedule-run")

    async def _connect_database(self) -> None:
        url = self.settings.DATABASE_URL
        try:
            self.engine = create_engine(url, pool_size=self.settings.DATABASE_POOL_SIZE)
            async with asyncio.timeout(DATABASE_CONNECT_WITHIN):
                await open_pool(self.engine)
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            where = make_url(url).render_as_string(hide_password=True)
            raise DatabaseUnavailable(f"the database at {where} is unreachable ({reason(exc)})") from exc

    async def _pace_start(self) -> None:
        """Before the first IDENTIFY: learn the identify buckets, and wait out a crash loop or a spent budget."""
        ids = self.settings.SHARD_IDS or (0,)
        limits: dict[str, int] = {}
        try:
            _, _, given = await self.http.get_bot_gateway()
            limits = {key: int(str(value)) for key, value in given.items()}
        except discord.DiscordException as exc:
            log.warning("could not read Discord's identify limits (%s); identifying one shard at a time", exc)
        self.max_concurrency = max(1, limits.get("max_concurrency", 1))
        if not self.pace_starts:
            return
        label = f"{self.settings.SHARD_COUNT}:{','.join(map(str, ids))}" if self.settings.SHARD_COUNT else "single"
        backoff = await StartGuard(self.sessions, label).record_start(len(ids))
        wait = max(backoff, budget_wait(limits, len(ids)))
        if wait > timedelta(0):
            why = "many starts in the last 10 minutes" if wait == backoff else "the daily identify budget is low"
            log.warning("waiting %d s before connecting to Discord: %s", wait.total_seconds(), why)
            await asyncio.sleep(wait.total_seconds())

    async def _first_run(self) -> None:
        await self.wait_until_ready()
        await self.runner.on_cohort_change()
        await self.runner.settle()
        await self.outbox.settle()
        await self.reminder_runner.run_logged()
        if self.freeze_start:
            freeze_what_start_built()

    async def close(self) -> None:
        services: Services | None = getattr(self, "services", None)
        if services is not None:
            await services.close()
        await super().close()
        engine = getattr(self, "engine", None)
        if engine is not None:
            await engine.dispose()

    def command_payload(self) -> list[dict]:
        guild = self._sync_guild()
        return [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]

    def _sync_guild(self) -> discord.Object | None:
        return discord.Object(self.settings.DEV_GUILD_ID) if self.settings.DEV_GUILD_ID else None

    async def sync_commands_if_changed(self) -> bool:
        """Sync only when the command set differs from the last sync to the same target."""
        guild = self._sync_guild()
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = json.dumps(self.command_payload(), sort_keys=True, default=str)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        key = f"commands:{guild.id if guild else 'global'}"
        async with self.sessions.begin() as session:
            state = await session.get(BotState, key)
            if state is not None and state.value == digest:
                return False
        try:
            await self.tree.sync(guild=guild)
        except discord.DiscordServerError as exc:
            # Discord's own trouble must not keep the bot down: it runs with the commands Discord
            # already has, and the unchanged hash makes the next start try again.
            log.error("could not sync application commands (Discord answered %s); will retry on the next start",
                      exc.status)
            return False
        async with self.sessions.begin() as session:
            await session.merge(BotState(key=key, value=digest, updated_at=self.clock.now()))
        self.commands_synced = True
        log.info("synced %d application commands to %s", len(self.command_payload()), key)
        return True

    async def is_moderator(self, member: discord.Member) -> bool:
        """Manage Server, or the server's configured moderator role."""
        if member.guild_permissions.manage_guild:
            return True
        role_id = await self.cohorts.moderator_role(member.guild.id)
        return role_id is not None and any(role.id == role_id for role in member.roles)

    def now(self) -> datetime:
        return self.clock.now()


class ShardedCohortBot(CohortBot, commands.AutoShardedBot):
    """The same bot on the shards of SHARD_IDS out of SHARD_COUNT (discord.py's AutoShardedBot: one connection each)."""

    def __init__(self, settings: Settings, **options: Any) -> None:
        assert settings.SHARD_COUNT is not None and settings.SHARD_IDS is not None
        super().__init__(settings, shard_count=settings.SHARD_COUNT, shard_ids=list(settings.SHARD_IDS), **options)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Instead of discord.py's 5 s before every IDENTIFY but the first: a turn in the shard's bucket, shared
        through the database with every other process, so processes that start together stay within the limit."""
        try:
            await identify_turn(self.sessions, (shard_id or 0) % self.max_concurrency)
        except Exception as exc:
            # The database is down: the gateway must not wait for it, so discord.py's own pacing, one process's worth.
            log.warning("could not take an identify turn (%s); waiting the plain 5 s", reason(exc))
            await asyncio.sleep(IDENTIFY_EVERY.total_seconds())


def make_bot(settings: Settings, **options: Any) -> CohortBot:
    """Without shard settings exactly the one-process bot of before (no shard at all); with them, sharded."""
    if settings.SHARD_COUNT is None:
        return CohortBot(settings, **options)
    return ShardedCohortBot(settings, **options)
