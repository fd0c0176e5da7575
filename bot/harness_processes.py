"""The real bot in OS processes of their own, each with a ManualClock its parent moves over a pipe: tests and bench."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

READY_WITHIN = 60.0
"""Bound on a process's start (connect, READY of its shards, the first catch-up run); a hung child fails the run."""
ANSWER_WITHIN = 120.0
"""Bound on one order (a sweep paces its DMs at the process's share of Discord's rate limit)."""
SANDBOX_TOKEN = "sandbox-token"


def bot_process(
    conn: Connection, sandbox_url: str, database_url: str, count: int, ids: Sequence[int], start: str, paced: bool
) -> None:
    """A child's whole life: the bot on shards `ids` of `count`, its clock at `start`, obeying orders until "stop"."""
    asyncio.run(_serve(conn, sandbox_url, database_url, count, ids, datetime.fromisoformat(start), paced))


async def _serve(
    conn: Connection, sandbox_url: str, database_url: str, count: int, ids: Sequence[int], start: datetime, paced: bool
) -> None:
    from bot.app import make_bot
    from bot.clock import ManualClock
    from bot.config import Settings
    from bot.pacing import Pacer
    from bot.sandbox import point_discord_at

    point_discord_at(sandbox_url)
    clock = ManualClock(start)
    settings = Settings(DATABASE_URL=database_url, SHARD_COUNT=count, SHARD_IDS=tuple(ids))
    bot = make_bot(settings, clock=clock, guild_ready_timeout=0.05)
    await bot.login(SANDBOX_TOKEN)
    connection = asyncio.create_task(bot.connect())
    await asyncio.wait_for(bot.wait_until_ready(), READY_WITHIN)
    if bot.catch_up is not None:
        await bot.catch_up
    if not paced:
        bot.port.pace = Pacer(None)  # the bot's own speed, not Discord's global rate limit
    loop = asyncio.get_running_loop()
    conn.send("ready")
    while True:
        order, argument = await loop.run_in_executor(None, conn.recv)
        if order == "stop":
            break
        scheduled: list[int] = []
        if order == "settle":
            await bot.runner.settle()
        else:  # "sweep" at the moment given
            clock.set(datetime.fromisoformat(argument))
            report = await bot.runner.run_due()
            scheduled = sorted({s.cohort.guild_id for s in report.scheduled})
            await bot.reminder_runner.run_due()
            await bot.outbox.settle()
        conn.send(scheduled)  # the servers whose cohorts this sweep looked at (reminders start from the same list)
    await bot.close()
    await connection


def _answer(pipe: Connection, within: float) -> object:
    if not pipe.poll(within):
        raise TimeoutError(f"no answer from a bot process within {within:.0f} s")
    return pipe.recv()


class Processes:
    """Bot processes of one layout (each a tuple of shard ids of `count`), and the orders their parent gives."""

    def __init__(
        self, layout: Sequence[tuple[int, ...]], sandbox_url: str, database_url: str, *, count: int, start: datetime,
        paced: bool = True,
    ) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._args = (sandbox_url, database_url, count)
        self._paced = paced
        self.layout = list(layout)
        self.pipes: list[Connection] = []
        self.procs: list[BaseProcess] = []
        for ids in self.layout:
            pipe, proc = self._spawn(ids, start)
            self.pipes.append(pipe)
            self.procs.append(proc)

    def _spawn(self, ids: tuple[int, ...], start: datetime) -> tuple[Connection, BaseProcess]:
        ours, theirs = self._context.Pipe()
        args = (theirs, *self._args, ids, start.isoformat(), self._paced)
        proc = self._context.Process(target=bot_process, args=args, daemon=True)
        proc.start()
        theirs.close()  # only the child holds its end: the pipe reads EOF when the child dies
        return ours, proc

    async def answers(self, which: Sequence[int], within: float = ANSWER_WITHIN) -> list[object]:
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(None, _answer, self.pipes[i], within) for i in which)))

    def send(self, which: Sequence[int], order: str, argument: str = "") -> None:
        for i in which:
            self.pipes[i].send((order, argument))

    async def all(self, order: str, argument: str = "") -> list[object]:
        """Give every process `order` and wait for all their answers (a sweep's: the servers it looked at)."""
        which = range(len(self.pipes))
        self.send(which, order, argument)
        return await self.answers(which)

    async def ready(self) -> None:
        await self.answers(range(len(self.pipes)), READY_WITHIN)

    def kill(self, i: int) -> None:
        """kill -9: no cleanup of any kind in the child."""
        self.procs[i].kill()
        self.procs[i].join(READY_WITHIN)

    async def add(self, ids: tuple[int, ...], at: datetime) -> None:
        """One more process, of shards `ids`, its clock at `at` (shards another one runs too: a rolling deploy)."""
        pipe, proc = self._spawn(ids, at)
        self.layout.append(ids)
        self.pipes.append(pipe)
        self.procs.append(proc)
        await self.answers([len(self.pipes) - 1], READY_WITHIN)

    async def restart(self, i: int, at: datetime) -> None:
        """A new process for the shards of process `i`, its clock at `at`, ready when this returns."""
        self.pipes[i].close()
        self.pipes[i], self.procs[i] = self._spawn(self.layout[i], at)
        await self.answers([i], READY_WITHIN)

    async def stop(self) -> None:
        """Every process closes its bot and exits; one that does not within the bound is killed."""
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            if proc.is_alive():
                with contextlib.suppress(OSError):  # it may die between the look and the order
                    pipe.send(("stop", ""))
        loop = asyncio.get_running_loop()  # joined off the loop: a closing bot still talks to a sandbox on it
        for proc in self.procs:
            await loop.run_in_executor(None, proc.join, READY_WITHIN)
            if proc.is_alive():
                proc.kill()
