"""A cohort calendar as an .ics file (icalendar): local times with a VTIMEZONE, stable UIDs, links to Discord."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot.services.calendar import CohortCalendar

PRODID = "-//cohort-bot//calendar//EN"
ZONE_MARGIN = timedelta(days=366)
"""The VTIMEZONE covers the calendar's span and a year either side, not every rule since 1970."""


def ics_bytes(calendar: CohortCalendar, now: datetime) -> bytes:
    zone = ZoneInfo(calendar.timezone)
    ics = Calendar()
    ics.add("prodid", PRODID)
    ics.add("version", "2.0")
    ics.add("calscale", "GREGORIAN")
    ics.add("method", "PUBLISH")
    ics.add("x-wr-calname", calendar.cohort_name)
    ics.add("x-wr-timezone", calendar.timezone)
    for entry in calendar.entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", now)
        event.add("sequence", entry.sequence)
        event.add("summary", entry.summary)
        # Local wall time with its TZID: calendar apps then place it right on both sides of a DST change.
        event.add("dtstart", entry.start.astimezone(zone))
        event.add("dtend", entry.end.astimezone(zone))
        event.add("description", entry.description)
        event.add("url", calendar.channel_url)
        if entry.location:
            event.add("location", entry.location)
        ics.add_component(event)
    if calendar.entries:
        first = min(e.start for e in calendar.entries).date() - ZONE_MARGIN
        last = max(e.end for e in calendar.entries).date() + ZONE_MARGIN
        ics.add_missing_timezones(first_date=first, last_date=last)
    return ics.to_ical()
