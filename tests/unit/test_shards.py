"""A process owns the servers of its shards, and the DMs when it runs shard 0; every server has one owner."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.shards import Ownership


def guild_on(shard: int, count: int, serial: int = 7) -> int:
    """A snowflake-sized server id whose shard out of `count` is `shard`."""
    return ((1_000_000 * count + shard) << 22) | serial


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


def test_each_process_paces_bulk_sends_at_its_share_of_the_bots_global_rate_limit() -> None:
    assert Settings().ownership.share == 1.0
    assert [Ownership.of(6, ids).share for ids in ((0, 1), (2, 3), (4, 5))] == [1 / 3] * 3
