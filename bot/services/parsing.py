"""Parsing what users type (dates, times, zones, names) into values, with refusals they can act on."""

from __future__ import annotations

import re
from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import InvalidInput

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_ZONES = frozenset(available_timezones())
MAX_COHORT_NAME = 64


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"'{text}' is not a date. Use YYYY-MM-DD, for example 2026-01-05.") from None


def parse_post_time(text: str) -> time:
    match = _TIME.match(text.strip())
    if not match:
        raise InvalidInput(f"'{text}' is not a time of day. Use HH:MM on a 24-hour clock, for example 09:00.")
    return time(int(match.group(1)), int(match.group(2)))


def parse_timezone(text: str) -> str:
    name = text.strip()
    if name not in _ZONES:
        raise InvalidInput(f"'{text}' is not a timezone I know. Use an IANA name such as Europe/Berlin or UTC.")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise InvalidInput(f"'{text}' is not a timezone I know. Use an IANA name such as Europe/Berlin.") from None
    return name


def matching_timezones(fragment: str, limit: int = 25) -> list[str]:
    """Zone names containing `fragment` (case-insensitive), best matches first, for autocomplete."""
    needle = fragment.strip().lower().replace(" ", "_")
    found = [zone for zone in _ZONES if needle in zone.lower()]
    return sorted(found, key=lambda z: (not z.lower().startswith(needle), len(z), z))[:limit]


def one_line(text: str, limit: int, *, missing: str, too_long: str) -> str:
    """`text` with its whitespace collapsed, refused when empty or over `limit` characters."""
    line = " ".join(text.split())
    if not line:
        raise InvalidInput(missing)
    if len(line) > limit:
        raise InvalidInput(too_long)
    return line


def cohort_name(text: str) -> str:
    return one_line(
        text,
        MAX_COHORT_NAME,
        missing="A cohort needs a name.",
        too_long=f"A cohort name can be at most {MAX_COHORT_NAME} characters.",
    )


def name_key(name: str) -> str:
    """Cohort names are unique per server regardless of case and spacing."""
    return " ".join(name.split()).casefold()
