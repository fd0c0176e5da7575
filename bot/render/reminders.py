"""Reminder and digest texts, and batched pings split to Discord's limits with exact mentions per message."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.notices import DailyReminder, DigestFacts, PingMessage, WeeklyReminder
from bot.render.limits import MESSAGE_CONTENT, split_lines, truncate
from bot.render.messages import stamp

MAX_PINGS_PER_MESSAGE = 100
"""Discord accepts at most 100 ids in allowed_mentions.users."""
SETTINGS_HINT = "`/settings` changes when and how I remind you."


def daily_text(reminder: DailyReminder) -> str:
    week = reminder.week
    this_week = f" This week: {week.label} · {week.title}." if week is not None else ""
    live = "".join(f" Live today: **{title}** at {stamp(start, 't')}." for title, start in reminder.sessions)
    return (
        f"⏰ Daily reminder for **{reminder.cohort_name}**: you have not checked in today. "
        f"Run `/checkin` once you have studied.{this_week}{live} {SETTINGS_HINT}"
    )


def weekly_text(reminder: WeeklyReminder) -> str:
    week, deadline = reminder.week, reminder.deadline
    return (
        f"📌 **{reminder.cohort_name}**: the {week.label} checkpoint **{week.checkpoint}** is due "
        f"{stamp(deadline, 'F')} ({stamp(deadline, 'R')}) and you have not submitted it yet. "
        f"`/submit week:{week.week}` hands it in. {SETTINGS_HINT}"
    )


def ping_messages(
    user_ids: Sequence[int], text: str, *, limit: int = MESSAGE_CONTENT, max_users: int = MAX_PINGS_PER_MESSAGE
) -> list[PingMessage]:
    """`text` with the users' mentions in front, over as few messages as fit; each pings only its own users."""
    text = truncate(text, limit // 2)
    messages: list[PingMessage] = []
    batch: list[int] = []
    mentions = ""
    for user_id in dict.fromkeys(user_ids):
        mention = f"<@{user_id}>"
        grown = f"{mentions} {mention}" if mentions else mention
        if batch and (len(grown) + 1 + len(text) > limit or len(batch) == max_users):
            messages.append(PingMessage(f"{mentions}\n{text}", tuple(batch)))
            batch, grown = [], mention
        batch.append(user_id)
        mentions = grown
    if batch:
        messages.append(PingMessage(f"{mentions}\n{text}", tuple(batch)))
    return messages


MAX_LISTED = 15
MAX_INACTIVE_LISTED = 50


def digest_messages(facts: DigestFacts, *, limit: int = MESSAGE_CONTENT) -> list[str]:
    """The moderators' weekly digest, split to fit; learners are named by mention (the bot pings nobody here)."""
    lines = [
        f"📋 **Weekly digest · {facts.cohort_name}** — week {facts.week} of {facts.total_weeks} "
        f"opened {stamp(facts.opened)}; {facts.active_members} active learners.",
        "",
        f"**Submissions in the last 7 days: {len(facts.submissions)}**",
    ]
    lines += _listed(
        [f"• <@{s.user_id}> · {s.week_label}{' (late)' if s.late else ''}" for s in facts.submissions]
    )
    lines += ["", f"**Pending reviews, oldest first: {len(facts.pending)}**"]
    lines += _listed(
        [
            f"• <@{p.user_id}> · {p.week_label} · waiting since {stamp(p.since, 'R')}"
            + (f" · [review]({p.link})" if p.link else "")
            for p in facts.pending
        ],
        more="`/review queue` lists them all.",
    )
    lines += ["", f"**No check-in or submission for 7 days: {len(facts.inactive)}**"]
    if facts.inactive:
        shown = " ".join(f"<@{user_id}>" for user_id in facts.inactive[:MAX_INACTIVE_LISTED])
        rest = len(facts.inactive) - MAX_INACTIVE_LISTED
        lines.append(shown + (f" … and {rest} more" if rest > 0 else ""))
    lines += ["", f"**Tier awards in the last 7 days: {len(facts.awards)}**"]
    lines += _listed(
        [f"• <@{a.user_id}> · {a.tier_name}{'' if a.granted else ' (role not granted yet)'}" for a in facts.awards]
    )
    return split_lines(lines, limit)


def _listed(items: list[str], more: str = "") -> list[str]:
    if len(items) <= MAX_LISTED:
        return items
    rest = len(items) - MAX_LISTED
    return [*items[:MAX_LISTED], f"… and {rest} more. {more}".rstrip()]
