"""`python -m bot` as the operator runs it: real subprocesses, exit codes and what they print."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.roadmap.registry import bundled_paths
from tests.processes import clean_env

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "secret-token-123"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without any bot settings, and a database inside tmp_path."""
    return clean_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/data/bot.db")


def bot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The timeout only stops a hung child from hanging the suite; nothing asserts on duration.
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["demo"], ["db"], ["db", "upgrade"], ["roadmap"], ["roadmap", "validate"], ["roadmap", "show"]],
    ids=lambda command: " ".join(command) or "top",
)
def test_help(command: list[str], env: dict[str, str]) -> None:
    result = bot(*command, "--help", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m bot {' '.join(command)}".rstrip())
    assert result.stderr == ""


def test_no_command_is_a_usage_error(env: dict[str, str]) -> None:
    result = bot(env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: python -m bot")


def test_validate_bundled_roadmaps(env: dict[str, str]) -> None:
    result = bot("roadmap", "validate", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split(": ok (")[0] for line in lines] == [str(path) for path in bundled_paths()]
    assert len(lines) == 5


def test_validate_explicit_good_file(env: dict[str, str]) -> None:
    path = REPO_ROOT / "roadmaps" / "ml-ai-study-guide.yaml"
    result = bot("roadmap", "validate", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{path}: ok (ml-ai-study-guide: 20 modules, 21 weeks, 4 tiers)\n"


BROKEN = """\
id: broken
title: Broken
summary: Three problems.
phases:
  - key: basics
    title: Basics
modules:
  - week: 1
    title: First
    phase: basics
    checkpoint: {title: Project one}
  - week: 2
    title: Second
    phase: basics
    checkpoint: {description: no title}
  - week: 3
    title: Third
    phase: basics
    colour: red
    hours: "20-15"
    checkpoint: {title: Project three}
"""


def test_validate_broken_file_lists_every_problem(tmp_path: Path, env: dict[str, str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    good = REPO_ROOT / "roadmaps" / "ml-ai-study-guide.yaml"
    result = bot("roadmap", "validate", str(broken), str(good), env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{broken}: modules[1].checkpoint.title: field required",
        f"{broken}: modules[2].hours: hours range 20-15 runs backwards",
        f"{broken}: modules[2].colour: unknown field",
        "1 of 2 roadmap files are invalid",
    ]
    assert result.stdout.startswith(f"{good}: ok (")
    assert "Traceback" not in result.stderr


def test_validate_applies_the_upload_limits_and_lists_every_problem(tmp_path: Path, env: dict[str, str]) -> None:
    material = '{title: "' + "z" * 1900 + '", url: "https://example.com/' + "p" * 1900 + '"}'
    long_post = tmp_path / "long.yaml"
    long_post.write_text(
        'id: long\ntitle: "Long"\nsummary: "Long posts."\nphases: [{key: p, title: "P"}]\nmodules:\n'
        + "".join(
            f'  - {{week: {w}, title: "M{w}", phase: p, checkpoint: {{title: "C"}}, materials: [{material}]}}\n'
            for w in (1, 2)
        ).replace(f"[{material}]", f"[{', '.join([material] * 20)}]"),
        encoding="utf-8",
    )
    result = bot("roadmap", "validate", str(long_post), env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{long_post}: modules[0]: its week post would take 15 messages; a week post may take at most 10 "
        "(shorten its materials, objectives, practice or checkpoint)",
        f"{long_post}: modules[1]: its week post would take 15 messages; a week post may take at most 10 "
        "(shorten its materials, objectives, practice or checkpoint)",
        "1 of 1 roadmap files are invalid",
    ]


def test_validate_missing_path(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "missing.yaml"
    result = bot("roadmap", "validate", str(missing), env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{missing}: cannot be read: No such file or directory",
        "1 of 1 roadmap files are invalid",
    ]
    assert result.stdout == ""


@pytest.mark.parametrize("week", ["19", "20"])
def test_show_a_two_week_module(week: str, env: dict[str, str]) -> None:
    result = bot("roadmap", "show", "ml-ai-study-guide", "--week", week, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Weeks 19-20 · Domain Applications"
    assert "Checkpoint project" in lines


def test_show_whole_roadmap(env: dict[str, str]) -> None:
    result = bot("roadmap", "show", "ml-ai-study-guide", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ML/AI Learning Roadmap: Complete Study Guide (ml-ai-study-guide), 21 weeks\n")
    assert "  Weeks 19-20: Domain Applications\n" in result.stdout
    assert "  tier expert: ML/AI Researcher (checkpoints of weeks 21)\n" in result.stdout


def test_show_unknown_roadmap(env: dict[str, str]) -> None:
    result = bot("roadmap", "show", "no-such-roadmap", env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("unknown roadmap 'no-such-roadmap' (bundled: ")
    assert "ml-ai-study-guide" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("week", ["0", "22", "-1"])
def test_show_week_out_of_range(week: str, env: dict[str, str]) -> None:
    result = bot("roadmap", "show", "ml-ai-study-guide", "--week", week, env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"ml-ai-study-guide has weeks 1-21; there is no week {week}\n"


def test_run_without_token_explains_and_points_to_demo(env: dict[str, str]) -> None:
    if (REPO_ROOT / ".env").exists():
        # The child reads .env from its working directory; a real token there would start the real bot.
        pytest.skip(f"{REPO_ROOT / '.env'} exists and may hold a DISCORD_TOKEN")
    result = bot("run", env=env)
    assert result.returncode == 2
    assert "DISCORD_TOKEN is not set" in result.stderr
    assert "python -m bot demo" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "database_url",
    ["mysql://bot@db/bot", f"mysql://bot:{TOKEN}@db/bot"],
    ids=["other-database", "token-in-url"],
)
def test_run_with_bad_database_url_is_one_token_free_line(database_url: str, env: dict[str, str]) -> None:
    env = {**env, "DISCORD_TOKEN": TOKEN, "DATABASE_URL": database_url}
    result = bot("run", env=env)
    assert result.returncode == 2
    assert result.stderr == (
        "configuration error: DATABASE_URL: must start with sqlite+aiosqlite:// or postgresql+asyncpg://\n"
    )
    assert TOKEN not in result.stdout + result.stderr


def _sqlite_facts(path: Path) -> tuple[set[str], list[tuple[str]]]:
    connection = sqlite3.connect(path)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        connection.close()
    return tables, versions


def test_db_upgrade_creates_the_database_and_is_idempotent(tmp_path: Path, env: dict[str, str]) -> None:
    database = tmp_path / "data" / "bot.db"
    assert not database.parent.exists()

    first = bot("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "database is up to date\n"
    assert database.is_file()
    tables, versions = _sqlite_facts(database)
    assert {"cohorts", "memberships", "submissions", "deliveries", "alembic_version"} <= tables
    assert len(versions) == 1

    second = bot("db", "upgrade", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout == "database is up to date\n"
    assert _sqlite_facts(database) == (tables, versions)


def test_db_upgrade_with_bad_database_url(env: dict[str, str]) -> None:
    result = bot("db", "upgrade", env={**env, "DATABASE_URL": "sqlite:///plain.db"})
    assert result.returncode == 2
    assert result.stderr == (
        "configuration error: DATABASE_URL: must start with sqlite+aiosqlite:// or postgresql+asyncpg://\n"
    )
    assert not (REPO_ROOT / "plain.db").exists()
