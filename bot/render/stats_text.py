"""The words that go with the statistics chart: the embed of /cohort stats."""

from __future__ import annotations

import discord

from bot.render import limits
from bot.render.progress import PROGRESS_COLOR, plural
from bot.render.stats_chart import duration_text
from bot.services.stats import CohortStats

QUIET_NAMES = 20


def stats_embed(stats: CohortStats, image_name: str) -> discord.Embed:
    lines = [f"{stats.roadmap_title} · week {stats.current_week} of {stats.total_weeks} · "
             f"{plural(stats.members, 'active member')}", ""]
    for week in stats.weeks[-3:]:
        lines.append(
            f"**{week.label}**: of {week.active} active, {week.submitted} handed in, {week.on_time} on time, "
            f"{week.approved} approved, {week.sent_back} sent back; {week.quiet} quiet"
        )
    if len(stats.weeks) > 3:
        lines.append(f"Every week is in the chart and the CSV ({plural(len(stats.weeks), 'week')}).")
    embed = discord.Embed(
        title=limits.truncate(f"Statistics · {stats.cohort_name}", limits.EMBED_TITLE),
        description=limits.truncate("\n".join(lines), limits.EMBED_DESCRIPTION),
        color=PROGRESS_COLOR,
    )
    embed.add_field(
        name="Review turnaround",
        value=f"{plural(stats.reviews, 'review')}: median {duration_text(stats.review_median)}, "
              f"90th percentile {duration_text(stats.review_p90)} (hand-in to first review)",
        inline=False,
    )
    names = [discord.utils.escape_markdown(q.display_name) for q in stats.quiet_now[:QUIET_NAMES]]
    if len(stats.quiet_now) > QUIET_NAMES:
        names.append(f"and {len(stats.quiet_now) - QUIET_NAMES} more (in the CSV)")
    embed.add_field(
        name=f"Quiet for 7 days now: {len(stats.quiet_now)}",
        value=limits.truncate(", ".join(names) or "No one.", limits.EMBED_FIELD_VALUE),
        inline=False,
    )
    tiers = "\n".join(f"{name}: {count}" for name, count in stats.tiers) or "This roadmap has no tiers."
    embed.add_field(name="Tiers earned", value=limits.truncate(tiers, limits.EMBED_FIELD_VALUE), inline=False)
    embed.set_image(url=f"attachment://{image_name}")
    return embed
