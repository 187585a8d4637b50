"""What the direct reader of ratings.raw commits and decides, from fetched batches."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from runtime.settings import Settings
from streams.worker.direct import (
    DirectReader,
    fill_wait,
    next_offsets,
    oldest_written,
    owned_records,
)


def fetched(partition: int, *offsets: int) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    return [
        ConsumerRecord(
            "ratings.raw",
            partition,
            offset,
            1_764_000_000_000 + offset,
            0,
            b"k",
            b"v",
            None,
            1,
            1,
            (),
        )
        for offset in offsets
    ]


def test_the_commit_is_after_each_partitions_last_record() -> None:
    batch = {
        TopicPartition("ratings.raw", 0): fetched(0, 5, 6, 7),
        TopicPartition("ratings.raw", 1): fetched(1, 40),
        TopicPartition("ratings.raw", 2): [],
    }
    assert next_offsets(batch) == {
        TopicPartition("ratings.raw", 0): 8,
        TopicPartition("ratings.raw", 1): 41,
    }


def test_records_of_a_released_partition_are_left_out() -> None:
    batch = {
        TopicPartition("ratings.raw", 0): fetched(0, 5, 6),
        TopicPartition("ratings.raw", 1): fetched(1, 40),
    }
    records = owned_records(batch, {1})
    assert [(r.partition, r.offset) for r in records] == [(1, 40)]
    # the timestamp in seconds, as the ingest step reads it
    assert records[0].timestamp == 1_764_000_000.040


class SeekRecorder:
    """What the reader asks of aiokafka's consumer when it rewinds: seeks, nothing else."""

    def __init__(self) -> None:
        self.seeks: list[tuple[int, int | str]] = []

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp.partition, offset))

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        self.seeks.extend((tp.partition, "beginning") for tp in tps)


def test_a_batch_fetched_across_a_claim_is_read_again_from_where_the_claim_started() -> None:
    settings = Settings(demo_mode=True)
    reader = DirectReader(SimpleNamespace(settings=settings))  # type: ignore[arg-type]
    reader.owned = {0, 1}
    reader.committed = {0: 42}  # partition 1: never committed anywhere, read from the start
    consumer = SeekRecorder()
    asyncio.run(reader._rewind(consumer))  # type: ignore[arg-type]
    assert consumer.seeks == [(0, 42), (1, "beginning")]


def test_a_batch_waits_until_the_wait_after_its_oldest_record_was_written() -> None:
    # written 0.15 s ago: 0.05 s left of a 0.2 s wait, not 0.2 s more
    assert fill_wait(oldest=100.0, now=100.15, within=0.2) == pytest.approx(0.05)


def test_a_batch_of_records_older_than_the_wait_takes_what_is_fetched_without_waiting() -> None:
    assert fill_wait(oldest=100.0, now=160.0, within=0.2) == 0.0


def test_a_producer_clock_ahead_does_not_lengthen_the_wait() -> None:
    assert fill_wait(oldest=130.0, now=100.0, within=0.2) == 0.2


def test_the_oldest_record_of_a_batch_is_the_earliest_first_record_of_its_partitions() -> None:
    batch = {
        TopicPartition("ratings.raw", 0): fetched(0, 5, 6),
        TopicPartition("ratings.raw", 1): fetched(1, 2, 9),
        TopicPartition("ratings.raw", 2): [],
    }
    assert oldest_written(batch) == pytest.approx(1_764_000_000.002)


def test_a_batch_of_empty_partitions_waits_the_whole_wait() -> None:
    batch = {TopicPartition("ratings.raw", 0): []}
    assert fill_wait(oldest_written(batch), now=100.0, within=0.2) == 0.2
