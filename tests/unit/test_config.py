"""Settings come from `.env` overlaid by the environment, and a bad value is refused in one token-free line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE_URL, ConfigError, Settings, load_settings, parse_shard_ids
from bot.shards import EVERYTHING, Ownership

TOKEN = "secret-token-123"
POSTGRES = "postgresql+asyncpg://bot@db/bot"


def _env_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def _refusal(environ: dict[str, str], env_file: Path | None = None) -> str:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ, env_file=env_file)
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_defaults_with_nothing_set() -> None:
    settings = load_settings({}, env_file=None)
    assert settings == Settings()
    assert settings.DATABASE_URL == DEFAULT_DATABASE_URL == "sqlite+aiosqlite:///data/bot.db"
    assert settings.DISCORD_TOKEN is None
    assert settings.LOG_LEVEL == "INFO"
    assert settings.DEV_GUILD_ID is None
    assert settings.DISCORD_SANDBOX_URL is None
    assert settings.LOG_FORMAT == "text"
    assert settings.HEALTH_PORT is None and settings.METRICS_PORT is None, "no port is opened unless asked"
    assert settings.DATABASE_POOL_SIZE == 20


def test_environment_values_are_parsed() -> None:
    settings = load_settings(
        {
            "DISCORD_TOKEN": TOKEN,
            "DATABASE_URL": "postgresql+asyncpg://bot@db:5432/bot",
            "LOG_LEVEL": "debug",
            "DEV_GUILD_ID": "123456789012345678",
            "DISCORD_SANDBOX_URL": "http://127.0.0.1:8765",
            "DATABASE_POOL_SIZE": "5",
            "UNRELATED": "ignored",
        },
        env_file=None,
    )
    assert settings.DISCORD_TOKEN is not None
    assert settings.DISCORD_TOKEN.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings)
    assert settings.DATABASE_URL == "postgresql+asyncpg://bot@db:5432/bot"
    assert settings.LOG_LEVEL == "DEBUG"
    assert settings.DEV_GUILD_ID == 123456789012345678
    assert settings.DISCORD_SANDBOX_URL == "http://127.0.0.1:8765"
    assert settings.DATABASE_POOL_SIZE == 5


def test_env_file_is_read(tmp_path: Path) -> None:
    env_file = _env_file(
        tmp_path,
        "# settings for the test bot\n"
        "\n"
        f"DISCORD_TOKEN='{TOKEN}'\n"
        'export DATABASE_URL="sqlite+aiosqlite:///var/bot.db"\n'
        "LOG_LEVEL = warning\n",
    )
    settings = load_settings({}, env_file=env_file)
    assert settings.DISCORD_TOKEN is not None
    assert settings.DISCORD_TOKEN.get_secret_value() == TOKEN
    assert settings.DATABASE_URL == "sqlite+aiosqlite:///var/bot.db"
    assert settings.LOG_LEVEL == "WARNING"


def test_environment_overrides_env_file(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path, "LOG_LEVEL=WARNING\nDEV_GUILD_ID=42\n")
    settings = load_settings({"LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert settings.LOG_LEVEL == "ERROR"
    assert settings.DEV_GUILD_ID == 42


def test_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert load_settings({"LOG_LEVEL": "ERROR"}, env_file=tmp_path / "absent.env").LOG_LEVEL == "ERROR"


def test_empty_values_count_as_unset() -> None:
    settings = load_settings(
        {"DISCORD_TOKEN": "", "DATABASE_URL": "   ", "LOG_LEVEL": "", "DEV_GUILD_ID": ""}, env_file=None
    )
    assert settings == Settings()


def test_empty_value_in_env_file_counts_as_unset(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path, "DATABASE_URL=\nDEV_GUILD_ID=''\n")
    settings = load_settings({}, env_file=env_file)
    assert settings.DATABASE_URL == DEFAULT_DATABASE_URL
    assert settings.DEV_GUILD_ID is None


def test_empty_environment_value_leaves_env_file_value(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path, f"DISCORD_TOKEN={TOKEN}\nLOG_LEVEL=DEBUG\n")
    settings = load_settings({"DISCORD_TOKEN": "", "LOG_LEVEL": ""}, env_file=env_file)
    assert settings.DISCORD_TOKEN is not None
    assert settings.DISCORD_TOKEN.get_secret_value() == TOKEN
    assert settings.LOG_LEVEL == "DEBUG"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            {"DEV_GUILD_ID": "my-server"},
            "DEV_GUILD_ID: Input should be a valid integer, unable to parse string as an integer",
            id="guild-id-not-a-number",
        ),
        pytest.param({"DEV_GUILD_ID": "0"}, "DEV_GUILD_ID: Input should be greater than 0", id="guild-id-zero"),
        pytest.param(
            {"LOG_LEVEL": "loud"},
            "LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
            id="log-level",
        ),
        pytest.param(
            {"DATABASE_URL": "mysql://bot@db/bot"},
            "DATABASE_URL: must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
            id="database-url-other-database",
        ),
        pytest.param(
            {"DATABASE_URL": "sqlite:///data/bot.db"},
            "DATABASE_URL: must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
            id="database-url-sync-driver",
        ),
        pytest.param(
            {"DISCORD_SANDBOX_URL": "http://sandbox.example.com:8765"},
            "DISCORD_SANDBOX_URL: must be http://127.0.0.1:PORT (a local sandbox)",
            id="sandbox-not-local",
        ),
        pytest.param({"LOG_FORMAT": "xml"}, "LOG_FORMAT: Input should be 'text' or 'json'", id="log-format"),
        pytest.param(
            {"HEALTH_PORT": "65536"}, "HEALTH_PORT: Input should be less than or equal to 65535", id="port-too-high"
        ),
        pytest.param({"METRICS_PORT": "0"}, "METRICS_PORT: Input should be greater than or equal to 1", id="port-zero"),
        pytest.param(
            {"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE: Input should be greater than or equal to 1",
            id="empty-pool",
        ),
        pytest.param(
            {"READY_MAX_BACKLOG": "-1"}, "READY_MAX_BACKLOG: Input should be greater than or equal to 0",
            id="negative-backlog",
        ),
    ],
)
def test_malformed_value_is_refused_naming_the_variable(environ: dict[str, str], expected: str) -> None:
    assert _refusal(environ) == expected


def test_malformed_value_from_env_file_is_refused(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path, "DEV_GUILD_ID=abc\n")
    assert _refusal({}, env_file).startswith("DEV_GUILD_ID: ")


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": "mysql://bot@db/bot"}, id="bad-database-url"),
        pytest.param({"DISCORD_TOKEN": TOKEN, "DATABASE_URL": f"mysql://bot:{TOKEN}@db/bot"}, id="token-in-bad-url"),
        pytest.param({"DISCORD_TOKEN": TOKEN, "DEV_GUILD_ID": TOKEN}, id="token-as-guild-id"),
        pytest.param({"DISCORD_TOKEN": TOKEN, "LOG_LEVEL": TOKEN}, id="token-as-log-level"),
        pytest.param({"DISCORD_TOKEN": TOKEN, "DISCORD_SANDBOX_URL": TOKEN}, id="token-as-sandbox-url"),
    ],
)
def test_refusal_never_echoes_the_token(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ, env_file=None)
    assert TOKEN not in str(refused.value)
    assert TOKEN not in repr(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_bad_env_file_line_is_refused_with_file_and_line(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path, "# comment\nLOG_LEVEL=INFO\n\nthis line has no equals sign\n")
    assert _refusal({}, env_file) == f"{env_file}:4: expected KEY=value"


def test_bad_env_file_line_is_not_echoed(tmp_path: Path) -> None:
    env_file = _env_file(tmp_path, f"DISCORD_TOKEN {TOKEN}\n")
    assert _refusal({}, env_file) == f"{env_file}:1: expected KEY=value"


# Shards (see also tests/unit/test_shards.py).


def test_no_shard_settings_is_the_one_process_bot_of_before() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.SHARD_COUNT is None and settings.SHARD_IDS is None
    assert settings.ownership == EVERYTHING and settings.ownership.everything


@pytest.mark.parametrize(
    ("text", "ids"),
    [("0,1,2", (0, 1, 2)), ("0-2", (0, 1, 2)), (" 4 ", (4,)), ("0-1, 5", (0, 1, 5)), ("3,0-1", (3, 0, 1))],
)
def test_shard_ids_are_lists_ranges_or_both(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


def test_a_count_alone_runs_every_shard_in_this_process_even_on_sqlite() -> None:
    settings = load_settings({"SHARD_COUNT": "3"}, env_file=None)
    assert settings.SHARD_IDS == (0, 1, 2)
    assert settings.ownership.everything


def test_some_shards_on_postgresql_own_only_their_servers() -> None:
    settings = load_settings({"SHARD_COUNT": "4", "SHARD_IDS": "2-3", "DATABASE_URL": POSTGRES}, env_file=None)
    ownership = settings.ownership
    assert ownership == Ownership.of(4, (2, 3))
    assert [ownership.owns(((1 << 30) + shard) << 22) for shard in range(4)] == [False, False, True, True]
    assert not ownership.owns_dms and not ownership.owns(None), "DMs arrive on shard 0, which another process runs"
    assert Ownership.of(4, (0, 1)).owns(None)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"SHARD_IDS": "0-1"}, "SHARD_IDS: needs SHARD_COUNT (the total number of shards of every process)"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "2-4", "DATABASE_URL": POSTGRES},
         "SHARD_IDS: shard 4 is outside 0-3 (SHARD_COUNT=4)"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0,1,1", "DATABASE_URL": POSTGRES}, "SHARD_IDS: lists shard 1 twice"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0-1,1-2", "DATABASE_URL": POSTGRES}, "SHARD_IDS: lists shard 1 twice"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "2-1", "DATABASE_URL": POSTGRES},
         "SHARD_IDS: the range '2-1' runs backwards"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0,x", "DATABASE_URL": POSTGRES},
         "SHARD_IDS: 'x' is not a shard number or a range like 0-2"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "-1", "DATABASE_URL": POSTGRES},
         "SHARD_IDS: '-1' is not a shard number or a range like 0-2"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT: Input should be greater than or equal to 1"),
        ({"SHARD_COUNT": "two"}, "SHARD_COUNT: Input should be a valid integer, unable to parse string as an integer"),
    ],
)
def test_bad_shard_settings_are_refused_in_one_line(environ: dict[str, str], expected: str) -> None:
    assert _refusal(environ) == expected


def test_several_processes_on_sqlite_are_refused() -> None:
    message = _refusal({"SHARD_COUNT": "4", "SHARD_IDS": "0-1"})
    assert message.startswith("SHARD_IDS: runs only some of the shards")
    assert "PostgreSQL" in message
