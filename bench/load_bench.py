"""Black-box load benchmark: the real `python -m bot run` process against the sandbox, 50 interactions in flight.

Usage (from the repository root):

    .venv/bin/python -m bench.load_bench                          # SQLite: 100 cohorts, 10,000 learners
    .venv/bin/python -m bench.load_bench --members 2000 --cohorts 20 --calls 100     # quicker
    .venv/bin/python -m bench.load_bench --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench

The history (cohorts, memberships, 20 checkpoints and 30 check-ins per learner, see bench/progress_bench.py)
is bulk-inserted into a fresh database before the bot starts: building 200,000 submissions through the
bot's own commands would take hours. Then, in one run and through one sandbox:

1. the floor: a toy discord.py bot (bench/ping_bot.py) answering `/ping`, 50 in flight;
2. the real bot as a child process (`python -m bot run`, DISCORD_SANDBOX_URL set): `/progress` (twice, other
   learners the second time: the first burst after start, then one that finds the bot warm),
   `/leaderboard` in a --board-member cohort and in a 10-member one, `/checkin`, `/submit`, Approve clicks
   (on the review messages `/submit` owed: the run waits for them, paced as a review channel is, and reports
   how long that took);
3. a deadline rush: --rush newcomers each `/join`, `/submit` and `/checkin`, mixed with `/leaderboard`s.

Each phase keeps 50 interactions in flight (--in-flight) and reports median / p95 / p99 / max of the time
from the interaction's dispatch to its settled answer (as the user sees it), late answers (the sandbox
refused the response after Discord's 3 seconds), errors and generic apologies, and the bot's peak RSS.
Timings depend on the machine's load: compare each p99 with the floor's, measured in the same run.
Exits 1 when an interaction is late, fails or gets the apology. `--postgres URL` WIPES that database's schema.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from bench.common import Databases, check_postgres_option, machine_line, opened, progress
from bench.progress_bench import BIG, seed
from bench.submissions_bench import LINK, decision_of
from bot.harness import StudyServer, build_study_server
from bot.sandbox import Member, Reply, Sandbox

REPO_ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("DISCORD_TOKEN", "DATABASE_URL", "LOG_LEVEL", "DEV_GUILD_ID", "DISCORD_SANDBOX_URL")
APOLOGY = "Sorry, something went wrong"
LATE = 3.0
START_WITHIN = 120.0
QUIET_CPU = 0.05
"""A bot using less than this share of a core is idle (timers, heartbeats)."""
STUCK_AFTER = 60.0
"""An interaction still unanswered after this long counts as an error, so one lost answer never hangs a run."""


@dataclass
class Phase:
    """One phase's answers: seconds per answered call, and what went wrong."""

    name: str
    seconds: list[float] = field(default_factory=list)
    late: int = 0
    late_what: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    apologies: int = 0
    rss_mb: float = 0.0
    wall: float = 0.0
    cpu_seconds: float = 0.0
    """The process's CPU time (user + system, all threads) in the phase: what other work on the machine moves least."""
    system_seconds: float = 0.0
    """The part of it in the kernel (thread hand-offs and sockets show here)."""
    sandbox_seconds: float = 0.0
    """This process's CPU time in the phase: the sandbox (Discord's stand-in) and the simulated users, who share
    the machine with the bot (on two cores, what the sandbox spends the bot may wait for)."""
    by_command: dict[str, list[float]] = field(default_factory=dict)
    """A mixed phase's answered seconds per command (the rush)."""
    opening: list[float] = field(default_factory=list)
    """The answered seconds of the phase's first burst: its first `in_flight` calls, sent at once, when what the
    command needs (its statements on each pooled connection, its code paths) is used for the first time."""
    after_opening: list[float] = field(default_factory=list)
    """The answered seconds of the calls after them."""

    def quantile(self, q: int) -> float:
        if len(self.seconds) < 2:
            return self.seconds[0] if self.seconds else float("nan")
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[q - 1]


def text_of(reply: Reply) -> str:
    parts = [reply.content or ""] + [m.content or "" for m in reply.followups]
    parts += [str(e.get("title", "")) + str(e.get("description", "")) for e in reply.embeds]
    return "\n".join(parts)


class Child:
    """A process started with the sandbox's URL; its output is kept and its RSS sampled."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output = bytearray()
        self.peak_rss_mb = 0.0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(4096):
            self.output += chunk

    def cpu_seconds(self, *, system_only: bool = False) -> float:
        with contextlib.suppress(OSError), open(f"/proc/{self.proc.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            user, system = int(fields[11]), int(fields[12])  # utime, stime
            return (system if system_only else user + system) / os.sysconf("SC_CLK_TCK")
        return 0.0

    def rss_mb(self) -> float:
        with contextlib.suppress(OSError), open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    value = int(line.split()[1]) / 1024
                    self.peak_rss_mb = max(self.peak_rss_mb, value)
                    return value
        return 0.0

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        await self._reader


@contextlib.asynccontextmanager
async def child(sb: Sandbox, module: str, database_url: str | None = None) -> AsyncIterator[Child]:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env.update(DISCORD_SANDBOX_URL=sb.url, LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    if database_url:
        env["DATABASE_URL"] = database_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *(["run"] if module == "bot" else []),
        cwd=REPO_ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    process = Child(proc)
    try:
        await sb.until(lambda: proc.returncode is not None or (sb.gateway.connected and bool(sb.synced_commands())),
                       START_WITHIN, f"{module} to connect and sync")
        if proc.returncode is not None:
            raise RuntimeError(f"{module} exited ({proc.returncode}):\n{process.output.decode(errors='replace')}")
        yield process
    finally:
        await process.stop()
        sb.commands.global_commands.clear()


PROFILE_DIR: Path | None = None


async def start_profiler(process: Child, phase: str) -> asyncio.subprocess.Process | None:
    """With --profile, py-spy samples the bot during the phase (raw collapsed stacks, one file per phase): only the
    thread holding the GIL, so the samples are what the event loop waits for (the drawing thread included)."""
    if PROFILE_DIR is None:
        return None
    slug = re.sub(r"[^a-z0-9]+", "-", phase.lower()).strip("-")[:40]
    return await asyncio.create_subprocess_exec(
        # 400 a second: a phase lasts a second or two, which py-spy's default of 100 sampled too thinly.
        "py-spy", "record", "--rate", "400", "--pid", str(process.proc.pid), "--format", "raw", "--nonblocking",
        "--gil",
        "-o", str(PROFILE_DIR / f"{slug}.txt"), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )


async def run_phase(name: str, calls: int, in_flight: int, inject: Callable[[int], Awaitable[Reply]],
                    ok: Callable[[int, Reply], str | None], process: Child,
                    ready: Callable[[int], Awaitable[None]] | None = None,
                    command_of: Callable[[int], str] | None = None) -> Phase:
    """`calls` interactions with `in_flight` of them outstanding at every moment; interaction i waits for `ready(i)`
    (the same person's previous step) before its clock starts, as a person sends the next command only then."""
    phase = Phase(name)
    queue = iter(range(calls))
    sampling = True

    async def sample() -> None:
        while sampling:
            phase.rss_mb = max(phase.rss_mb, process.rss_mb())
            await asyncio.sleep(0.25)

    async def worker() -> None:
        for i in queue:
            if ready is not None:
                await ready(i)
            started = time.monotonic()
            try:
                reply = await asyncio.wait_for(inject(i), STUCK_AFTER)
            except Exception as exc:  # the sandbox timing out is a result to count, not a crash
                phase.errors.append(f"{name} #{i}: {exc}")
                continue
            elapsed = time.monotonic() - started
            said = text_of(reply)
            if reply.errors:
                codes = {getattr(e, "code", None) for e in reply.errors}
                if 10062 in codes:
                    phase.late += 1
                    phase.late_what.append(reply.record.payload.get("data", {}).get("name", "a click"))
                else:
                    phase.errors.append(f"{name} #{i}: Discord errors {reply.errors}")
                continue
            if APOLOGY in said:
                phase.apologies += 1
                phase.errors.append(f"{name} #{i}: {said[:200]}")
                continue
            problem = ok(i, reply)
            if problem:
                phase.errors.append(f"{name} #{i}: {problem}")
                continue
            phase.seconds.append(elapsed)
            (phase.opening if i < in_flight else phase.after_opening).append(elapsed)
            if command_of is not None:
                phase.by_command.setdefault(command_of(i), []).append(elapsed)

    sampler = asyncio.create_task(sample())
    profiler = await start_profiler(process, name)
    started, cpu, system = time.monotonic(), process.cpu_seconds(), process.cpu_seconds(system_only=True)
    own = time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    phase.wall = time.monotonic() - started
    phase.cpu_seconds = process.cpu_seconds() - cpu
    phase.system_seconds = process.cpu_seconds(system_only=True) - system
    phase.sandbox_seconds = time.process_time() - own
    sampling = False
    await sampler
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
        await profiler.wait()
    progress(render_row(phase, phase))
    return phase


def starts_with(prefix: str) -> Callable[[int, Reply], str | None]:
    return lambda _i, reply: None if text_of(reply).startswith(prefix) else f"answered {text_of(reply)[:120]!r}"


def has_embed(title: str) -> Callable[[int, Reply], str | None]:
    def ok(_i: int, reply: Reply) -> str | None:
        embeds = reply.embeds or [e for m in reply.followups for e in m.embeds]
        good = embeds and str(embeds[0].get("title", "")).startswith(title)
        return None if good else f"answered {text_of(reply)[:120]!r}"
    return ok


async def wait_quiet(sb: Sandbox, process: Child, seconds: float = 3.0, within: float = 300.0) -> None:
    """Let the start-up sweep finish before timing: for `seconds`, no request to the sandbox and the bot nearly idle
    (its digests draw charts between requests, which would otherwise be timed with the first phases)."""
    deadline = time.monotonic() + within
    last, cpu = -1, process.cpu_seconds()
    while time.monotonic() < deadline:
        count = len(sb.requests_to("POST", r".*")) + len(sb.requests_to("PATCH", r".*"))
        busy = process.cpu_seconds() - cpu
        if count == last and busy < QUIET_CPU * seconds:
            return
        last, cpu = count, process.cpu_seconds()
        await asyncio.sleep(seconds)


async def run_backend(dbs: Databases, args: argparse.Namespace) -> tuple[list[Phase], dict[str, str]]:
    col = dbs.backend
    now = datetime.now(UTC)
    server: StudyServer = build_study_server(learner_names=())
    board = [server.guild.add_member(f"m{k:04d}") for k in range(args.board)]
    small = [server.guild.add_member(f"s{k}") for k in range(10)]
    rush = [server.guild.add_member(f"n{k:04d}") for k in range(args.rush)]
    # seed() makes the big and the small cohort plus `cohorts - 1` fillers of `members // cohorts` learners each.
    per_filler = (args.members - args.board - len(small)) // (args.cohorts - 2)
    progress(f"[{col}] seeding {args.cohorts} cohorts, {args.members:,} learners ...")
    url = await dbs.fresh("load")
    seeded = await seed(url, server, board, small, args.cohorts - 1, per_filler * (args.cohorts - 1), now)
    await write_out(url)
    facts = {
        "history": f"{seeded.cohorts:,} cohorts, {seeded.members:,} learners, {seeded.submissions:,} submissions, "
                   f"{seeded.versions:,} versions, {seeded.check_ins:,} check-ins",
    }
    phases: list[Phase] = []
    n, calls, flight = len(board), args.calls, args.in_flight
    mod = server.moderator
    sb = Sandbox(server.world, response_timeout=60.0)
    await sb.start()
    sb.default_guild = server.guild
    sb.default_channel = server.cohort_channel
    try:
        progress(f"[{col}] floor: toy bot /ping ...")
        async with child(sb, "bench.ping_bot") as toy:
            phases.append(await run_phase("`/ping` (toy bot: the floor)", calls, flight,
                                          lambda i: sb.slash("ping", user=board[i % n]), starts_with("pong"), toy))
        progress(f"[{col}] starting the bot ...")
        started = time.monotonic()
        async with child(sb, "bot", url) as bot:
            facts["start"] = f"{time.monotonic() - started:.1f} s to connect and sync"
            await wait_quiet(sb, bot)
            facts["idle RSS"] = f"{bot.rss_mb():.0f} MB"
            commands: list[tuple[str, Callable[[int], Awaitable[Reply]], Callable[[int, Reply], str | None]]] = [
                ("`/progress`", lambda i: sb.slash("progress", user=board[i % n]), has_embed("Progress")),
                # Other learners, once more: the first burst after start against one that finds the bot warm.
                ("`/progress` again", lambda i: sb.slash("progress", user=board[(i + n // 2) % n]),
                 has_embed("Progress")),
                (f"`/leaderboard`, {n:,}-member cohort", lambda i: sb.slash("leaderboard", user=board[i % n]),
                 has_embed("Leaderboard")),
                ("`/leaderboard`, 10-member cohort", lambda i: sb.slash("leaderboard", user=small[i % 10]),
                 has_embed("Leaderboard")),
                ("`/leaderboard by:approved`",
                 lambda i: sb.slash("leaderboard", user=board[i % n], by="approved"), has_embed("Leaderboard")),
                ("`/checkin`", lambda i: sb.slash("checkin", user=board[i % n], minutes=30), starts_with("Checked in")),
                ("`/submit`", lambda i: sb.slash("submit", user=board[i % n], link=f"{LINK}/{i}"),
                 starts_with("Submitted")),
            ]
            def wanted(phase: str) -> bool:
                return not args.only or any(word in phase for word in args.only.split(","))

            for name, inject, ok in commands:
                if wanted(name):
                    phases.append(await run_phase(name, min(calls, n) if name == "`/submit`" else calls, flight,
                                                  inject, ok, bot))
            if not (wanted("`/submit`") and wanted("Approve click")):
                return phases, facts  # the clicks need every /submit's review message
            facts["review messages"] = await review_messages_posted(sb, server, phases[-1])
            reviews = [m for m in sb.messages_in(server.review_channel) if m.embeds and not decision_of(m)]

            def approved(i: int, _reply: Reply) -> str | None:
                decision = decision_of(reviews[i])
                return None if decision.startswith("Approved") else f"decision {decision!r}"

            phases.append(await run_phase("Approve click", len(reviews), flight,
                                          lambda i: sb.click(reviews[i], "Approve", user=mod), approved, bot))
            if args.only:
                return phases, facts
            phases.append(await deadline_rush(sb, rush, board, flight, bot))
            await wait_quiet(sb, bot)
            facts["RSS after the run (peak)"] = f"{bot.rss_mb():.0f} MB ({bot.peak_rss_mb:.0f} MB)"
            output = bot.output.decode(errors="replace")
            facts["'database is locked' in the bot's log"] = str(output.count("database is locked"))
            facts["tracebacks in the bot's log"] = str(output.count("Traceback"))
            if args.log:
                await asyncio.to_thread(Path(args.log).write_text, output)
    finally:
        await sb.stop()
    return phases, facts


async def review_messages_posted(sb: Sandbox, server: StudyServer, submits: Phase) -> str:
    """/submit answers before its review message is posted (the review channel takes about one a second): wait for
    them all, so the clicks find them, and say how long that took."""
    started = time.monotonic()

    def posted() -> int:
        return sum(1 for m in sb.messages_in(server.review_channel) if m.embeds and not decision_of(m))

    await sb.until(lambda: posted() >= len(submits.seconds), within=STUCK_AFTER + len(submits.seconds),
                   what="every review message")
    return f"all {posted()} posted {time.monotonic() - started:.0f} s after the last /submit answer"


async def deadline_rush(sb: Sandbox, rush: list[Member], board: list[Member], flight: int, bot: Child) -> Phase:
    """Each newcomer joins, submits and checks in (in that order), while members of the big cohort look at the board."""
    steps: list[tuple[str, Member]] = []
    for k, member in enumerate(rush):
        steps += [("join", member), ("submit", member), ("checkin", member), ("leaderboard", board[k % len(board)])]
    # Join, submit and check-in of one newcomer must come in order: each step waits for that person's previous one.
    done = [asyncio.Event() for _ in steps]

    async def ready(i: int) -> None:
        if steps[i][0] in ("submit", "checkin"):
            await done[i - 1].wait()

    async def inject(i: int) -> Reply:
        kind, member = steps[i]
        try:
            if kind == "join":
                return await sb.slash("join", user=member, cohort=BIG)
            if kind == "submit":
                return await sb.slash("submit", user=member, link=f"{LINK}/rush/{member.id}")
            if kind == "checkin":
                return await sb.slash("checkin", user=member, minutes=25)
            return await sb.slash("leaderboard", user=member)
        finally:
            done[i].set()

    expected = {"join": "", "submit": "Submitted", "checkin": "Checked in", "leaderboard": ""}

    def ok(i: int, reply: Reply) -> str | None:
        said = text_of(reply)
        return None if said.startswith(expected[steps[i][0]]) else f"{steps[i][0]} answered {said[:120]!r}"

    return await run_phase(f"deadline rush ({len(rush)} × join, submit, checkin + a `/leaderboard`)", len(steps),
                           flight, inject, ok, bot, ready, command_of=lambda i: steps[i][0])


def render(columns: dict[str, list[Phase]]) -> str:
    lines = []
    for backend, phases in columns.items():
        floor = phases[0]
        lines += [f"**{backend}**", "",
                  "| phase | calls | median | p95 | p99 | max | × floor p99 | late | errors / apologies | peak RSS |"
                  " bot CPU per call (system) | sandbox CPU per call |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [render_row(p, floor) for p in phases]
        lines += ["", *(by_command_line(p) for p in phases if p.by_command), opening_line(phases)]
        lines.append("")
    return "\n".join(lines)


def by_command_line(p: Phase) -> str:
    parts = [f"`/{command}` {1000 * statistics.median(seconds):,.0f} / {1000 * max(seconds):,.0f} ms"
             for command, seconds in p.by_command.items()]
    return f"{p.name.split(' (')[0]}, median / max by command: " + ", ".join(parts) + "."


def opening_line(phases: list[Phase]) -> str:
    """Where a phase's slowest answers are: in its first burst, or after it (the p99 of a 100-call phase is one of
    its two slowest answers)."""
    parts = [f"{p.name.split(' (')[0]} {1000 * max(p.opening):,.0f} / {1000 * max(p.after_opening):,.0f} ms"
             for p in phases if p.opening and p.after_opening]
    return "Slowest answer in the first burst / after it: " + ", ".join(parts) + "."


def render_row(p: Phase, floor: Phase) -> str:
    calls = len(p.seconds) + p.late + len(p.errors)
    cpu = "— | —"
    if calls:
        system = 100 * p.system_seconds / p.cpu_seconds if p.cpu_seconds else 0.0
        cpu = f"{1000 * p.cpu_seconds / calls:,.1f} ms ({system:.0f} %) | {1000 * p.sandbox_seconds / calls:,.1f} ms"
    if not p.seconds or not floor.seconds:
        return f"| {p.name} | {calls} | — | — | — | — | — | {p.late} | {len(p.errors)} / {p.apologies} | — | {cpu} |"
    ratio = p.quantile(99) / floor.quantile(99)
    times = " | ".join(f"{t * 1000:,.0f} ms" for t in (
        statistics.median(p.seconds), p.quantile(95), p.quantile(99), max(p.seconds)))
    return (f"| {p.name} | {calls} | {times} | {ratio:.1f}× | {p.late}"
            f" | {len(p.errors)} / {p.apologies} | {p.rss_mb:.0f} MB | {cpu} |")


async def main(args: argparse.Namespace) -> int:
    global PROFILE_DIR
    if args.profile:
        PROFILE_DIR = Path(args.profile)
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    columns: dict[str, list[Phase]] = {}
    all_facts: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="cohort-load-") as folder:
        for postgres_url in [None, args.postgres] if args.postgres else [None]:
            if postgres_url is None and args.only_postgres:
                continue
            async with Databases(Path(folder), postgres_url) as dbs:
                columns[dbs.backend], all_facts[dbs.backend] = await run_backend(dbs, args)
    machine = await machine_line(args.postgres)
    print(f"Load benchmark — {machine}; {args.in_flight} in flight; dispatch to settled answer.\n")
    print(render(columns))
    for backend, facts in all_facts.items():
        print(f"{backend}: " + "; ".join(f"{k}: {v}" for k, v in facts.items()))
    failed = [e for phases in columns.values() for p in phases for e in p.errors]
    failed += [f"{p.name}: late /{what}" for phases in columns.values() for p in phases for what in p.late_what]
    late = sum(p.late for phases in columns.values() for p in phases)
    if failed or late:
        print(f"\nFAILED: {late} late answers, {len(failed)} errors:\n" + "\n".join(f"- {e}" for e in failed[:30]))
        return 1
    return 0


async def write_out(url: str) -> None:
    """The seed's pages written to disk now, not over the phases: PostgreSQL's CHECKPOINT, SQLite's WAL into its file.

    Left to PostgreSQL's checkpointer, 750,000 rows' pages were written out over the next minutes, and in two runs
    the floor measured during that writing had a p99 of 145 ms against 37-64 in the runs before."""
    async with opened(url) as (engine, _), engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        statement = "CHECKPOINT" if engine.dialect.name == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)"
        await autocommit.execute(text(statement))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", type=int, default=100, help="cohorts in the database")
    parser.add_argument("--members", type=int, default=10_000, help="learners in the database")
    parser.add_argument("--board", type=int, default=1_000, help="members of the cohort the commands run in")
    parser.add_argument("--rush", type=int, default=500, help="newcomers in the deadline rush")
    parser.add_argument("--calls", type=int, default=300, help="interactions per phase")
    parser.add_argument("--in-flight", type=int, default=50, help="interactions outstanding at every moment")
    parser.add_argument("--postgres", metavar="URL", help="also run on postgresql+asyncpg://... (its schema is wiped)")
    parser.add_argument("--profile", metavar="DIR", help="py-spy each phase of the bot into DIR (needs py-spy)")
    parser.add_argument("--log", metavar="PATH", help="write the bot's output (warnings and errors) to PATH")
    parser.add_argument("--only", metavar="WORDS",
                        help="only the command phases whose names contain one of these (comma-separated, e.g. "
                             "progress,checkin; Approve clicks need submit too), then stop: for a quick look, not "
                             "for the README")
    parser.add_argument("--only-postgres", action="store_true", help="skip SQLite (with --postgres)")
    args = parser.parse_args(argv)
    if args.cohorts < 3 or args.members < args.board + 10 + args.cohorts or args.calls < 2 or args.board < 10:
        parser.error("need --cohorts >= 3, --board >= 10, --members >= --board + 10 + --cohorts, --calls >= 2")
    check_postgres_option(parser, args.postgres)
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(parse_args())))
