"""What the end-to-end tests share: starting cohorts, acting as people, reading what the bot did."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bot.clock import ManualClock
from bot.db.models import (
    AwardStatus,
    Base,
    CheckIn,
    Extension,
    Membership,
    Submission,
    SubmissionStatus,
    SubmissionVersion,
    TierAward,
)
from bot.db.statements import counting_statements
from bot.harness import RunningBot, StudyServer
from bot.sandbox import (
    Channel,
    Member,
    Message,
    Reply,
    Role,
    Sandbox,
    payloads,
)


async def role_changed(sandbox: Sandbox, bot: RunningBot, role: Role, **change: int) -> None:
    """Edit a role as a moderator would, and wait until the bot's cache has the new role."""
    await sandbox.change_role(role, **change)
    guild = bot.bot.get_guild(role.guild.id)
    assert guild is not None
    await sandbox.until(
        lambda: (cached := guild.get_role(role.id)) is not None and cached.permissions.value == role.permissions,
        what="the bot to see the edited role",
    )


async def create_cohort(sandbox: Sandbox, server: StudyServer, **options: object) -> None:
    values = {"name": "Spring", "roadmap": "ml-ai-study-guide", "start": "2026-03-02"} | options
    reply = await sandbox.slash(
        "cohort create",
        user=server.moderator,
        review_channel=server.review_channel,
        options={"channel": server.cohort_channel},
        **values,
    )
    assert reply.content.startswith("Created"), reply.content


def week_posts(sandbox: Sandbox, server: StudyServer) -> list[str]:
    """The titles of the week posts in the cohort channel, in the order they were sent."""
    return [m.embeds[0]["title"] for m in sandbox.messages_in(server.cohort_channel) if m.embeds]


async def run(bot: RunningBot) -> None:
    await bot.bot.runner.settle()
    await bot.bot.runner.run_due()


WEEK_1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def start_cohort(sandbox: Sandbox, server: StudyServer, bot: RunningBot, clock: ManualClock) -> None:
    await create_cohort(sandbox, server)
    for learner in server.learners:
        await sandbox.slash("join", user=learner)
    clock.set(WEEK_1)
    await bot.bot.runner.run_due()


def reviews(sandbox: Sandbox, server: StudyServer) -> list[Message]:
    return sandbox.messages_in(server.review_channel)


async def dms(sandbox: Sandbox, member, count: int = 1) -> list[Message]:
    """The learner's DMs, once `count` have arrived (the bot tells them after answering the click)."""
    await sandbox.until(lambda: len(sandbox.dms_to(member)) >= count, within=5, what=f"{count} DMs")
    return sandbox.dms_to(member)


def buttons(message: Message) -> list[tuple[str, bool]]:
    return [(c["label"], bool(c.get("disabled"))) for row in message.components for c in row["components"]]


async def count(bot: RunningBot, model: type) -> int:
    async with bot.bot.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def db_rows(bot: RunningBot) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (bar the command-sync bookkeeping), to show a refusal changed nothing."""
    await bot.bot.runner.settle()
    async with bot.bot.sessions() as session:
        rows = {}
        for table in Base.metadata.sorted_tables:
            if table.name != "bot_state":
                query = select(table).order_by(*table.primary_key.columns)
                rows[table.name] = [tuple(row) for row in (await session.execute(query)).all()]
        return rows


async def memberships(bot: RunningBot) -> list[Membership]:
    async with bot.bot.sessions() as session:
        return list((await session.scalars(select(Membership).order_by(Membership.id))).all())


async def join(sandbox: Sandbox, learner: Member, **options: Any) -> Reply:
    reply = await sandbox.slash("join", user=learner, **options)
    assert reply.ephemeral and reply.content.startswith("Welcome"), reply
    return reply


async def leave(sandbox: Sandbox, learner: Member, **options: Any) -> Reply:
    asked = await sandbox.slash("leave", user=learner, **options)
    return await sandbox.click(asked, "Leave", user=learner)


ROADMAP = "ml-for-senior-engineers"


TITLE = "ML/AI Learning Roadmap for Senior Software Engineers"


BUNDLED_FILE = Path(__file__).resolve().parents[2] / "roadmaps" / f"{ROADMAP}.yaml"


UPLOAD_ID = "our-senior-track"


def assert_refused(reply: Reply, *phrases: str) -> None:
    """An ephemeral reply whose text carries every phrase (what was wrong, what to do)."""
    text = reply_text(reply)
    assert reply.ephemeral, f"refusal was not ephemeral: {reply!r}"
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in {text!r}"


def reply_text(reply: Reply) -> str:
    """What the user reads: the response (after a deferral, the first followup fills it in)."""
    return reply.content or ""


def uploaded_yaml(roadmap_id: str = UPLOAD_ID, title: str | None = None) -> bytes:
    """A bundled roadmap under a new id (and optionally a new title), as a moderator would upload it."""
    text = BUNDLED_FILE.read_text(encoding="utf-8").replace(f"id: {ROADMAP}\n", f"id: {roadmap_id}\n", 1)
    if title is not None:
        text = text.replace(f'title: "{TITLE}"\n', f'title: "{title}"\n', 1)
    assert f"id: {roadmap_id}\n" in text
    return text.encode("utf-8")


def guild_command(
    sandbox: Sandbox, member: Member, channel: Channel, name: str, options: list[dict[str, Any]]
) -> dict[str, Any]:
    """A hand-written slash command interaction in a known server, with option values as given."""
    schema = sandbox.commands.lookup(name, None)
    assert schema is not None, f"/{name} was never synced"
    guild = channel.guild
    assert guild is not None
    return {
        "type": 2,
        "guild_id": str(guild.id),
        "channel_id": str(channel.id),
        "channel": payloads.channel(channel),
        "member": payloads.member(member, channel=channel),
        "data": {"id": schema["id"], "name": name, "type": 1, "options": options},
    }


TIER_ROLE = "ML/AI Foundations"


async def hand_in(sandbox: Sandbox, server: StudyServer, bot: RunningBot, learner: Member, week: int) -> None:
    """Open the week if it is not open yet (/cohort advance), then submit its checkpoint."""
    view = await bot.bot.cohorts.get(server.guild.id, "Spring")
    if view.current_week < week:
        reply = await sandbox.slash("cohort advance", user=server.moderator, cohort="Spring", to_week=week)
        assert reply.content.startswith("Advanced"), reply.content
        await bot.bot.runner.settle()
    reply = await sandbox.slash("submit", user=learner, week=week, link=f"https://example.org/{learner.name}/{week}")
    assert "Submitted" in reply.content, reply.content


async def approve_latest(sandbox: Sandbox, server: StudyServer) -> None:
    waiting = [
        m for m in reviews(sandbox, server)
        if any(c.get("label") == "Approve" and not c.get("disabled") for row in m.components for c in row["components"])
    ]
    click = await sandbox.click(waiting[-1], "Approve", user=server.moderator)
    assert click.errors == [], click.errors


async def complete(
    sandbox: Sandbox, server: StudyServer, bot: RunningBot, learner: Member, weeks: range | list[int]
) -> None:
    for week in weeks:
        await hand_in(sandbox, server, bot, learner, week)
        await approve_latest(sandbox, server)
    await bot.bot.outbox.settle()
    await bot.bot.tiers.settle()


def problem_reports(sandbox: Sandbox, server: StudyServer) -> list[Message]:
    return [m for m in reviews(sandbox, server) if "could not give them the role" in m.content]


async def awards(bot: RunningBot) -> list[TierAward]:
    async with bot.bot.sessions() as session:
        return list((await session.scalars(select(TierAward).order_by(TierAward.id))).all())


async def submit(sandbox: Sandbox, learner: Member, week: int) -> None:
    reply = await sandbox.slash("submit", user=learner, week=week, link=f"https://example.org/{learner.name}/{week}")
    assert "Submitted" in reply.content, reply.content


async def decide_latest(sandbox: Sandbox, server: StudyServer, *, approve: bool) -> None:
    latest = reviews(sandbox, server)[-1]
    if approve:
        assert (await sandbox.click(latest, "Approve", user=server.moderator)).errors == []
    else:
        form = await sandbox.click(latest, "Request changes", user=server.moderator)
        await sandbox.submit_modal(form, {"What should the learner change?": "Add tests, please."})


async def statements(bot: RunningBot, call: Callable[[], Awaitable[Reply]]) -> int:
    await bot.bot.outbox.settle()  # owed messages still going out are not the command's statements
    with counting_statements(bot.bot.engine) as counter:
        reply = await call()
    assert reply.embeds, reply
    return counter.count


async def add_history(bot: RunningBot, membership_ids: list[int], cohort_id: int, *, days: int, weeks: int) -> None:
    """Bulk history for these memberships: a check-in a day for `days` days, `weeks` approved checkpoints."""
    start = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
    async with bot.bot.sessions.begin() as session:
        checkins = [
            {"membership_id": m, "local_date": (start + timedelta(days=d)).date(), "minutes": 30, "note": None,
             "created_at": start + timedelta(days=d)}
            for m in membership_ids for d in range(days)
        ]
        await session.execute(insert(CheckIn), checkins)
        for m in membership_ids:
            for week in range(2, 2 + weeks):
                at = start + timedelta(days=7 * week)
                submission_id = await session.scalar(
                    insert(Submission).returning(Submission.id),
                    {"cohort_id": cohort_id, "membership_id": m, "week": week, "status": SubmissionStatus.APPROVED,
                     "current_version": 2, "created_at": at, "updated_at": at},
                )
                await session.execute(insert(SubmissionVersion), [
                    {"submission_id": submission_id, "version": v, "link": "https://e.org", "late": False,
                     "submitted_at": at + timedelta(hours=v)} for v in (1, 2)
                ])
            await session.execute(insert(Extension), [
                {"membership_id": m, "week": w, "days": 2, "granted_by": 1, "created_at": start} for w in (3, 4)
            ])
            await session.execute(insert(TierAward), {
                "membership_id": m, "tier_key": "beginner", "status": AwardStatus.GRANTED, "role_id": 5,
                "attempts": 1, "earned_at": start, "granted_at": start,
            })


START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
"""A Monday morning, one hour before a 09:00 UTC cohort's first post."""


Launcher = Callable[[], Awaitable[RunningBot]]
