"""The one wiring: every service and the scheduler's jobs, built from a session factory, a clock and a Discord port.

The bot, the service tests and the benchmarks all call `build_services`, so none of them can drift from
how the running bot is put together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.roadmap import RoadmapRegistry
from bot.roadmap_worker import RoadmapChecker
from bot.schedule.reminder_runner import ReminderRunner
from bot.schedule.runner import ScheduleRunner
from bot.schedule.scheduler import Scheduler
from bot.services.calendar import CalendarService
from bot.services.catalog import RoadmapCatalog
from bot.services.cohorts import CohortService
from bot.services.enrolment import EnrolmentService
from bot.services.learners import LearnerService
from bot.services.ledger import Ledger
from bot.services.live_sessions import LiveSessionService
from bot.services.mydata import MyDataService
from bot.services.notify import Notifier
from bot.services.outbox import Outbox
from bot.services.peer_review import PeerReviewService
from bot.services.ports import DiscordPort
from bot.services.posting import PostingService
from bot.services.progress import ProgressService
from bot.services.quotas import QuotaSweep
from bot.services.reminders import ReminderService
from bot.services.roster import RosterService
from bot.services.session_events import SessionEventKeeper
from bot.services.stats import StatsService
from bot.services.streak_book import StreakBook
from bot.services.submissions import SubmissionService
from bot.services.tiers import TierService
from bot.shards import EVERYTHING, Ownership


@dataclass(frozen=True)
class Services:
    """Everything the cogs, the jobs and the tests call; `close()` stops what runs in the background."""

    port: DiscordPort
    roadmap_checker: RoadmapChecker
    catalog: RoadmapCatalog
    cohorts: CohortService
    enrolment: EnrolmentService
    learners: LearnerService
    outbox: Outbox
    submissions: SubmissionService
    mydata: MyDataService
    roster: RosterService
    stats: StatsService
    ledger: Ledger
    notifier: Notifier
    posting: PostingService
    progress: ProgressService
    streak_book: StreakBook
    tiers: TierService
    live_sessions: LiveSessionService
    session_events: SessionEventKeeper
    calendars: CalendarService
    peer: PeerReviewService
    reminders: ReminderService
    scheduler: Scheduler
    runner: ScheduleRunner
    reminder_runner: ReminderRunner

    async def close(self) -> None:
        """Stop the jobs and wait for the work they started, so the engine can be disposed under nothing."""
        await self.scheduler.shutdown()
        self.runner.shutdown()
        await self.runner.settle()  # cancelled runs finish before the engine is disposed (else they may hang)
        self.outbox.shutdown()
        await self.outbox.settle()
        self.tiers.shutdown()
        await self.tiers.settle()
        await self.roadmap_checker.close()


def build_services(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    port: DiscordPort,
    *,
    registry: RoadmapRegistry | None = None,
    ownership: Ownership = EVERYTHING,
    give_way: Callable[[], Awaitable[None]] | None = None,
) -> Services:
    """Every service, listening to each other as in the running bot; the scheduler is built but not started.

    `ownership`: the servers of this process's shards; every sweep and schedule reads only theirs. `give_way`: what
    the outbox's drain awaits before each read of what is due (the bot's: until the interactions in hand are
    answered, at most 2 s)."""
    checker = RoadmapChecker()
    catalog = RoadmapCatalog(sessions, registry or RoadmapRegistry.load(), clock, checker)
    cohorts = CohortService(sessions, clock, catalog)
    enrolment = EnrolmentService(sessions, clock, cohorts)
    learners = LearnerService(sessions, clock)
    outbox = Outbox(sessions, clock, ownership=ownership, give_way=give_way)
    stats = StatsService(sessions, clock, cohorts)
    ledger = Ledger(sessions, clock, ownership=ownership)
    notifier = Notifier(learners, port)
    posting = PostingService(sessions, clock, catalog, ledger, port, ownership=ownership)
    submissions = SubmissionService(sessions, clock, cohorts, enrolment, outbox)
    tiers = TierService(sessions, clock, cohorts, catalog, notifier, port, ownership=ownership)
    submissions.on_approved(tiers.on_approved)
    live_sessions = LiveSessionService(sessions, clock, cohorts, catalog)
    reminders = ReminderService(sessions, clock, posting, ledger, notifier, port, stats=stats)
    scheduler = Scheduler(clock)
    runner = ScheduleRunner(posting, clock, scheduler)
    cohorts.on_change(runner.on_cohort_change)
    streak_book = StreakBook(sessions, clock, ownership=ownership)
    session_events = SessionEventKeeper(sessions, clock, ledger, port, live_sessions, ownership=ownership)
    peer = PeerReviewService(sessions, clock, cohorts, catalog, outbox, ownership=ownership)
    # After every schedule run (the minute catch-up included), in this order.
    quota_sweep = QuotaSweep(sessions, clock, ownership=ownership)
    for sweep in (streak_book.sweep, tiers.sweep, session_events.sweep, peer.sweep, quota_sweep.sweep, outbox.kick):
        runner.add_sweep(sweep)
    return Services(
        port=port,
        roadmap_checker=checker,
        catalog=catalog,
        cohorts=cohorts,
        enrolment=enrolment,
        learners=learners,
        outbox=outbox,
        submissions=submissions,
        mydata=MyDataService(sessions, clock),
        roster=RosterService(sessions, clock, cohorts),
        stats=stats,
        ledger=ledger,
        notifier=notifier,
        posting=posting,
        progress=ProgressService(sessions, clock, cohorts, enrolment),
        streak_book=streak_book,
        tiers=tiers,
        live_sessions=live_sessions,
        session_events=session_events,
        calendars=CalendarService(sessions, clock, enrolment, live_sessions),
        peer=peer,
        reminders=reminders,
        scheduler=scheduler,
        runner=runner,
        reminder_runner=ReminderRunner(reminders, clock, scheduler),
    )
