"""What the direct reader of ratings.raw commits and decides, from fetched batches."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from streams.worker.direct import next_offsets, owned_records


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
