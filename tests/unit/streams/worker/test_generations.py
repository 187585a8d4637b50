"""A record of a past generation is not delivered, nor marks its partition read
(streams/worker/generations.py), driven through Faust's own fetch loop
(``Consumer._drain_messages``) with no broker: the consumer's fetch returns scripted records
and its inline commit is where the rebalance happens, as it did in the stalled demo."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import faust
from aiokafka.structs import ConsumerRecord, TopicPartition
from faust.transport.drivers.aiokafka import Consumer as AiokafkaConsumer

from streams.worker.generations import CurrentGenerationOnly, is_stale, restored_read_offset
from streams.worker.kafka import IdempotentTransport, PromptConsumer
from streams.worker.undelivered import RefetchUndelivered

DONE = TopicPartition("transactions.done", 1)
COMMITTED = 10  # the group's commit: the next offset to read


def test_a_record_is_stale_when_its_generation_is_not_the_consumers() -> None:
    assert is_stale(SimpleNamespace(generation_id=3), 4)
    assert not is_stale(SimpleNamespace(generation_id=4), 4)


def test_a_read_offset_goes_back_to_what_a_rebalances_seek_sets() -> None:
    assert restored_read_offset(17112) == 17112
    assert restored_read_offset(None) is None and restored_read_offset(0) is None


def record(offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(DONE.topic, DONE.partition, offset, 0, 0, b"k", b"v", None, 1, 1, ())


class Scripted(AiokafkaConsumer):
    """Two fetches of offsets 10..14: the first in generation 1, during which an inline commit
    waits out a rebalance (the new generation seeks to the commit, 10); the second after it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetches = 0
        self.fetcher = SimpleNamespace(_stopped=asyncio.Event())

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        self.fetches += 1
        if self.fetches > 2:
            self.fetcher._stopped.set()
            return {}
        return {DONE: [record(offset) for offset in range(COMMITTED, COMMITTED + 5)]}

    def _get_active_partitions(self) -> set[Any]:
        return {DONE}

    def highwater(self, tp: Any) -> int:
        return COMMITTED + 5

    async def commit(self, *args: Any, **kwargs: Any) -> bool:
        # the rebalance the commit waited for: revoked, assigned anew, sought to the commit
        self._n_acked = 0
        self._read_offset.pop(DONE, None)
        self.app.consumer_generation_id += 1
        self._committed_offset[DONE] = COMMITTED
        self._read_offset[DONE] = COMMITTED
        return True


class Fixed(CurrentGenerationOnly, RefetchUndelivered, Scripted):
    pass


def delivered_through_fausts_fetch_loop(consumer_class: type[Any]) -> tuple[list[int], Any]:
    async def main() -> tuple[list[int], Any]:
        app = faust.App("test-generations", broker="kafka://127.0.0.1:1", store="memory://")
        app.transport = IdempotentTransport(app.conf.broker_consumer, app)
        app.consumer_generation_id = 1
        delivered: list[int] = []

        async def conductor(message: Any) -> None:
            delivered.append(message.offset)
            if message.offset == COMMITTED + 2 and consumer.fetches == 1:
                consumer._n_acked = consumer._commit_every  # the next record commits first

        consumer = consumer_class(
            app.transport,
            callback=conductor,
            on_partitions_revoked=None,
            on_partitions_assigned=None,
        )
        consumer._read_offset[DONE] = COMMITTED
        consumer._committed_offset[DONE] = COMMITTED
        await asyncio.wait_for(consumer._drain_messages(consumer.fetcher), timeout=30)
        return delivered, consumer

    return asyncio.run(main())


def test_the_new_generation_reads_every_record_from_its_commit() -> None:
    delivered, consumer = delivered_through_fausts_fetch_loop(Fixed)
    # generation 1 delivered 10..12; 13, fetched in generation 1, came after the rebalance
    # and was not delivered; generation 2 delivered everything from the commit
    assert delivered == [10, 11, 12, 10, 11, 12, 13, 14]
    assert consumer._read_offset[DONE] == 14


def test_without_the_fix_fausts_loop_drops_the_records_before_the_stale_one() -> None:
    """The defect as it was: the record of the past generation is delivered after the seek
    and its offset marks the partition read, so 10..12 of the new generation are dropped and
    never acknowledged: the commit stays at 10 for ever."""
    delivered, _ = delivered_through_fausts_fetch_loop(Scripted)
    # 13 of the past generation after the seek, then 13 and 14: the new one's 10..12 dropped
    assert delivered == [10, 11, 12, 13, 13, 14]


def test_the_worker_consumer_has_the_fix() -> None:
    assert issubclass(PromptConsumer, CurrentGenerationOnly)
