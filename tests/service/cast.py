"""Who and where in the service tests: one server, its channels, a moderator and two learners, and the start."""

from __future__ import annotations

from datetime import UTC, datetime

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
"""A Monday morning, one hour before the cohort's first post (09:00 UTC)."""
GUILD, CHANNEL, REVIEWS, MODERATOR = 10, 20, 21, 30
ADA, GRACE = 40, 41
