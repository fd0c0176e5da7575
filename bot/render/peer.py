"""Peer review in words: the reviewer's DM and queue, the author's notices, the moderators' lines and notice."""

from __future__ import annotations

from collections.abc import Sequence

from bot.render import limits
from bot.render.messages import stamp
from bot.roadmap import Module
from bot.services.peer_facts import PeerVerdict, Verdict
from bot.services.peer_review import Assignment, AuthorNotice, PeerConfig

MARK = {Verdict.MET: "✅ met", Verdict.PARTLY: "🟡 partly", Verdict.NOT_YET: "❌ not yet"}
ADVICE = "Peer reviews are advice: a moderator's decision is the one that counts."
COMMENT_SHOWN = 200
"""Characters of a comment shown on the moderators' review message (the author gets all of it)."""


def peer_lines(verdicts: Sequence[PeerVerdict]) -> str:
    """One line per peer review for the moderators: who, the tally per verdict, the start of the comment."""
    lines = []
    for v in verdicts:
        tally = " · ".join(f"{MARK[kind].split()[0]} {v.count(kind)}" for kind in Verdict)
        line = f"#{v.review_id} {v.reviewer_name}: {tally}"
        if v.comment:
            line += f" — “{limits.truncate(' '.join(v.comment.split()), COMMENT_SHOWN)}”"
        lines.append(line)
    lines.append("`/peer discard review:N` removes one.")
    return limits.truncate("\n".join(lines), limits.EMBED_FIELD_VALUE)


def item_line(number: int, item: Assignment) -> str:
    line = f"**{number}.** {item.module.label} checkpoint of {item.author_name} ({item.module.checkpoint.title})"
    if item.link:
        line += f"\n   {item.link}"
    if item.attachment_url:
        line += f"\n   📎 {item.attachment_name or 'file'}: {item.attachment_url}"
    return line + f"\n   due {stamp(item.due_at)} ({stamp(item.due_at, 'R')})"


def assignment_dm(items: Sequence[Assignment]) -> str:
    """The one DM a reviewer gets for the submissions just given to them; a Review button follows each number."""
    first = items[0]
    count = "a checkpoint" if len(items) == 1 else f"{len(items)} checkpoints"
    head = f"You have {count} to peer-review in '{first.cohort_name}':"
    tail = (
        "Press the Review button with its number: mark each requirement met, partly or not yet, and add a comment. "
        f"You can edit your review until its deadline. {ADVICE}"
    )
    body = "\n".join(item_line(i, item) for i, item in enumerate(items, start=1))
    return limits.truncate(f"{head}\n{body}", limits.NOTICE_TEXT - len(tail) - 1) + "\n" + tail


def queue_text(items: Sequence[Assignment]) -> list[str]:
    """/peer queue, split to Discord's message limit."""
    if not items:
        return ["You have no peer reviews to give right now."]
    lines = [f"{len(items)} peer review{'s' if len(items) != 1 else ''} to give, soonest first:"]
    lines += [f"{item_line(i, item)} · {item.cohort_name}" for i, item in enumerate(items, start=1)]
    return limits.split_lines(lines, limits.MESSAGE_CONTENT)


def author_notice(notice: AuthorNotice, rubric: Sequence[str]) -> str:
    who = notice.reviewer_name or "A peer"
    did = "updated their review of" if notice.edited else "reviewed"
    head = f"{who} {did} your {notice.module.label.lower()} checkpoint in '{notice.cohort_name}':"
    lines = [f"{MARK[v]} — {requirement}" for v, requirement in zip(notice.verdicts, rubric, strict=False)]
    text = "\n".join([head, *lines])
    if notice.comment:
        text += "\n" + "\n".join(f"> {line}" for line in notice.comment.splitlines())
    return limits.truncate(text, limits.NOTICE_TEXT - len(ADVICE) - 1) + "\n" + ADVICE


def discarded_notice(label: str, cohort_name: str, reviewer_name: str | None) -> str:
    whose = f"{reviewer_name}'s" if reviewer_name else "A peer's"
    return (
        f"{whose} review of your {label.lower()} checkpoint in '{cohort_name}' was removed by a moderator. "
        "Disregard it; your moderators' decision is unchanged."
    )


def short_notice(cohort_name: str, module: Module, submitters: int, reviewers: int, short: int) -> str:
    handed = "only one learner" if submitters <= 1 else f"only {submitters} learners"
    return (
        f"Peer review in '{cohort_name}', {module.label.lower()}: {handed} handed in the checkpoint, so "
        f"{short} submission{'s' if short != 1 else ''} got fewer than {reviewers} peer reviewer"
        f"{'s' if reviewers != 1 else ''}. I assigned what I could; those need a moderator's eye as usual."
    )


def config_text(config: PeerConfig) -> str:
    """The answer to /cohort peer-review."""
    if not config.reviewers:
        return f"Peer review is off for **{config.cohort_name}**. Reviews already assigned can still be given."
    peers = "1 peer" if config.reviewers == 1 else f"{config.reviewers} peers"
    named = "anonymously" if config.anonymous else "with their names"
    return (
        f"Peer review is on for **{config.cohort_name}**: when a week's deadline passes, each submission gets {peers} "
        f"who handed in that week too. They have {config.due_days} day{'s' if config.due_days != 1 else ''} to review, "
        f"and authors see the reviews {named}. {ADVICE}"
    )
