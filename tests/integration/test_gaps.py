"""The worker reads a gap Faust skipped itself (streams/worker/gaps.py), from the real broker."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from kafka import KafkaProducer

from haochaping.topics import ensure_topics
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from streams.worker.gaps import fetch_range


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
