"""Pure reminder arithmetic: when a learner's daily and weekly reminders and a cohort's digest fall due.

Each reminder has a moment and a period. It is due once its moment has passed, and only while it still
makes sense: a daily reminder during its local day (so after downtime only today's can go out, never
yesterday's), a weekly reminder until its deadline, a digest for a week after its moment. Whatever passed
by more than that is dropped, not sent late. The caller adds the rest: a moment before the learner joined
or changed their settings is never sent, and the ledger makes every reminder go at most once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

WEEKLY_LEAD = timedelta(hours=48)
"""The weekly reminder goes this long before a checkpoint deadline."""
DIGEST_PERIOD = timedelta(days=7)
"""A moderator digest later than this after its moment is dropped: the next one is due."""


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class DailyMoment:
    day: date
    """The learner's local day the reminder is for (its ledger period)."""
    at: datetime


def daily_moment(day: date, hour: int, zone_name: str) -> datetime:
    """`hour`:00 on the local `day`, as UTC. DST moves the instant, never the local hour; an hour that
    does not exist that day (skipped by the spring-forward change) falls an hour later."""
    return datetime.combine(day, time(hour), zone(zone_name)).astimezone(UTC)


def due_daily(now: datetime, hour: int, zone_name: str) -> DailyMoment | None:
    """Today's reminder (the learner's today) if its moment has passed; None before it.

    Only today's can be due: a reminder is worth sending during its own day and dropped after it.
    """
    today = now.astimezone(zone(zone_name)).date()
    at = daily_moment(today, hour, zone_name)
    return DailyMoment(today, at) if at <= now else None


def next_daily(now: datetime, hour: int, zone_name: str) -> datetime:
    """The first reminder moment after `now`, for /settings to show."""
    today = now.astimezone(zone(zone_name)).date()
    for offset in range(3):
        at = daily_moment(today + timedelta(days=offset), hour, zone_name)
        if at > now:
            return at
    raise AssertionError("a local day always has the hour within the next three days")


def due_weekly(now: datetime, opened: datetime, deadline: datetime) -> datetime | None:
    """The weekly reminder's moment (48 h before the deadline) if it is due now.

    Due from its moment until the deadline; never for a checkpoint that opened after that moment
    (weeks opened late by an advance), where "48 hours left" would not be true.
    """
    at = deadline - WEEKLY_LEAD
    if opened <= at <= now < deadline:
        return at
    return None


def weekly_period(week: int, deadline: datetime) -> str:
    """Once per learner per deadline: a moved deadline (pause, advance, extension) is a new one."""
    return f"week-{week}@{deadline.astimezone(UTC):%Y%m%dT%H%M}"


def due_digest(openings: dict[int, datetime], total_weeks: int, now: datetime) -> tuple[int, datetime] | None:
    """(week, moment) of the moderator digest due now: the latest week opening from week 2 on.

    A digest sums up the week before each opening; the end of the roadmap gets a wrap-up instead.
    """
    opened = [(at, week) for week, at in openings.items() if 2 <= week <= total_weeks and at <= now]
    if not opened:
        return None
    at, week = max(opened)
    if now - at > DIGEST_PERIOD:
        return None
    return week, at


def could_fall_due(since: datetime | None, now: datetime, openings: Iterable[datetime]) -> bool:
    """Whether any reminder moment may lie in (since, now]; False lets a quiet sweep skip the learners.

    Every moment sits at a time of day (UTC) that is known in advance: daily ones on a quarter hour
    (whole local hours, and every zone's offset is a multiple of 15 minutes); weekly ones and digests at
    a week opening plus whole days (the 48 h lead, extensions of whole days).
    """
    if since is None or now - since >= timedelta(days=1):
        return True
    if now <= since:
        return False
    start, end = _second_of_day(since), _second_of_day(now)

    def inside(second: float) -> bool:
        return start < second <= end if start < end else second > start or second <= end

    if any(inside(quarter * 900.0) for quarter in range(96)):
        return True
    return any(inside(_second_of_day(at)) for at in openings)


def _second_of_day(moment: datetime) -> float:
    moment = moment.astimezone(UTC)
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


def is_new(moment: datetime, since: datetime | None) -> bool:
    """Whether an earlier sweep (which looked at everything up to `since`) has not seen this moment."""
    return since is None or moment > since


def allowed(moment: datetime, not_before: datetime) -> bool:
    """A moment that passed before someone joined or changed their settings is not sent."""
    return moment >= not_before
