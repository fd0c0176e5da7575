"""The Prometheus metrics of one bot process, in a registry of its own (tests run several bots in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.services.backlog import LedgerCounts

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
"""Around Discord's 3-second limit for the first answer, where the interesting change is."""


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.interactions = Counter(
            "cohort_interactions", "Interactions handled, by command and outcome (answered, refused, apology, late).",
            ("command", "outcome"), registry=self.registry,
        )
        self.first_response = Histogram(
            "cohort_interaction_first_response_seconds",
            "From receiving an interaction to Discord accepting its first answer (a reply or a deferral).",
            ("command",), buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.discord_errors = Counter(
            "cohort_discord_http_errors", "Discord answers with 429 or 5xx, by route family and status.",
            ("route", "status"), registry=self.registry,
        )
        self.deliveries = Gauge(
            "cohort_deliveries", "Posts, reminders and digests in the delivery ledger not sent: by kind and state.",
            ("kind", "state"), registry=self.registry,
        )
        self.deliveries_sent = Gauge(
            "cohort_deliveries_sent", "Posts, reminders and digests in the delivery ledger sent (all kinds).",
            registry=self.registry,
        )
        self.backlog = Gauge(
            "cohort_backlog", "Work owed to people for more than 15 minutes, by kind.", ("kind",),
            registry=self.registry,
        )
        self.last_sweep = Gauge(
            "cohort_scheduler_last_sweep_timestamp_seconds", "When the schedule's catch-up sweep last finished.",
            registry=self.registry,
        )

    def set_ledger(self, counts: LedgerCounts, backlog: dict[str, int]) -> None:
        """Replace the database-derived gauges, so a state that emptied does not linger with its old value."""
        self.deliveries_sent.set(counts.sent)
        self.deliveries.clear()
        for (kind, state), count in counts.unsent.items():
            self.deliveries.labels(kind, state).set(count)
        for kind, count in backlog.items():
            self.backlog.labels(kind).set(count)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
