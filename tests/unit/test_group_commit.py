"""Group commit: writes asked for at one moment go together; later ones wait for the next write; errors reach all."""

from __future__ import annotations

import asyncio

import pytest

from bot.db.group_commit import GroupCommit


class Recorder:
    """A write that records each batch it was given and can be held open or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.open = asyncio.Event()
        self.open.set()
        self.fail: Exception | None = None

    async def __call__(self, keys: list[int]) -> dict[int, int]:
        self.batches.append(sorted(keys))
        await self.open.wait()
        if self.fail is not None:
            raise self.fail
        return {key: key * 10 for key in keys}


async def held_write(*keys: int) -> tuple[Recorder, GroupCommit[int, int], list[asyncio.Task[int]]]:
    """Callers of `keys` whose write has begun and is held open until `write.open` is set."""
    write = Recorder()
    write.open.clear()
    group = GroupCommit(write)
    callers = [asyncio.create_task(group(k)) for k in keys]
    await asyncio.sleep(0.01)
    return write, group, callers


async def test_calls_of_one_moment_are_written_together_and_each_gets_its_result() -> None:
    write = Recorder()
    group = GroupCommit(write)
    assert await asyncio.gather(*(group(k) for k in range(5))) == [0, 10, 20, 30, 40]
    assert write.batches == [[0, 1, 2, 3, 4]]


async def test_a_caller_alone_is_written_at_once() -> None:
    write = Recorder()
    group = GroupCommit(write)
    assert await group(7) == 70
    assert await group(8) == 80
    assert write.batches == [[7], [8]]


async def test_calls_made_during_a_write_go_together_in_the_next_one() -> None:
    write, group, [first] = await held_write(1)
    later = [asyncio.create_task(group(k)) for k in (2, 3)]
    await asyncio.sleep(0.01)
    assert write.batches == [[1]]
    write.open.set()
    assert await asyncio.gather(first, *later) == [10, 20, 30]
    assert write.batches == [[1], [2, 3]]


async def test_a_failed_write_fails_every_caller_of_it_and_the_next_write_goes_on() -> None:
    write = Recorder()
    write.fail = RuntimeError("database gone")
    group = GroupCommit(write)
    results = await asyncio.gather(group(1), group(2), return_exceptions=True)
    assert [str(r) for r in results] == ["database gone", "database gone"]
    write.fail = None
    assert await group(3) == 30


async def test_a_cancelled_caller_leaves_the_write_to_the_others() -> None:
    write, _, [leaving, staying] = await held_write(1, 2)
    leaving.cancel()
    write.open.set()
    assert await staying == 20
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert write.batches == [[1, 2]]


async def test_settle_waits_for_a_write_whose_callers_all_left() -> None:
    write, group, [caller] = await held_write(1)
    caller.cancel()
    settled = asyncio.create_task(group.settle())
    await asyncio.sleep(0.01)
    assert not settled.done()  # the write still holds its connection
    write.open.set()
    await settled
    assert write.batches == [[1]]
