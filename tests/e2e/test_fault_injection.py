"""Ten weeks of a cohort on a bad day: Discord fails at random on every route and the bot restarts at random.

Seeded, so a failure replays the same way. What people see must still be right: every week posted
exactly once, in order, with one thread each; every submission reviewed through one review message;
every decision told to its learner once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db.models import Review
from bot.harness import RunningBot, StudyServer
from bot.sandbox import Message, Sandbox, SandboxError
from tests.e2e.helpers import Launcher, create_cohort

SEED = 1
FAULT_RATE = 0.12
WEEKS = 10
FIRST_OPENING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEPS = (timedelta(0), timedelta(minutes=2), timedelta(hours=1), timedelta(hours=7), timedelta(days=2))
"""Moments of each week at which the bot is looked at: the opening, then later, so back-offs run out."""


class BadDay:
    """Drives the bot through the weeks, restarting it at random, as a host with trouble would."""

    def __init__(self, sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock) -> None:
        self.sandbox, self.server, self.launch, self.clock = sandbox, server, launch, clock
        self.random = random.Random(SEED)
        self.bot: RunningBot | None = None
        self.restarts = 0

    async def restart(self) -> None:
        """Stop at a random moment: between two steps, or in the middle of a schedule run and its deliveries."""
        assert self.bot is not None
        if self.random.random() < 0.5:
            work = asyncio.create_task(self.look())
            await asyncio.sleep(self.random.uniform(0, 0.05))
            work.cancel()  # the process dies wherever that run was: mid-request, mid-transaction
            await asyncio.gather(work, return_exceptions=True)
        await self.bot.stop()
        self.restarts += 1
        await self.start()

    async def start(self) -> None:
        """Start the bot; a start that Discord fails is retried, as a supervisor would."""
        failures: list[str] = []
        for _ in range(10):
            try:
                self.bot = await self.launch()
                return
            except Exception as exc:  # a supervisor retries whatever stopped the start
                failures.append(f"{type(exc).__name__}: {exc}")
        raise AssertionError(f"the bot never came up: {failures}")

    async def look(self) -> None:
        """The minute sweep: posts, owed messages, retries."""
        assert self.bot is not None
        await self.bot.bot.runner.settle()
        await self.bot.bot.runner.run_due()
        await self.bot.bot.outbox.settle()
        await self.bot.bot.tiers.settle()

    async def person(self, action: asyncio.Future | asyncio.Task | object) -> None:
        """A person's command or click; when Discord fails them they simply try again at a later step."""
        with contextlib.suppress(SandboxError):
            await action  # type: ignore[misc]

    async def hand_in(self, week: int) -> None:
        for learner in self.server.learners:
            if week not in self.submitted[learner.id]:
                link = f"https://example.org/{learner.name}/{week}"
                await self.person(self.sandbox.slash("submit", user=learner, week=week, link=link))

    async def review(self) -> None:
        for message in self.waiting_for_review():
            await self.person(self.sandbox.click(message, "Approve", user=self.server.moderator))

    def waiting_for_review(self) -> list[Message]:
        return [
            m for m in self.sandbox.messages_in(self.server.review_channel)
            if any(c.get("label") == "Approve" and not c.get("disabled") for row in m.components
                   for c in row["components"])
        ]

    @property
    def submitted(self) -> dict[int, set[int]]:
        """Learner → the weeks with a review message in the channel (what a learner would check)."""
        found: dict[int, set[int]] = {learner.id: set() for learner in self.server.learners}
        for message in self.sandbox.messages_in(self.server.review_channel):
            for embed in message.embeds[:1]:
                for learner in self.server.learners:
                    if f"<@{learner.id}>" in (embed.get("description") or ""):
                        found[learner.id].add(int(embed["title"].split()[1]))
        return found


def week_headers(sandbox: Sandbox, server: StudyServer) -> list[Message]:
    return [m for m in sandbox.messages_in(server.cohort_channel) if " is open.**" in m.content]


async def test_ten_weeks_of_random_failures_and_restarts_still_post_and_notify_everything_once(
    sandbox: Sandbox, server: StudyServer, launch: Launcher, clock: ManualClock
) -> None:
    day = BadDay(sandbox, server, launch, clock)
    await day.start()
    await create_cohort(sandbox, server, roadmap="ml-for-senior-engineers")
    for learner in server.learners:
        await sandbox.slash("join", user=learner)
    sandbox.response_timeout = 1.5  # a person whose command failed does not wait long before trying again
    chaos = sandbox.unleash_chaos(SEED, FAULT_RATE)

    for week in range(1, WEEKS + 1):
        opening = FIRST_OPENING + timedelta(weeks=week - 1)
        for step in STEPS:
            clock.set(opening + step)
            if day.random.random() < 0.3:
                await day.restart()
            await day.look()
            await day.hand_in(week)
            await day.review()

    # The bad day ends; everything owed is still delivered, once.
    sandbox.calm()
    for _ in range(5):
        clock.advance(timedelta(hours=1))
        await day.look()
        for week in range(1, WEEKS + 1):
            await day.hand_in(week)
        await day.review()
        await day.look()
        if not day.waiting_for_review() and all(len(weeks) == WEEKS for weeks in day.submitted.values()):
            break

    assert sum(chaos.injected.values()) > 30 and len(chaos.injected) == 3, chaos.injected
    assert day.restarts >= 5

    headers = week_headers(sandbox, server)
    assert [h.content.split(" of ")[0] for h in headers] == [f"**Week {w}" for w in range(1, WEEKS + 1)]
    threads = server.guild.threads
    assert sorted(t.id for t in threads) == sorted(h.id for h in headers), "one thread per week, on its post"

    reviews = [m for m in sandbox.messages_in(server.review_channel) if m.embeds]
    footers = Counter(m.embeds[0]["footer"]["text"] for m in reviews)
    assert all(n == 1 for n in footers.values()), "one review message per version"
    assert day.waiting_for_review() == []

    assert day.bot is not None
    async with day.bot.bot.sessions() as session:
        decisions = await session.scalar(select(func.count()).select_from(Review))
    notices = [(learner.id, m.content) for learner in server.learners for m in sandbox.dms_to(learner)
               if "was approved" in m.content]
    assert len(notices) == decisions == len(server.learners) * WEEKS
    assert len(set(notices)) == len(notices), "every decision told once"
