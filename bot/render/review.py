"""Submission review messages and the learner's notice about a decision."""

from __future__ import annotations

import discord

from bot.db.models import ReviewDecision
from bot.render import limits
from bot.render.messages import stamp
from bot.render.peer import peer_lines
from bot.services.submissions import Decision, SubmissionCard

PENDING_COLOR = 0xF1C40F
APPROVED_COLOR = 0x2ECC71
CHANGES_COLOR = 0xE67E22
REMOVED_BY_LEARNER = "This submission was removed by the learner."


def review_embed(card: SubmissionCard, decision: Decision | None = None) -> discord.Embed:
    title = f"{card.module.label} checkpoint · {card.display_name}"
    color = PENDING_COLOR
    if decision is not None:
        color = APPROVED_COLOR if decision.decision is ReviewDecision.APPROVED else CHANGES_COLOR
    embed = discord.Embed(title=limits.truncate(title, limits.EMBED_TITLE), color=color)
    embed.description = limits.truncate(
        f"<@{card.user_id}> · **{card.cohort_name}** · {card.module.checkpoint.title}", limits.EMBED_DESCRIPTION
    )
    if card.link:
        embed.add_field(name="Link", value=limits.truncate(card.link, limits.EMBED_FIELD_VALUE), inline=False)
    if card.notes:
        embed.add_field(name="Notes", value=limits.truncate(card.notes, limits.EMBED_FIELD_VALUE), inline=False)
    if card.attachment:
        a = card.attachment
        kind = f", {a.content_type}" if a.content_type else ""
        # The learner's upload expires; the copy attached to this very message is the one that lasts.
        embed.add_field(
            name="File",
            value=limits.truncate(f"📎 {a.name} ({a.size:,} bytes{kind}), attached to this message",
                                  limits.EMBED_FIELD_VALUE),
            inline=False,
        )
    timing = "late" if card.late else "on time"
    due = f"; due {stamp(card.deadline)}" if card.deadline else ""
    embed.add_field(name="Submitted", value=f"{stamp(card.submitted_at)} — **{timing}**{due}", inline=False)
    if card.peer:
        embed.add_field(name="Peer reviews (advice only)", value=peer_lines(card.peer), inline=False)
    embed.set_footer(text=f"Version {card.version} · submission #{card.submission_id}")
    if decision is not None:
        verb = "Approved" if decision.decision is ReviewDecision.APPROVED else "Changes requested"
        value = f"{verb} by <@{decision.reviewer_id}> {stamp(decision.decided_at)}"
        if decision.feedback:
            value += f"\n> {limits.truncate(decision.feedback, 900)}"
        embed.add_field(name="Decision", value=value, inline=False)
    return limits.fit_embed(embed)


def superseded_embed(previous: discord.Embed, version: int) -> discord.Embed:
    embed = previous.copy()
    embed.color = discord.Color.light_grey()
    embed.add_field(name="Replaced", value=f"Version {version} was submitted; review that one.", inline=False)
    return limits.fit_embed(embed)


def decision_notice(decision: Decision) -> str:
    card = decision.card
    what = f"your {card.module.label.lower()} checkpoint ({card.module.checkpoint.title}) in '{card.cohort_name}'"
    if decision.decision is ReviewDecision.APPROVED:
        return f"Good news: {what} was approved. Well done!"
    text = f"A moderator asked for changes to {what}."
    closing = "\nResubmit with /submit when it is ready."
    if decision.feedback:
        text += "\nFeedback:"
        # Quoting adds characters per line: cut the quote, never the closing line, to fit one message.
        quoted = "\n> " + decision.feedback.replace("\n", "\n> ")
        text += limits.truncate(quoted, limits.NOTICE_TEXT - len(text) - len(closing))
    return text + closing
