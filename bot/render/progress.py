"""What /checkin, /progress and /leaderboard show: check-in replies, the progress embed, the leaderboard."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.db.models import AwardStatus
from bot.domain.notices import Weeks
from bot.render import limits
from bot.render.messages import stamp
from bot.render.notices import weeks_text
from bot.services.progress import (
    CheckInResult,
    Leaderboard,
    Progress,
    RankBy,
    Standing,
    TierProgress,
    WeekState,
)

PROGRESS_COLOR = 0x5865F2
MARKS = {
    WeekState.APPROVED: "✅",
    WeekState.PENDING: "⏳",
    WeekState.CHANGES_REQUESTED: "🔁",
    WeekState.MISSING: "❌",
    WeekState.OPEN: "📝",
}
TITLE_WIDTH = 40
BOARD_BY = {
    RankBy.STREAK: "current daily streak",
    RankBy.APPROVED: "approved checkpoints",
    RankBy.REVIEWS: "peer reviews given",
}


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def check_in_text(results: Sequence[CheckInResult]) -> str:
    lines = []
    for result in results:
        minutes = f": {plural(result.minutes, 'minute')}" if result.minutes else ""
        where = f"In **{result.cohort_name}**, checked" if len(results) > 1 else "Checked"
        line = (
            f"{where} in for **{result.day:%a %d %b}** ({result.zone}){minutes}. Daily streak: "
            f"**{plural(result.daily.current, 'day')}** (best {result.daily.best})."
        )
        if not result.first_today:
            line += " You had already checked in today: this one is kept too, and the day counts once."
        if result.paused:
            line += f" '{result.cohort_name}' is paused, so your streak is frozen until it resumes."
        lines.append(line)
    return limits.truncate("\n".join(lines), limits.MESSAGE_CONTENT)


def progress_embed(progress: Progress) -> discord.Embed:
    view = progress.view
    status = "" if view.cohort.status.value == "active" else f" ({view.cohort.status.value})"
    week = f"week {view.current_week} of {view.roadmap.total_weeks}" if view.current_week else "not started yet"
    header = f"**{view.name}**{status} — {view.roadmap.title} · {week}"
    counts = " · ".join(
        f"{progress.count(state)} {state.value}"
        for state in (WeekState.APPROVED, WeekState.PENDING, WeekState.CHANGES_REQUESTED, WeekState.MISSING)
    )
    lines = [header, counts, ""]
    upcoming = 0
    for checkpoint in progress.checkpoints:
        if checkpoint.state is WeekState.UPCOMING:
            upcoming += 1
            continue
        title = limits.truncate(checkpoint.module.title, TITLE_WIDTH)
        line = f"{MARKS[checkpoint.state]} {checkpoint.module.label} · {title} — {checkpoint.state.value}"
        if checkpoint.late:
            line += " · late"
        if checkpoint.state is WeekState.OPEN and checkpoint.due is not None:
            line += f", due {stamp(checkpoint.due, 'R')}"
        lines.append(line)
    if upcoming:
        lines.append(f"· {plural(upcoming, 'more checkpoint')} to come")
    embed = discord.Embed(
        title=limits.truncate(f"Progress · {progress.display_name}", limits.EMBED_TITLE),
        description=limits.truncate("\n".join(lines), limits.EMBED_DESCRIPTION),
        color=PROGRESS_COLOR,
    )
    today = "Checked in today ✓" if progress.checked_in_today else "Not yet today: /checkin keeps it going."
    if view.cohort.status.value == "paused":
        today += " Frozen while the cohort is paused."
    embed.add_field(
        name="Daily streak",
        value=f"**{plural(progress.daily.current, 'day')}** (best {progress.daily.best})\n{today}",
        inline=True,
    )
    embed.add_field(
        name="Weekly streak",
        value=f"**{plural(progress.weekly.current, 'checkpoint')}** on time in a row (best {progress.weekly.best})",
        inline=True,
    )
    embed.add_field(
        name="Study logged",
        value=f"{plural(progress.check_in_days, 'day')}, {plural(progress.minutes_logged, 'minute')}",
        inline=True,
    )
    peer = progress.peer
    if peer.given or peer.received or peer.missed_weeks:
        missed = f" · {len(peer.missed_weeks)} week(s) with one missed" if peer.missed_weeks else ""
        embed.add_field(
            name="Peer reviews", value=f"{peer.given} given · {peer.received} received{missed}", inline=False
        )
    embed.add_field(name="Tiers earned", value=_earned(progress.tiers_earned), inline=False)
    embed.add_field(name="Next tier", value=_next_tier(progress), inline=False)
    embed.add_field(name="Next deadline", value=_deadline(progress), inline=False)
    embed.set_footer(text=f"Days count in {progress.zone}.")
    excess = len(embed) - limits.EMBED_TOTAL
    if excess > 0:  # only a very long roadmap with long titles gets here: the week list gives way
        embed.description = limits.truncate(embed.description or "", len(embed.description or "") - excess)
    return embed


def _earned(tiers: list[TierProgress]) -> str:
    if not tiers:
        return "None yet."
    lines = []
    for tier in tiers:
        if tier.award is AwardStatus.GRANTED:
            lines.append(f"🎓 **{tier.tier.name}** — role given")
        elif tier.award_problem:
            lines.append(f"🎓 **{tier.tier.name}** — role on its way (Discord refused it so far; the moderators "
                         "have been told what to fix)")
        else:
            lines.append(f"🎓 **{tier.tier.name}** — role on its way")
    return limits.truncate("\n".join(lines), limits.EMBED_FIELD_VALUE)


def _next_tier(progress: Progress) -> str:
    tier = progress.next_tier
    if tier is None:
        return "Every tier earned. 🎉" if progress.tiers else "This roadmap has no certification tiers."
    done = len(tier.required) - len(tier.still_needed)
    required, missing = weeks_text(Weeks.of(tier.required)), weeks_text(Weeks.of(tier.still_needed))
    text = (
        f"**{tier.tier.name}** ({required}): {done} of {len(tier.required)} checkpoints approved; "
        f"still needs {missing}."
    )
    return limits.truncate(text, limits.EMBED_FIELD_VALUE)


def _deadline(progress: Progress) -> str:
    if progress.next_deadline is None:
        upcoming = progress.view.next_opening
        if upcoming is not None and upcoming.week <= progress.view.roadmap.total_weeks:
            return f"Nothing due right now; week {upcoming.week} opens {stamp(upcoming.at)}."
        return "Nothing due right now."
    module, due = progress.next_deadline
    return f"{module.label} checkpoint: {stamp(due, 'F')} ({stamp(due, 'R')})"


def leaderboard_embed(board: Leaderboard) -> discord.Embed:
    what = BOARD_BY[board.by]
    lines = [f"**{board.view.name}** · by {what} · {plural(board.members, 'member')}", ""]
    if board.top:
        lines.extend(_standing(s, board.by) for s in board.top)
    else:
        lines.append("No one is on the board yet." + (" Check in with /checkin." if board.by is RankBy.STREAK else ""))
    if board.mine is not None:
        lines += ["", f"You: {_standing(board.mine, board.by)}"]
    else:
        lines += ["", f"You are not in '{board.view.name}'."]
    return discord.Embed(
        title="Leaderboard",
        description=limits.truncate("\n".join(lines), limits.EMBED_DESCRIPTION),
        color=PROGRESS_COLOR,
    )


def _standing(standing: Standing, by: RankBy) -> str:
    who = f"<@{standing.user_id}>"
    if by is RankBy.STREAK:
        return f"#{standing.rank} {who} — {plural(standing.value, 'day')} (best {standing.detail})"
    if by is RankBy.REVIEWS:
        return f"#{standing.rank} {who} — {plural(standing.value, 'peer review')} given"
    return f"#{standing.rank} {who} — {plural(standing.value, 'approved checkpoint')}"
