"""Cohort statistics as CSV: the funnel by week, then tiers earned, then who is quiet now; formula-safe."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.render.roster_csv import neutralise
from bot.services.stats import CohortStats

WEEK_HEADER = (
    "week", "checkpoint", "active", "submitted", "on_time", "approved", "sent_back", "quiet",
    "reviews", "review_median_hours", "review_p90_hours",
)
TIER_HEADER = ("tier", "earned")
QUIET_HEADER = ("quiet_now", "user_id", "last_active")


def _hours(delta: timedelta | None) -> str:
    return "" if delta is None else f"{delta.total_seconds() / 3600:.2f}"


def stats_csv(stats: CohortStats) -> bytes:
    """Three tables, each with its own header row, separated by an empty row."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(WEEK_HEADER)
    for w in stats.weeks:
        writer.writerow((
            w.label, neutralise(w.title), w.active, w.submitted, w.on_time, w.approved, w.sent_back, w.quiet,
            w.reviews, _hours(w.review_median), _hours(w.review_p90),
        ))
    writer.writerow(("all", "", stats.members, "", "", "", "", len(stats.quiet_now), stats.reviews,
                     _hours(stats.review_median), _hours(stats.review_p90)))
    writer.writerow(())
    writer.writerow(TIER_HEADER)
    writer.writerows((neutralise(name), count) for name, count in stats.tiers)
    writer.writerow(())
    writer.writerow(QUIET_HEADER)
    for learner in stats.quiet_now:
        last = learner.last_active.isoformat() if learner.last_active else ""
        writer.writerow((neutralise(learner.display_name), str(learner.user_id), last))
    return buffer.getvalue().encode("utf-8")
