"""A cohort roster as CSV: UTF-8, a header row, proper quoting, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from bot.services.roster import RosterRow

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "display_name", "user_id", "joined_at", "status", "timezone", "checkins",
    "approved", "pending", "changes_requested", "missing", "late",
    "daily_streak", "daily_best", "weekly_streak", "weekly_best", "peer_reviews_given", "peer_reviews_received",
    "tiers",
)


def neutralise(text: str) -> str:
    """Text a person typed, made inert: a leading quote stops Excel/Sheets reading it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def roster_csv(rows: Iterable[RosterRow]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        tiers = "; ".join(f"{name} ({at.date().isoformat()})" for name, at in row.tiers)
        writer.writerow(
            (
                neutralise(row.display_name), str(row.user_id), row.joined_at.isoformat(), row.status,
                neutralise(row.timezone), row.checkins, row.approved, row.pending, row.changes_requested,
                row.missing, row.late, row.daily_streak, row.daily_best, row.weekly_streak, row.weekly_best,
                row.peer_reviews_given, row.peer_reviews_received, neutralise(tiers),
            )
        )
    return buffer.getvalue().encode("utf-8")
