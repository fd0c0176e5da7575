"""Log set-up for `run`: one line per record, as text for people or JSON (LOG_FORMAT=json) for log collectors."""

from __future__ import annotations

import logging

import aiohttp
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
    logging.getLogger("discord.client").addFilter(one_line_reconnects)


def without_voice_warnings(record: logging.LogRecord) -> bool:
    """A text-only bot needs no voice libraries; discord.py's warning about them is noise."""
    return "voice will NOT be supported" not in record.getMessage()


def one_line_reconnects(record: logging.LogRecord) -> bool:
    """discord.py logs each gateway reconnect with a full traceback; for a network outage the reason is enough."""
    error = record.exc_info[1] if record.exc_info else None
    if record.getMessage().startswith("Attempting a reconnect") and isinstance(error, OSError | aiohttp.ClientError):
        record.msg = f"Discord's gateway is unreachable ({type(error).__name__}: {error}); {record.getMessage()}"
        record.args = None
        record.exc_info = None
        record.exc_text = None
    return True
