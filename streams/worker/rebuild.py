"""The screening state, rebuilt on start from the facts topic (it is never serialized)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, TopicPartition

from runtime.kafka_security import kafka_security
from streams.screening.facts import unbundle_facts
from streams.topology import screen_facts_topic

if TYPE_CHECKING:
    from streams.worker.app import Worker

log = logging.getLogger("haochaping.worker")


async def rebuild_screening(worker: Worker, until: int) -> None:
    """Rebuild the screening state from the facts before offset ``until`` (the committed
    one) that were written within the step's rebuild span (streams/screening/step.py)."""
    settings, step = worker.settings, worker.screening
    tp = TopicPartition(screen_facts_topic(settings), 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        enable_auto_commit=False,
        **kafka_security(settings),
    )
    started, count = time.monotonic(), 0
    await consumer.start()
    try:
        consumer.assign([tp])
        since_ms = int((time.time() - step.rebuild_span_s) * 1000)
        found = await consumer.offsets_for_times({tp: since_ms})
        position = found[tp].offset if found.get(tp) is not None else until
        if position < until:
            consumer.seek(tp, position)
        idle = 0
        while position < until and idle < 5:
            batch = await consumer.getmany(tp, timeout_ms=1000, max_records=2000)
            records = [r for r in batch.get(tp, []) if r.offset < until]
            idle = 0 if records else idle + 1
            if records:
                position = records[-1].offset + 1
                facts = unbundle_facts(r.value for r in records)
                step.rebuild(facts)
                count += len(facts)
    finally:
        await consumer.stop()
    step.rebuilt = True
    log.info(
        "screening: state rebuilt from %d facts before offset %d in %.1f s",
        count,
        until,
        time.monotonic() - started,
    )
