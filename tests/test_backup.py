"""`python -m bot db backup PATH`: a consistent copy of a SQLite database that is being written, and clear refusals."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade_to_head
from bot.db.models import BotState
from tests.processes import EXIT_WITHIN, REPO_ROOT, Process, clean_env

PADDING = "x" * 2000  # rows big enough that the copy spans many pages while writes go on
WRITTEN_BEFORE_BACKUP = 300


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def restore(backup: Path, into: Path) -> str:
    """What the README tells operators: the stopped bot's database file replaced by the backup."""
    shutil.copyfile(backup, into)
    return f"sqlite+aiosqlite:///{into}"


async def test_a_backup_taken_during_writes_restores_with_every_row_written_before_it(tmp_path: Path):
    live_url = f"sqlite+aiosqlite:///{tmp_path}/live/bot.db"
    engine = create_engine(live_url)
    await upgrade_to_head(engine)
    sessions = session_factory(engine)
    committed = 0
    stop, enough = asyncio.Event(), asyncio.Event()

    async def write() -> None:
        nonlocal committed
        while not stop.is_set():
            async with sessions.begin() as session:
                session.add(BotState(key=f"row:{committed:06d}", value=PADDING, updated_at=datetime.now(UTC)))
            committed += 1
            if committed == WRITTEN_BEFORE_BACKUP:
                enough.set()

    writer = asyncio.create_task(write())
    try:
        await enough.wait()
        before = committed
        backup = tmp_path / "backups" / "bot-backup.db"
        backup.parent.mkdir()
        child = await Process.start("db", "backup", str(backup), env=clean_env(DATABASE_URL=live_url))
        code = await child.wait(EXIT_WITHIN)
        after = committed
        assert not writer.done(), "the writer was never blocked into failing"
    finally:
        stop.set()
        await writer
        await engine.dispose()
    assert code == 0, child.text
    assert child.text.startswith(f"backed up to {backup} (")

    restored_url = restore(backup, tmp_path / "restored.db")
    restored = create_engine(restored_url)
    try:
        await upgrade_to_head(restored)
        async with session_factory(restored)() as session:
            keys = list(await session.scalars(select(BotState.key).where(BotState.key.like("row:%"))))
    finally:
        await restored.dispose()
    assert before <= len(keys) <= after
    assert sorted(keys) == [f"row:{n:06d}" for n in range(len(keys))], "a snapshot: every row up to a point, no gap"


@pytest.fixture
def live_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    assert cli("db", "upgrade", env=clean_env(DATABASE_URL=url)).returncode == 0
    return url


def test_a_backup_into_a_folder_that_does_not_exist_is_refused(tmp_path: Path, live_database: str):
    result = cli("db", "backup", str(tmp_path / "nowhere" / "b.db"), env=clean_env(DATABASE_URL=live_database))
    assert result.returncode == 2
    folder = tmp_path / "nowhere"
    assert result.stderr == f"backup: the folder {folder} does not exist; create it or choose another path\n"
    assert not (tmp_path / "nowhere").exists()


def test_a_backup_never_overwrites_a_file(tmp_path: Path, live_database: str):
    target = tmp_path / "old-backup.db"
    target.write_bytes(b"yesterday")
    result = cli("db", "backup", str(target), env=clean_env(DATABASE_URL=live_database))
    assert result.returncode == 2
    assert "already exists; choose a new file name" in result.stderr
    assert target.read_bytes() == b"yesterday"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.db", "old-backup.db"], "no partial file left"


def test_a_postgresql_backup_points_to_pg_dump(tmp_path: Path):
    env = clean_env(DATABASE_URL="postgresql+asyncpg://bot:s3cret@db/bot")
    result = cli("db", "backup", str(tmp_path / "b.db"), env=env)
    assert result.returncode == 2
    assert "use pg_dump" in result.stderr
    assert "s3cret" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("database_url", "says"),
    [
        ("sqlite+aiosqlite:///{tmp}/missing.db", "backup: there is no database at {tmp}/missing.db (DATABASE_URL)\n"),
        ("sqlite+aiosqlite://", "backup: DATABASE_URL names no database file to back up\n"),
    ],
    ids=["no-such-file", "in-memory"],
)
def test_a_backup_of_no_database_file_is_refused(tmp_path: Path, database_url: str, says: str):
    result = cli("db", "backup", str(tmp_path / "b.db"), env=clean_env(DATABASE_URL=database_url.format(tmp=tmp_path)))
    assert result.returncode == 2
    assert result.stderr == says.format(tmp=tmp_path)
    assert list(tmp_path.iterdir()) == []
