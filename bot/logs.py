"""Log set-up for `run`: one line per record, as text for people or JSON (LOG_FORMAT=json) for log collectors."""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

from bot.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "message")


def configure_logging(settings: Settings) -> None:
    """Replace any earlier handlers, so a retried start or a second call never doubles the lines."""
    handler = logging.StreamHandler()
    if settings.LOG_FORMAT == "json":
        # Fields passed with `extra=` (e.g. the interaction line's command and outcome) become JSON keys.
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=settings.LOG_LEVEL, handlers=[handler], force=True)
    logging.getLogger("discord.client").addFilter(without_voice_warnings)


def without_voice_warnings(record: logging.LogRecord) -> bool:
    """A text-only bot needs no voice libraries; discord.py's warning about them is noise."""
    return "voice will NOT be supported" not in record.getMessage()
