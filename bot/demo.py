"""`python -m bot demo`: the real bot against the local sandbox, a short cohort in accelerated time."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import ManualClock
from bot.harness import RunningBot, StudyServer, build_study_server, start_bot
from bot.logs import without_voice_warnings
from bot.sandbox import Message, Reply, Sandbox

DEMO_START = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
"""Monday 08:30 in Berlin: half an hour before the cohort's first post."""
DEMO_ZONE = "Europe/Berlin"
_STAMP = re.compile(r"<t:(\d+)(?::([a-zA-Z]))?>")


class Transcript:
    """Prints what each person would see, with Discord markup turned into readable text."""

    def __init__(self, sandbox: Sandbox, server: StudyServer, clock: ManualClock, verbose: bool) -> None:
        self._sandbox = sandbox
        self._server = server
        self._clock = clock
        self._verbose = verbose
        self._seen: set[int] = set()
        self.lines_printed = 0

    def say(self, text: str) -> None:
        if self._verbose:
            print(text)
            self.lines_printed += 1

    def scene(self, title: str) -> None:
        local = self._clock.now().astimezone(_zone())
        self.say(f"\n=== {local:%a %d %b %Y, %H:%M} ({DEMO_ZONE}) — {title}")

    def command(self, who: str, command: str, reply: Reply) -> None:
        visibility = "only they see" if reply.ephemeral else "everyone sees"
        self.say(f"  {who} › {command}")
        if reply.content:
            first, *rest = self.readable(reply.content).splitlines()
            self.say(f"    bot ({visibility}): {first}")
            for line in rest:
                self.say(f"      {line}")
        for embed in reply.embeds:
            self._embed(embed, indent="    ")
        for button in _buttons(reply.components):
            self.say(f"      [{button}]")

    def new_messages(self) -> list[Message]:
        """Print messages posted since the last call, channel by channel."""
        fresh = []
        for channel in [*self._server.guild.text_channels, *self._server.guild.threads]:
            for message in self._sandbox.messages_in(channel):
                if message.id not in self._seen:
                    self._seen.add(message.id)
                    fresh.append(message)
                    self._message(f"#{channel.name}", message)
        return fresh

    def _message(self, where: str, message: Message) -> None:
        self.say(f"  in {where}:")
        if message.content:
            self._block("    ", message.content)
        for embed in message.embeds:
            self._embed(embed, indent="    ")

    def _embed(self, embed: dict[str, Any], indent: str) -> None:
        if embed.get("title"):
            self.say(f"{indent}┃ {embed['title']}")
        if embed.get("description"):
            self._block(f"{indent}┃ ", embed["description"])
        for field in embed.get("fields", []):
            lines = field["value"].splitlines()
            shown = lines[:3] + ([f"… ({len(lines) - 3} more)"] if len(lines) > 3 else [])
            self.say(f"{indent}┃ {field['name']}:")
            for line in shown:
                self.say(f"{indent}┃   {self.readable(line)}")

    def _block(self, prefix: str, text: str) -> None:
        for line in self.readable(text).splitlines():
            self.say(f"{prefix} {line}".rstrip())

    def readable(self, text: str) -> str:
        """Discord markup as a person would read it: timestamps in the cohort's zone, names for ids."""
        names = _names(self._server)

        def timestamp(match: re.Match[str]) -> str:
            moment = datetime.fromtimestamp(int(match.group(1)), UTC).astimezone(_zone())
            if match.group(2) == "R":
                delta = moment - self._clock.now()
                return f"in {_span(delta)}" if delta.total_seconds() >= 0 else f"{_span(-delta)} ago"
            return f"{moment:%a %d %b %H:%M}"

        text = _STAMP.sub(timestamp, text)
        return re.sub(r"<(#|@&|@)(\d+)>", lambda m: names.get(int(m.group(2)), m.group(0)), text).replace("**", "")


def _zone() -> ZoneInfo:
    return ZoneInfo(DEMO_ZONE)


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} hours"


def _names(server: StudyServer) -> dict[int, str]:
    names = {c.id: f"#{c.name}" for c in [*server.guild.text_channels, *server.guild.threads]}
    names.update({r.id: f"@{r.name}" for r in server.guild.roles.values()})
    names.update({m.id: f"@{m.name}" for m in server.guild.members.values()})
    return names


def _buttons(components: Iterable[dict[str, Any]]) -> list[str]:
    labels: list[str] = []
    for row in components or []:
        labels.extend(
            c.get("label", "?") for c in row.get("components", []) if c.get("type") == 2 and not c.get("disabled")
        )
    return labels


async def run_demo(*, verbose: bool = True) -> int:
    """Play the cohort; return 0 when everything that should have happened did."""
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord.client").addFilter(without_voice_warnings)
    server = build_study_server()
    clock = ManualClock(DEMO_START)
    with tempfile.TemporaryDirectory(prefix="cohort-demo-") as folder:
        database_url = f"sqlite+aiosqlite:///{Path(folder) / 'demo.db'}"
        sandbox = Sandbox(server.world)
        await sandbox.start()
        try:
            with sandbox.point_discord_here():
                return await _play(sandbox, server, clock, database_url, verbose)
        finally:
            await sandbox.stop()


async def _play(sandbox: Sandbox, server: StudyServer, clock: ManualClock, database_url: str, verbose: bool) -> int:
    sandbox.default_guild = server.guild
    sandbox.default_channel = server.cohort_channel
    show = Transcript(sandbox, server, clock, verbose)
    running = await start_bot(sandbox, database_url=database_url, clock=clock)
    try:
        show.say(f"StudyBot is online in '{server.guild.name}' (a local Discord sandbox; a week passes in a moment).")
        await _first_weeks(sandbox, server, clock, show, running)
        reminded = await _reminders(sandbox, server, clock, show, running)
        await running.stop()
        clock.advance(timedelta(days=15))
        show.scene("the bot was offline for 15 days; back online, it catches up once, in order")
        running = await start_bot(sandbox, database_url=database_url, clock=clock)
        show.new_messages()
        info = await sandbox.slash("cohort info", user=server.moderator, cohort="Spring 2026")
        show.command("maria", "/cohort info cohort:Spring 2026", info)
        earned = await _first_tier(sandbox, server, show, running)
    finally:
        if not running.bot.is_closed():
            await running.stop()
    posts = [m for m in sandbox.messages_in(server.cohort_channel) if m.embeds]
    weeks_posted = len({m.embeds[0]["title"] for m in posts})
    duplicates = len(posts) - weeks_posted
    print(
        f"\nDemo finished: {weeks_posted} weeks posted, {duplicates} duplicates, "
        f"{len(server.guild.threads)} discussion threads, {len(server.learners)} learners."
    )
    print(f"First tier: {'ada earned the ML/AI Foundations role' if earned else 'no role was given'}.")
    return 0 if weeks_posted >= 4 and duplicates == 0 and reminded and earned else 1


async def _first_weeks(
    sandbox: Sandbox, server: StudyServer, clock: ManualClock, show: Transcript, running: RunningBot
) -> None:
    ada, grace, alan = server.learners
    show.scene("a moderator creates a cohort")
    reply = await sandbox.slash(
        "cohort create",
        user=server.moderator,
        name="Spring 2026",
        roadmap="ml-ai-study-guide",
        start=clock.now().astimezone(_zone()).date().isoformat(),
        timezone=DEMO_ZONE,
        post_time="09:00",
        review_channel=server.review_channel,
        role=server.cohort_role,
        options={"channel": server.cohort_channel},
    )
    show.command("maria", "/cohort create name:Spring 2026 roadmap:ml-ai-study-guide …", reply)

    show.scene("learners join")
    for learner in (ada, grace, alan):
        show.command(learner.name, "/join", await sandbox.slash("join", user=learner))
    show.command("ada", "/roadmap", await sandbox.slash("roadmap", user=ada))

    await _weeks_pass(show, running, clock, server, weeks=2)

    show.scene("alan leaves (after confirming)")
    reply = await sandbox.slash("leave", user=alan)
    show.command("alan", "/leave", reply)
    show.command("alan", "clicks [Leave]", await sandbox.click(reply, "Leave", user=alan))


async def _reminders(
    sandbox: Sandbox, server: StudyServer, clock: ManualClock, show: Transcript, running: RunningBot
) -> bool:
    """The moderators' digest at the week's opening, then the 18:00 daily reminders; True if they went out."""
    ada, grace, _alan = server.learners
    show.scene("the reminder sweep: the moderators' weekly digest")
    await running.bot.reminder_runner.run_due()
    show.new_messages()
    show.scene("grace prefers reminders in the cohort channel")
    reply = await sandbox.slash("settings", user=grace, reminders="channel")
    show.command("grace", "/settings reminders:channel", reply)
    clock.set(clock.now().astimezone(_zone()).replace(hour=18, minute=0).astimezone(UTC))
    show.scene("18:00: daily reminders for those who have not checked in today (alan left: none for him)")
    report = await running.bot.reminder_runner.run_due()
    show.new_messages()
    for message in sandbox.dms_to(ada):
        show._message("a DM to ada", message)
    return report.dms == 1 and report.pinged == 1


async def _weeks_pass(
    show: Transcript, running: RunningBot, clock: ManualClock, server: StudyServer, *, weeks: int
) -> None:
    """Jump the clock to each next opening, as a week would pass, and show what was posted."""
    for _ in range(weeks):
        view = await running.bot.cohorts.get(server.guild.id, "Spring 2026")
        upcoming = view.next_opening
        if upcoming is None:
            return
        clock.set(upcoming.at)
        show.scene(f"week {upcoming.week} opens")
        await running.bot.runner.run_due()
        show.new_messages()


async def _first_tier(sandbox: Sandbox, server: StudyServer, show: Transcript, running: RunningBot) -> bool:
    """Ada checks in and hands in weeks 1-4, maria approves each: the fourth approval earns the first tier's role."""
    ada = server.learners[0]
    show.scene("ada checks in and hands in the checkpoints of weeks 1-4 (the first three late)")
    reply = await sandbox.slash("checkin", user=ada, minutes=90, note="Caught up on backpropagation")
    show.command("ada", "/checkin minutes:90 note:Caught up on backpropagation", reply)
    for week in range(1, 5):
        link = f"https://github.com/ada/ml-week-{week}"
        reply = await sandbox.slash("submit", user=ada, week=week, link=link)
        show.command("ada", f"/submit week:{week} link:{link}", reply)
    show.new_messages()
    show.scene("maria approves them; the fourth completes the ML/AI Foundations tier")
    dms_before = len(sandbox.dms_to(ada))
    waiting = [m for m in sandbox.messages_in(server.review_channel) if "Approve" in _buttons(m.components)]
    for message in waiting:
        await sandbox.click(message, "Approve", user=server.moderator)
        show.say(f"  maria › clicks [Approve] on {message.embeds[0]['title']}")
    await running.bot.outbox.settle()
    await running.bot.tiers.settle()
    show.new_messages()
    for message in sandbox.dms_to(ada)[dms_before:]:
        show._message("a DM to ada", message)
    show.command("ada", "/progress", await sandbox.slash("progress", user=ada))
    roles = [role.name for role in ada.roles]
    show.say(f"  ada's roles on the server now: {', '.join('@' + name for name in roles)}")
    return "ML/AI Foundations" in roles
