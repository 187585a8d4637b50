"""The worker reads a gap Faust skipped itself (streams/worker/gaps.py), from the real broker:
the ingest step's held-back gaps and the follow-up agents' batches."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from kafka import KafkaProducer

from haochaping.topics import ensure_topics
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from streams.worker.gaps import NextOffsets, fetch_range, fill_follow_up_gaps


def test_a_range_of_offsets_is_fetched_in_order(settings: Settings) -> None:
    ensure_topics(settings)
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_servers,
        **kafka_security(settings),
        acks="all",
    )
    for n in range(10):
        producer.send(settings.topic_raw, key=b"k", value=f"v{n}".encode(), partition=1)
    producer.flush(timeout=30)
    producer.close()
    worker: Any = SimpleNamespace(settings=settings)
    records = asyncio.run(fetch_range(worker, settings.topic_raw, 1, 3, 7))
    assert [(r.offset, r.value) for r in records] == [(n, f"v{n}".encode()) for n in range(3, 7)]
    assert all(r.topic == settings.topic_raw and r.partition == 1 for r in records)
    assert all(1e9 < r.timestamp < 1e11 for r in records)  # epoch seconds, as Faust's
    # offsets the broker no longer has (or never had) come back empty, not as an error
    assert asyncio.run(fetch_range(worker, settings.topic_raw, 1, 10, 12)) == []


def _produce(settings: Settings, partition: int, count: int) -> None:
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_servers,
        **kafka_security(settings),
        acks="all",
    )
    for n in range(count):
        producer.send(settings.topic_raw, key=b"k", value=f"v{n}".encode(), partition=partition)
    producer.flush(timeout=30)
    producer.close()


def _follow_up_worker(settings: Settings, committed: dict[Any, int | None]) -> Any:
    consumer = SimpleNamespace(_committed_offset=committed)
    return SimpleNamespace(
        settings=settings, app=SimpleNamespace(consumer=consumer), next_offsets=NextOffsets()
    )


def test_a_follow_up_batch_past_the_commit_gets_the_skipped_records_first(
    settings: Settings,
) -> None:
    """Faust's first batch after a start begins at offset 6 while the group committed 2: the
    records 2..5 are fetched and go before it, then the batch is checked from where it ended."""
    ensure_topics(settings)
    _produce(settings, 0, 12)
    worker = _follow_up_worker(settings, {(settings.topic_raw, 0): 2})
    batch = asyncio.run(fetch_range(worker, settings.topic_raw, 0, 6, 9))
    filled = asyncio.run(fill_follow_up_gaps(worker, batch))
    assert [r.offset for r in filled] == [2, 3, 4, 5, 6, 7, 8]
    assert [r.value for r in filled] == [f"v{n}".encode() for n in range(2, 9)]
    # the next batch skips 9: it is fetched too; one that follows on is left as it is
    later = asyncio.run(fetch_range(worker, settings.topic_raw, 0, 10, 12))
    assert [r.offset for r in asyncio.run(fill_follow_up_gaps(worker, later))] == [9, 10, 11]
    assert asyncio.run(fill_follow_up_gaps(worker, [])) == []


def test_without_a_commit_a_follow_up_partition_is_checked_from_offset_0(
    settings: Settings,
) -> None:
    """A new group reads from the earliest offset (Faust keeps a commit of 0 as none)."""
    ensure_topics(settings)
    _produce(settings, 1, 5)
    worker = _follow_up_worker(settings, {(settings.topic_raw, 1): None})
    batch = asyncio.run(fetch_range(worker, settings.topic_raw, 1, 3, 5))
    assert [r.offset for r in asyncio.run(fill_follow_up_gaps(worker, batch))] == [0, 1, 2, 3, 4]
