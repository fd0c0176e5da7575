"""Shard settings are parsed and checked in one line each; a process owns the servers of its shards, and DMs on 0."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings, load_settings, parse_shard_ids
from bot.shards import EVERYTHING, Ownership

POSTGRES = "postgresql+asyncpg://bot@db/bot"


def guild_on(shard: int, count: int, serial: int = 7) -> int:
    """A snowflake-sized server id whose shard out of `count` is `shard`."""
    return ((1_000_000 * count + shard) << 22) | serial


def _refusal(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ, env_file=None)
    message = str(refused.value)
    assert "\n" not in message
    return message


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
    assert [ownership.owns(guild_on(shard, 4)) for shard in range(4)] == [False, False, True, True]
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


def test_an_ownership_must_be_a_subset_of_its_count() -> None:
    with pytest.raises(ValueError):
        Ownership.of(2, (2,))
    with pytest.raises(ValueError):
        Ownership.of(2, ())


def test_every_server_belongs_to_exactly_one_process() -> None:
    processes = [Ownership.of(6, (0, 1)), Ownership.of(6, (2, 3)), Ownership.of(6, (4, 5))]
    for serial in range(200):
        guild = (serial * 7919 + 1_234_567) << 22 | serial
        assert sum(p.owns(guild) for p in processes) == 1
        assert Settings().ownership.owns(guild)
