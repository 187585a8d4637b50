"""Records Faust took from aiokafka but did not deliver are fetched again
(streams/worker/undelivered.py): the offsets, and the rewind that never moves forward."""

from __future__ import annotations

import asyncio
from collections import namedtuple
from types import SimpleNamespace
from typing import Any

from streams.worker.undelivered import RefetchUndelivered, first_undelivered

TP = namedtuple("TP", "topic partition")
ACTIONS, RAW = TP("cases.actions", 1), TP("ratings.raw", 0)


def records(*offsets: int) -> list[Any]:
    return [SimpleNamespace(offset=offset) for offset in offsets]


def test_a_batch_delivered_in_full_leaves_nothing_to_fetch_again() -> None:
    assert first_undelivered({RAW: records(7, 8, 9)}, {RAW: 9}) == {}


def test_the_first_record_after_the_last_delivered_is_fetched_again() -> None:
    taken = {RAW: records(7, 8, 9), ACTIONS: records(4)}
    assert first_undelivered(taken, {RAW: 7}) == {RAW: 8, ACTIONS: 4}
    assert first_undelivered({ACTIONS: records()}, {}) == {}


class Base:
    """Faust's consumer as the mixin sees it: a batch taken, a part of it yielded."""

    def __init__(self, taken: dict[Any, list[Any]], yield_upto: int, position: int) -> None:
        self.taken, self.yield_upto, self.seeks = taken, yield_upto, []
        self.flow_active, self._active_partitions, self.should_stop = True, set(), False
        state = SimpleNamespace(has_valid_position=True, position=position)
        assignment = SimpleNamespace(state_value=lambda tp: state)
        self._thread = SimpleNamespace(
            _consumer=SimpleNamespace(_subscription=SimpleNamespace(
                subscription=SimpleNamespace(assignment=assignment)))
        )  # fmt: skip

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        return self.taken

    async def getmany(self, timeout: float) -> Any:
        taken = await self._getmany(None, timeout)
        for tp, batch in taken.items():
            for record in batch:
                if record.offset <= self.yield_upto:
                    yield tp, record

    def assignment(self) -> set[Any]:
        return set(self.taken)

    async def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))


class Consumer(RefetchUndelivered, Base):
    pass


def drain(consumer: Consumer) -> list[int]:
    async def main() -> list[int]:
        return [message.offset async for _, message in consumer.getmany(1.0)]

    return asyncio.run(main())


def test_a_batch_cut_short_is_fetched_again_from_its_first_undelivered_record() -> None:
    consumer = Consumer({ACTIONS: records(4, 5, 6)}, yield_upto=4, position=7)
    assert drain(consumer) == [4]
    assert consumer.seeks == [(ACTIONS, 5)]


def test_a_position_already_moved_back_by_a_seek_is_left_alone() -> None:
    # Faust's own seek to the committed offset (after a rebalance) came first
    consumer = Consumer({ACTIONS: records(4, 5, 6)}, yield_upto=3, position=4)
    assert drain(consumer) == []
    assert consumer.seeks == []


def test_a_batch_delivered_in_full_is_not_fetched_again() -> None:
    consumer = Consumer({ACTIONS: records(4, 5)}, yield_upto=9, position=6)
    assert drain(consumer) == [4, 5]
    assert consumer.seeks == []


def test_a_consumer_shutting_down_fetches_nothing_again() -> None:
    consumer = Consumer({ACTIONS: records(4, 5, 6)}, yield_upto=4, position=7)
    consumer.should_stop = True
    assert drain(consumer) == [4]
    assert consumer.seeks == []


def test_an_app_shutting_down_fetches_nothing_again() -> None:
    # Faust's app stops its fetcher before its consumer, whose own flag is still clear
    consumer = Consumer({ACTIONS: records(4, 5, 6)}, yield_upto=4, position=7)
    consumer.app = SimpleNamespace(should_stop=True)  # type: ignore[attr-defined]
    assert drain(consumer) == [4]
    assert consumer.seeks == []


def test_a_batch_cut_short_by_a_rebalance_is_left_to_the_new_generations_seek() -> None:
    """The new generation sought every partition to its commit (below the batch's first
    undelivered record): moving the position to that record would skip the ones between."""
    consumer = Consumer({ACTIONS: records(4, 5, 6)}, yield_upto=4, position=9)
    consumer.app = SimpleNamespace(should_stop=False, consumer_generation_id=1)  # type: ignore[attr-defined]

    async def main() -> list[int]:
        offsets = []
        async for _, message in consumer.getmany(1.0):
            offsets.append(message.offset)
            consumer.app.consumer_generation_id = 2  # type: ignore[attr-defined]
        return offsets

    assert asyncio.run(main()) == [4]
    assert consumer.seeks == []


def test_a_batch_cut_short_by_a_stopped_flow_is_left_to_the_rebalances_seek() -> None:
    # Faust stops the flow when partitions are revoked; the assignment seeks to the commit
    consumer = Consumer({ACTIONS: records(4, 5, 6)}, yield_upto=4, position=7)
    consumer.flow_active = False
    assert drain(consumer) == [4]
    assert consumer.seeks == []
