"""Offsets Faust skipped, fetched by the worker itself.

faust-streaming can hand over a record ahead of the ones before it around a seek (#221); the
ingest step holds such records back until the missing offsets come (streams/ingest/step.py).
In CI (2026-12-05) they never came: after a stall and a restart the missing offset was never
delivered, the held records were counted after 20 s, and one evaluation was lost for good
(Faust had committed past it). So a gap still open after a few seconds is read here, with a
consumer of its own outside the group, and handed to the ingest step in order: the held
records then follow, and nothing depends on Faust delivering the offset again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiokafka import TopicPartition

from streams.ingest.rekey import REKEYED_BASE
from streams.records import Record
from streams.topology import rekeyed_topic
from streams.worker.side_reader import batches, side_consumer

if TYPE_CHECKING:
    from streams.worker.app import Worker

log = logging.getLogger("haochaping.worker")


async def fetch_range(
    worker: Worker, topic: str, partition: int, start: int, end: int
) -> list[Record]:
    """The records of ``topic``/``partition`` with offsets in [start, end), as far as the
    broker still has them."""
    tp = TopicPartition(topic, partition)
    out: list[Record] = []
    async with side_consumer(worker.settings, tp) as consumer:
        async for found in batches(consumer, tp, start, end, idle_s=3, max_records=end - start):
            out += [
                Record(r.topic, r.partition, r.offset, r.timestamp / 1000, r.key, r.value)
                for r in found
            ]
    return out


async def fill_gaps(worker: Worker) -> int:
    """Fetch the offsets of every gap the ingest step has held open too long and process
    them; how many records were fetched."""
    fetched = 0
    for source, start, end in worker.ingest.gaps():
        if source >= REKEYED_BASE:
            topic, partition = rekeyed_topic(worker.settings), source - REKEYED_BASE
        else:
            topic, partition = worker.settings.topic_raw, source
        records = await fetch_range(worker, topic, partition, start, end)
        log.warning(
            "partition %d: offsets %d..%d never came from Faust; fetched %d of them",
            source, start, end - 1, len(records),
        )  # fmt: skip
        if records:
            worker.ingest.process(records)
            fetched += len(records)
    return fetched
