"""A consistent copy of a live SQLite database with SQLite's online backup API, safe while the bot writes."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import make_url

BUSY_TIMEOUT = 30.0


class BackupRefused(Exception):
    """Nothing was written; the message says what to change."""


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(
            "db backup copies SQLite databases; for PostgreSQL use pg_dump (see 'Operating it' in the README)"
        )
    if not url.database or url.database == ":memory:":
        raise BackupRefused("DATABASE_URL names no database file to back up")
    return Path(url.database)


def backup_sqlite(database_url: str, target: Path) -> int:
    """Copy the database to `target` (a new file) in one consistent step; returns its size in bytes."""
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupRefused(f"there is no database at {source} (DATABASE_URL)")
    if not target.parent.is_dir():
        raise BackupRefused(f"the folder {target.parent} does not exist; create it or choose another path")
    if target.exists():
        raise BackupRefused(f"{target} already exists; choose a new file name (a backup never overwrites)")
    partial = target.with_name(target.name + ".partial")
    try:
        # Read-only: the backup must never be the one that changes the live database.
        with contextlib.closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True,
                                                timeout=BUSY_TIMEOUT)) as live, \
                contextlib.closing(sqlite3.connect(partial)) as copy:
            # All pages in one step: a single read snapshot, so writers (WAL) are never blocked and
            # the copy is never restarted by them.
            live.backup(copy)
            (status,) = copy.execute("PRAGMA quick_check").fetchone()
            if status != "ok":
                raise BackupRefused(f"the copy failed SQLite's check ({status}); the database may need repair")
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
