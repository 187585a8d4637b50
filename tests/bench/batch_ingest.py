"""The ingest step without Faust's per-event path: what issue 31's redesign could gain at most.

A plain aiokafka consumer reads ``ratings.raw`` in batches (every partition assigned, no group
membership), the ingest step decides them exactly as the worker does (``build_steps``, its
two tables as changelogged dicts whose records go out with the batch), the outputs are handed
to aiokafka as whole record batches (streams/outbox.py), and the offsets are committed once
Kafka has acknowledged them. It is not the redesign: no rebalance, no recovery, no follow-up
half. It measures the hot path such a design would have, beside (a) the Faust floor and the
ingest half of (b), so the redesign's worth is known before it is built.

Run by tests/bench/run.py as a process of its own, the run's settings in its environment:
``python -m tests.bench.batch_ingest <expected> <result.json>``; the result is what the
floor writes (events after the first batch, seconds, CPU seconds).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from haochaping.topics import ensure_topics
from runtime.evaluator_secret import evaluator_secret
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from streams.outbox import ChangelogState, Outbox
from streams.pipeline import StepStates, build_steps
from streams.records import Record
from streams.topology import changelog_topic, feed
from streams.worker.kafka import producer_options

BATCH = 5000
IDLE_S = 60  # nothing to read this long: the run failed (said so, not hung)


def changelogged(topic: str, outbox: Outbox) -> ChangelogState:
    """A dict whose every change is a changelog record in the outbox, as a Faust table's is
    in the worker (ChangelogState reads only these two attributes of the table)."""
    table = SimpleNamespace(data={}, changelog_topic=SimpleNamespace(get_topic_name=lambda: topic))
    return ChangelogState(table, outbox)


async def clients(settings: Settings) -> tuple[AIOKafkaConsumer, AIOKafkaProducer]:
    security = kafka_security(settings)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        group_id=f"{settings.app_id}-batch-ingest",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **security,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_servers, **producer_options(settings), **security
    )
    await consumer.start()
    await producer.start()
    # ratings.raw has the configured partitions (haochaping topics makes it so)
    raw = settings.topic_raw
    consumer.assign([TopicPartition(raw, p) for p in range(settings.topic_partitions)])
    return consumer, producer


def records_of(batch: dict[Any, list[Any]]) -> list[Record]:
    return [Record.consumed(r) for records in batch.values() for r in records]


async def run(settings: Settings, expected: int, result: Path) -> None:
    outbox = Outbox()
    states = StepStates(
        windows=changelogged(settings.topic_windows, outbox),
        dedupe=changelogged(changelog_topic(settings.app_id, "dedupe"), outbox),
        cases={},
        surge={},
    )
    steps = build_steps(settings, secret=evaluator_secret(settings), outbox=outbox, states=states)
    consumer, producer = await clients(settings)
    seen, first_batch, started, cpu = 0, 0, 0.0, 0.0
    # as the worker does: a batch's deliveries are awaited after the next batch is processed,
    # and its offsets committed then
    in_flight: tuple[asyncio.Future[Any], dict[Any, int]] | None = None
    idle_until = time.monotonic() + IDLE_S
    try:
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            if not batch:
                if time.monotonic() > idle_until:
                    raise SystemExit(f"batch ingest: nothing read for {IDLE_S} s after {seen}")
                continue
            idle_until = time.monotonic() + IDLE_S
            if not seen:
                first_batch = sum(map(len, batch.values()))
                started, cpu = time.perf_counter(), time.process_time()
            records = records_of(batch)
            feed(steps, "ingest", records)
            deliveries = asyncio.gather(*await outbox.hand_over(producer))
            if in_flight is not None:
                await in_flight[0]
                await consumer.commit(in_flight[1])
            in_flight = deliveries, {tp: rs[-1].offset + 1 for tp, rs in batch.items()}
            seen += len(records)
        assert in_flight is not None  # the loop read at least one batch
        await in_flight[0]
        await consumer.commit(in_flight[1])
        elapsed, used = time.perf_counter() - started, time.process_time() - cpu
        result.write_text(
            json.dumps({"events": seen - first_batch, "seconds": elapsed, "cpu_seconds": used})
        )
    finally:
        await consumer.stop()
        await producer.stop()


def main() -> None:
    expected, result = int(sys.argv[1]), Path(sys.argv[2])
    settings = Settings()
    # the dedupe changelog Faust's table writes in the worker (haochaping topics makes it;
    # since the bench's prepare() runs it too, this only makes sure)
    ensure_topics(settings)
    asyncio.run(run(settings, expected, result))


if __name__ == "__main__":
    main()
