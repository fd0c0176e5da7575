"""Settings come from `.env` overlaid by the environment, and a bad value is refused in one token-free line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE_URL, ConfigError, Settings, load_settings

TOKEN = "secret-token-123"


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


def test_environment_values_are_parsed() -> None:
    settings = load_settings(
        {
            "DISCORD_TOKEN": TOKEN,
            "DATABASE_URL": "postgresql+asyncpg://bot@db:5432/bot",
            "LOG_LEVEL": "debug",
            "DEV_GUILD_ID": "123456789012345678",
            "DISCORD_SANDBOX_URL": "http://127.0.0.1:8765",
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
