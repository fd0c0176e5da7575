"""Pure reminder rules: when a learner's daily and weekly reminders and a cohort's digest fall due, and who is due.

Each reminder has a moment and a period. It is due once its moment has passed, and only while it still
makes sense: a daily reminder during its local day (so after downtime only today's can go out, never
yesterday's), a weekly reminder until its deadline, a digest for a week after its moment. Whatever passed
by more than that is skipped, never sent late. The caller adds the rest: a moment before the learner joined
or changed their settings is never sent, and the ledger makes every reminder go at most once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.domain.notices import DailyReminder, WeekInfo, WeeklyReminder
from bot.roadmap import Module, Roadmap
from bot.schedule.planner import current_week, extended_deadline
from bot.schedule.sessions import Occurrence, on_day

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


# Who is due: pure, over what the sweep's queries returned.

DAILY_REMINDER = "daily_reminder"
WEEKLY_REMINDER = "weekly_reminder"


@dataclass(frozen=True)
class ReminderCohort:
    """A started cohort as the rules see it."""

    id: int
    name: str
    timezone: str
    channel_id: int
    roadmap: Roadmap
    openings: dict[int, datetime]
    meetings: tuple[tuple[str, list[Occurrence]], ...] = ()
    """Each live session's title with all its meetings, for the daily reminder to mention today's."""

    @property
    def end(self) -> datetime | None:
        return self.openings.get(self.roadmap.total_weeks + 1)


@dataclass(frozen=True)
class LearnerRow:
    """One active membership with what its person's settings say about reminders."""

    membership_id: int
    cohort_id: int
    guild_id: int
    user_id: int
    joined_at: datetime
    timezone: str | None
    """Theirs; None until they set one (the cohort's is used)."""
    reminder_hour: int
    reminded: bool
    """False when they turned reminders off."""
    by_dm: bool
    """False for `channel` delivery and for learners whose DMs are known to be closed."""
    settings_changed_at: datetime | None

    @property
    def not_before(self) -> datetime:
        """Moments before this were before they joined or last changed their settings: never sent."""
        changed = self.settings_changed_at
        return self.joined_at if changed is None or changed < self.joined_at else changed


@dataclass(frozen=True)
class Reminder:
    """One reminder for one learner; the ledger keys it by (kind, the learner or membership, period)."""

    kind: str
    membership_id: int
    period: str
    cohort_id: int
    guild_id: int
    user_id: int
    channel_id: int
    """The cohort channel: where `channel` delivery goes, and where a refused DM falls back to."""
    moment: datetime
    said: DailyReminder | WeeklyReminder
    by_dm: bool


def started(openings: dict[int, datetime], now: datetime) -> bool:
    first = openings.get(1)
    return first is not None and first <= now


def daily_due(
    cohorts: dict[int, ReminderCohort], learners: list[LearnerRow], now: datetime, since: datetime | None
) -> dict[tuple[int, int], tuple[date, Reminder]]:
    """(guild, user) → (local day, reminder): one daily reminder per person and server, for the cohort they have
    been in longest."""
    first: dict[tuple[int, int], LearnerRow] = {}
    for row in learners:
        person = (row.guild_id, row.user_id)
        held = first.get(person)
        if held is None or (row.joined_at, row.cohort_id) < (held.joined_at, held.cohort_id):
            first[person] = row
    # Worked out once per zone and hour, and once per cohort and moment, rather than once per learner.
    moments: dict[tuple[int, str], DailyMoment | None] = {}
    notes: dict[tuple[int, datetime, date], DailyReminder] = {}
    due: dict[tuple[int, int], tuple[date, Reminder]] = {}
    for person, row in first.items():
        if not row.reminded:
            continue
        cohort = cohorts[row.cohort_id]
        when = (row.reminder_hour, row.timezone or cohort.timezone)
        if when not in moments:
            moments[when] = due_daily(now, *when)
        moment = moments[when]
        if moment is None or not is_new(moment.at, since):
            continue
        end = cohort.end
        if not allowed(moment.at, max(row.not_before, cohort.openings[1])) or (end is not None and moment.at >= end):
            continue
        note = notes.get((cohort.id, moment.at, moment.day))
        if note is None:
            module = cohort.roadmap.module_for_week(current_week(cohort.openings, moment.at))
            today = tuple(
                (title, meeting.start)
                for title, found in cohort.meetings
                for meeting in on_day(found, moment.day, when[1])
            )
            week = WeekInfo.of(module) if module is not None else None
            note = notes[(cohort.id, moment.at, moment.day)] = DailyReminder(cohort.name, week, today)
        due[person] = (
            moment.day,
            Reminder(
                kind=DAILY_REMINDER,
                membership_id=row.membership_id,
                period=moment.day.isoformat(),
                cohort_id=cohort.id,
                guild_id=row.guild_id,
                user_id=row.user_id,
                channel_id=cohort.channel_id,
                moment=moment.at,
                said=note,
                by_dm=row.by_dm,
            ),
        )
    return due


def weekly_due(
    cohorts: dict[int, ReminderCohort],
    learners: list[LearnerRow],
    extensions: dict[tuple[int, int], int],
    now: datetime,
    since: datetime | None,
) -> list[tuple[int, Reminder]]:
    """(module week, reminder) for each learner 48 h before each of their deadlines (extensions included);
    `extensions`: (membership, module week) → extra days."""
    extended_modules: dict[int, list[int]] = defaultdict(list)
    for membership_id, week in extensions:
        extended_modules[membership_id].append(week)
    # Per cohort: the open modules whose deadline is ahead, and those past it (which only an extension revives).
    ahead: dict[int, list[tuple[Module, datetime, datetime]]] = {}
    past: dict[int, dict[int, tuple[Module, datetime, datetime]]] = {}
    for cohort_id, cohort in cohorts.items():
        ahead[cohort_id], past[cohort_id] = [], {}
        for module in cohort.roadmap.modules:
            opened, deadline = cohort.openings.get(module.week), cohort.openings.get(module.last_week + 1)
            if opened is None or deadline is None or opened > now:
                continue
            if deadline > now:
                ahead[cohort_id].append((module, opened, deadline))
            else:
                past[cohort_id][module.week] = (module, opened, deadline)
    notes: dict[tuple[int, int, datetime], WeeklyReminder] = {}
    due = []
    for row in learners:
        if not row.reminded:
            continue
        cohort = cohorts[row.cohort_id]
        revived = [past[cohort.id][w] for w in extended_modules.get(row.membership_id, ()) if w in past[cohort.id]]
        for module, opened, deadline in ahead[cohort.id] + revived:
            days = extensions.get((row.membership_id, module.week), 0)
            mine = extended_deadline(deadline, days)
            moment = due_weekly(now, opened, mine)
            if moment is None or not is_new(moment, since) or not allowed(moment, row.not_before):
                continue
            key = (cohort.id, module.week, mine)
            note = notes.get(key)
            if note is None:
                note = notes[key] = WeeklyReminder(cohort.name, WeekInfo.of(module), mine)
            due.append((
                module.week,
                Reminder(
                    kind=WEEKLY_REMINDER,
                    membership_id=row.membership_id,
                    period=weekly_period(module.week, mine),
                    cohort_id=cohort.id,
                    guild_id=row.guild_id,
                    user_id=row.user_id,
                    channel_id=cohort.channel_id,
                    moment=moment,
                    said=note,
                    by_dm=row.by_dm,
                ),
            ))
    return due
