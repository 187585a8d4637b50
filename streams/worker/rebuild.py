"""The screening state, rebuilt on start from the facts topic (it is never serialized)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiokafka import TopicPartition

from streams.screening.facts import unbundle_facts
from streams.topology import screen_facts_topic
from streams.worker.side_reader import batches, side_consumer

if TYPE_CHECKING:
    from streams.worker.app import Worker

log = logging.getLogger("haochaping.worker")

# the broker has every offset before the rebuild's end (a record at it was just read): a pause
# is a slow broker or a busy loop, not the end, so it is waited out this long
IDLE_S = 60


async def rebuild_screening(worker: Worker, until: int) -> None:
    """Rebuild the screening state from the facts before offset ``until`` (the committed
    one) that were written within the step's rebuild span (streams/screening/step.py)."""
    settings, step = worker.settings, worker.screening
    tp = TopicPartition(screen_facts_topic(settings), 0)
    started, count = time.monotonic(), 0
    async with side_consumer(settings, tp) as consumer:
        since_ms = int((time.time() - step.rebuild_span_s) * 1000)
        found = await consumer.offsets_for_times({tp: since_ms})
        position = last = found[tp].offset if found.get(tp) is not None else until
        async for records in batches(
            consumer, tp, position, until, idle_s=IDLE_S, max_records=2000
        ):
            facts = unbundle_facts(r.value for r in records)
            step.rebuild(facts)
            count += len(facts)
            last = records[-1].offset + 1
    if last < until:
        log.warning(
            "screening: the facts at offsets %d..%d could not be read in %d s; the state is "
            "rebuilt without them (flags that needed them are missed)",
            last,
            until - 1,
            IDLE_S,
        )
    step.rebuilt = True
    log.info(
        "screening: state rebuilt from %d facts before offset %d in %.1f s",
        count,
        until,
        time.monotonic() - started,
    )
