"""Offsets Faust skipped, fetched by the worker itself.

faust-streaming can hand over a record ahead of the ones before it around a seek (#221); the
ingest step holds such records back until the missing offsets come (streams/ingest/step.py).
In CI (2026-12-05) they never came: after a stall and a restart the missing offset was never
delivered, the held records were counted after 20 s, and one evaluation was lost for good
(Faust had committed past it). So a gap still open after a few seconds is read here, with a
consumer of its own outside the group, and handed to the ingest step in order: the held
records then follow, and nothing depends on Faust delivering the offset again.

The follow-up agents do not wait: a batch that passes over offsets (``NextOffsets``) has
them fetched at once and put in place before it is fed (``fill_follow_up_gaps``). Faust
takes skipped offsets for offsets with no record and commits past them, so a skipped
screening fact was otherwise never screened: its successor's rebuild counted it as screened
before (CI, 2026-12-06: two planted evaluations of a flood unflagged after a restart; a cold
``make demo`` in 31 with 3 planted fakes of 35 unflagged).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiokafka import TopicPartition

from streams import metrics
from streams.ingest.rekey import REKEYED_BASE
from streams.records import Record
from streams.topology import rekeyed_topic
from streams.worker.kafka import committed_offsets
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
            out += [Record.consumed(r) for r in found]
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


Partition = tuple[str, int]


class NextOffsets:
    """The offset each partition's next record should have, in a follow-up agent: the
    worker's topics have a record at every offset (no compaction, no transactions), so
    offsets a batch passes over were skipped by Faust, never absent."""

    def __init__(self) -> None:
        self._next: dict[Partition, int] = {}

    def unknown(self, records: Iterable[Record]) -> set[Partition]:
        return {(r.topic, r.partition) for r in records} - self._next.keys()

    def resume_at(self, partition: Partition, offset: int) -> None:
        """Where reading starts in this process: the group's commit, or 0 without one."""
        self._next.setdefault(partition, offset)

    def gaps(self, records: Iterable[Record]) -> list[tuple[str, int, int, int]]:
        """(topic, partition, first missing, first present) of each run of offsets these
        records pass over, counted from where the partition's next record should be."""
        offsets: dict[Partition, set[int]] = {}
        for r in records:
            offsets.setdefault((r.topic, r.partition), set()).add(r.offset)
        out = []
        for (topic, partition), found in sorted(offsets.items()):
            expected = self._next.get((topic, partition))
            for offset in sorted(found):
                if expected is not None and offset > expected:
                    out.append((topic, partition, expected, offset))
                expected = offset + 1 if expected is None else max(expected, offset + 1)
        return out

    def advance(self, records: Iterable[Record]) -> None:
        """Past these records; a partition forgotten meanwhile (revoked) stays forgotten."""
        for r in records:
            key = (r.topic, r.partition)
            if key in self._next:
                self._next[key] = max(self._next[key], r.offset + 1)

    def forget(self, partition: Partition) -> None:
        """The partition was revoked: its next owner starts from the commit."""
        self._next.pop(partition, None)


def in_order(records: list[Record], fetched: list[Record]) -> list[Record]:
    """``records`` with each fetched record put just before the first of its partition's
    records that comes after it (the rest at the end): a partition's offsets in order, the
    batch's order across partitions kept."""
    if not fetched:
        return records
    waiting: dict[Partition, list[Record]] = {}
    for r in sorted(fetched, key=lambda r: r.offset):
        waiting.setdefault((r.topic, r.partition), []).append(r)
    out: list[Record] = []
    for record in records:
        queue = waiting.get((record.topic, record.partition), [])
        while queue and queue[0].offset < record.offset:
            out.append(queue.pop(0))
        out.append(record)
    out += [r for queue in waiting.values() for r in queue]
    return out


async def fill_follow_up_gaps(worker: Worker, records: list[Record]) -> list[Record]:
    """A follow-up batch with the records Faust skipped before it or within it fetched and
    put in place (a partition's first batch in this process is checked from the commit)."""
    offsets = worker.next_offsets
    unknown = offsets.unknown(records)
    if unknown:
        for where, offset in _resume_points(worker, unknown).items():
            offsets.resume_at(where, offset)
    fetched: list[Record] = []
    for topic, partition, start, end in offsets.gaps(records):
        found = await fetch_range(worker, topic, partition, start, end)
        log.warning(
            "%s:%d: offsets %d..%d never came from Faust; fetched %d of them",
            topic, partition, start, end - 1, len(found),
        )  # fmt: skip
        metrics.offset_gaps_fetched.labels(topic=topic).inc(len(found))
        fetched += found
    offsets.advance(records)
    return in_order(records, fetched)


def _resume_points(worker: Worker, partitions: Iterable[Partition]) -> dict[Partition, int]:
    """Where Faust starts each partition: its committed offset, or the first offset without
    one (the app reads from the earliest; Faust keeps a commit of 0 as none). Offsets gone by
    retention before the log's start then come back empty from the fetch, at the cost of one
    read, on a group's first start only."""
    committed = committed_offsets(worker.app)
    # Faust's keys are TP named tuples, equal to plain (topic, partition) tuples
    found = {partition: committed.get(partition) or 0 for partition in partitions}
    log.info(
        "follow-up: reading from %s",
        ", ".join(f"{t}:{p} at {o}" for (t, p), o in sorted(found.items())),
    )
    return found
