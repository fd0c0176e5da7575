"""Fixtures for end-to-end tests: a study server in the sandbox, the real bot, a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.clock import ManualClock
from bot.harness import RunningBot, StudyServer, build_study_server, start_bot, start_sandbox
from bot.sandbox import Member, Sandbox
from tests.e2e.helpers import START, Launcher, start_cohort


@pytest.fixture
def server() -> StudyServer:
    return build_study_server()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


# Discord's 3 seconds made every answer in the suite a timing assertion on a shared machine: one Approve click took
# longer in a loaded CI run. Late answers are the load benchmark's to count; a test of lateness, or of answering in
# time while something else runs, sets the window itself.
ANSWER_WITHIN = 30.0


@pytest_asyncio.fixture
async def sandbox(server: StudyServer) -> AsyncIterator[Sandbox]:
    sb = await start_sandbox(server)
    sb.interaction_deadline = ANSWER_WITHIN
    try:
        with sb.point_discord_here():
            yield sb
    finally:
        await sb.stop()


@pytest_asyncio.fixture
async def launch(sandbox: Sandbox, database_url: str, clock: ManualClock) -> AsyncIterator[Launcher]:
    """Start the bot (again, for restart tests) on the same database; every started bot is stopped."""
    running: list[RunningBot] = []

    async def start() -> RunningBot:
        bot = await start_bot(sandbox, database_url=database_url, clock=clock)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        if not bot.bot.is_closed():
            await bot.stop()


@pytest_asyncio.fixture
async def bot(launch: Launcher) -> RunningBot:
    return await launch()


@pytest.fixture
def ada(server: StudyServer) -> Member:
    return server.learners[0]


@pytest.fixture
async def running(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock) -> RunningBot:
    """The study server's cohort started: its learners joined, and week 1 open."""
    await start_cohort(sandbox, server, bot, clock)
    return bot
