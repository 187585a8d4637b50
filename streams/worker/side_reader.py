"""Reading one partition with a consumer outside the worker's group: what the gap fetch
(streams/worker/gaps.py) and the screening rebuild (streams/worker/rebuild.py) both do. The
group's assignment and committed offsets are untouched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from runtime.kafka_security import kafka_security
from runtime.settings import Settings


@asynccontextmanager
async def side_consumer(settings: Settings, tp: TopicPartition) -> AsyncIterator[Any]:
    """A started consumer assigned ``tp`` alone, committing nothing; stopped on exit."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        enable_auto_commit=False,
        # a seek before the log's start (records gone by retention) reads from its start
        auto_offset_reset="earliest",
        **kafka_security(settings),
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        yield consumer
    finally:
        await consumer.stop()


async def batches(
    consumer: Any, tp: TopicPartition, start: int, end: int, *, idle_s: int, max_records: int
) -> AsyncIterator[list[Any]]:
    """The records of ``tp`` with offsets in [start, end), batch by batch, until the one
    before ``end`` or ``idle_s`` seconds in a row with nothing (offsets the broker no longer
    has, a partition that ends before ``end``)."""
    consumer.seek(tp, start)
    idle, position = 0, start
    while position < end and idle < idle_s:
        batch = (await consumer.getmany(tp, timeout_ms=1000, max_records=max_records)).get(tp, [])
        found = [r for r in batch if start <= r.offset < end]
        idle = 0 if found else idle + 1
        if batch:
            position = batch[-1].offset + 1
        if found:
            yield found
