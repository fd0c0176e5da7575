"""Short texts people read: replies to commands, cohort summaries, the wrap-up."""

from __future__ import annotations

from datetime import datetime

from bot.services.catalog import Removal
from bot.services.cohorts import CohortView
from bot.services.ports import WrapUp


def stamp(moment: datetime, style: str = "f") -> str:
    """A Discord timestamp: each reader sees it in their own timezone."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def wrap_up_text(wrap_up: WrapUp) -> str:
    return (
        f"**'{wrap_up.cohort_name}' has reached the end of {wrap_up.roadmap.title}.** "
        f"{wrap_up.members} learners made it through {wrap_up.roadmap.total_weeks} weeks together. "
        "Thank you all! /progress shows what you achieved; late checkpoints can still be submitted."
    )


def schedule_line(view: CohortView) -> str:
    """'week 3 of 21, next opening <t>' — the one-line state of a cohort."""
    status = view.cohort.status.value
    week = view.current_week
    parts = [f"{status}", f"week {week} of {view.roadmap.total_weeks}" if week else "not started"]
    upcoming = view.next_opening
    if upcoming is not None and upcoming.week <= view.roadmap.total_weeks:
        parts.append(f"week {upcoming.week} opens {stamp(upcoming.at)}")
    elif week == 0 and upcoming is not None:
        parts.append(f"starts {stamp(upcoming.at)}")
    return ", ".join(parts)


def cohort_summary(view: CohortView) -> str:
    cohort = view.cohort
    lines = [
        f"**{cohort.name}** — {view.roadmap.title} (`{view.roadmap.id}` v{view.roadmap_version})",
        f"{schedule_line(view)}",
        f"Starts {cohort.start_date.isoformat()}, posts at {cohort.post_time.strftime('%H:%M')} {cohort.timezone}",
        f"Channel <#{cohort.channel_id}>"
        + (f", reviews in <#{cohort.review_channel_id}>" if cohort.review_channel_id else "")
        + (f", role <@&{cohort.role_id}>" if cohort.role_id else ""),
        f"{view.active_members} active members; enrolment {'open' if cohort.enrollment_open else 'closed'}",
    ]
    due = view.next_deadline
    if due is not None:
        module, at = due
        lines.append(f"Next deadline: {module.label} checkpoint, {stamp(at)}")
    return "\n".join(lines)


def removal_text(removal: Removal) -> str:
    """What /cohort remove-roadmap deleted, and which versions stayed because cohorts use them."""
    removed = ", ".join(str(v) for v in removal.removed)
    noun = "version" if len(removal.removed) == 1 else "versions"
    text = f"Removed `{removal.roadmap_id}` {noun} {removed}."
    if removal.kept:
        kept = "; ".join(f"version {v.version} (used by {', '.join(v.used_by)})" for v in removal.kept)
        text += f" Kept {kept}: a cohort keeps its roadmap version for good."
    return text
