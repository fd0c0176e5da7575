"""Typed settings from the environment (and an optional `.env`); a bad value stops start-up with one line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from dotenv.parser import parse_stream
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, DotEnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from bot.shards import EVERYTHING, Ownership

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.db"
_SUPPORTED_DATABASES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
DEFAULT_POOL_SIZE = 20
"""PostgreSQL connections per process, all kept open; beyond them units of work wait their turn (db/fair_pool.py)."""


class ConfigError(Exception):
    """One clear, token-free line saying which setting is wrong and how to fix it."""


class Settings(BaseSettings):
    """What the operator configures. Field names are the environment variable names."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", case_sensitive=True, env_ignore_empty=True, env_file_encoding="utf-8"
    )

    DISCORD_TOKEN: SecretStr | None = None
    DATABASE_URL: str = DEFAULT_DATABASE_URL
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    DEV_GUILD_ID: int | None = Field(default=None, gt=0)
    DISCORD_SANDBOX_URL: str | None = None
    LOG_FORMAT: Literal["text", "json"] = "text"
    HEALTH_PORT: int | None = Field(default=None, ge=1, le=65535)
    METRICS_PORT: int | None = Field(default=None, ge=1, le=65535)
    READY_MAX_BACKLOG: int = Field(default=100, ge=0)
    DATABASE_POOL_SIZE: int = Field(default=DEFAULT_POOL_SIZE, ge=1, le=100)
    """PostgreSQL connections this process opens at start and keeps (several processes share the server's limit)."""
    SHARD_COUNT: int | None = Field(default=None, ge=1, le=10_000)
    SHARD_IDS: tuple[int, ...] | None = Field(default=None, validate_default=True)
    """This process's shards (`0,1,2`, `0-2`, or both mixed); all of SHARD_COUNT when unset."""

    @field_validator("DATABASE_URL")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(_SUPPORTED_DATABASES):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("LOG_FORMAT", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("DISCORD_SANDBOX_URL")
    @classmethod
    def _local_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError("must be http://127.0.0.1:PORT (a local sandbox)")
        return value

    @field_validator("SHARD_IDS", mode="before")
    @classmethod
    def _shard_list(cls, value: object) -> object:
        return parse_shard_ids(value) if isinstance(value, str) else value

    @field_validator("SHARD_IDS")
    @classmethod
    def _shards_fit(cls, value: tuple[int, ...] | None, info: ValidationInfo) -> tuple[int, ...] | None:
        count = info.data.get("SHARD_COUNT")
        if value is None:
            return tuple(range(count)) if count is not None else None
        if count is None:
            raise ValueError("needs SHARD_COUNT (the total number of shards of every process)")
        if len(set(value)) != len(value):
            raise ValueError(f"lists shard {_first_repeat(value)} twice")
        outside = [i for i in value if not 0 <= i < count]
        if outside:
            raise ValueError(f"shard {outside[0]} is outside 0-{count - 1} (SHARD_COUNT={count})")
        if len(value) < count and str(info.data.get("DATABASE_URL", "")).startswith("sqlite"):
            raise ValueError(
                "runs only some of the shards, so other processes run the rest: that needs PostgreSQL "
                "(DATABASE_URL=postgresql+asyncpg://...), SQLite is one process only"
            )
        return value

    @property
    def ownership(self) -> Ownership:
        """The servers this process works on; every server without shard settings."""
        if self.SHARD_COUNT is None or self.SHARD_IDS is None:
            return EVERYTHING
        return Ownership.of(self.SHARD_COUNT, self.SHARD_IDS)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the values given: load_settings is the one door for the environment and `.env`, so that building
        # Settings(...) in a test or the harness never picks up the shell's variables.
        return (init_settings,)


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """`0,1,2`, `0-2` or `0-1,4` → (0, 1, 2, ...), in the order given; a malformed part raises ValueError."""
    ids: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        low, dash, high = part.partition("-")
        if not low.strip().isdigit() or (dash and not high.strip().isdigit()):
            raise ValueError(f"'{part}' is not a shard number or a range like 0-2")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(f"the range '{part}' runs backwards")
        ids.extend(range(first, last + 1))
    return tuple(ids)


def _first_repeat(values: tuple[int, ...]) -> int:
    return next(v for i, v in enumerate(values) if v in values[:i])


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Settings from `.env` overlaid by the real environment; empty values count as unset."""
    env_file = env_file if env_file is not None and env_file.is_file() else None
    if env_file is not None:
        _check_env_file(env_file)
    environment = os.environ if environ is None else environ
    given = {key: value for key, value in environment.items() if key in Settings.model_fields and value.strip()}
    from_file = DotEnvSettingsSource(Settings, env_file=env_file)() if env_file is not None else {}
    try:
        return Settings.model_validate({**from_file, **given})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        # Never echo the input: for DISCORD_TOKEN it would be the secret itself.
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None


def _check_env_file(path: Path) -> None:
    """Refuse a line that is not KEY=value, naming the file and line (python-dotenv would skip it with a warning)."""
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error or (binding.key is not None and binding.value is None):
                text = binding.original.string
                number = binding.original.line + text[: len(text) - len(text.lstrip())].count("\n")
                raise ConfigError(f"{path}:{number}: expected KEY=value")
