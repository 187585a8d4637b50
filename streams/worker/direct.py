"""``ratings.raw`` read by a consumer of the worker's own, a fetched batch at a time (issue 31).

Faust's per-event path (fetcher, conductor, an ``Event`` per record, the stream's iteration)
cost more than the whole ingest step (docs/benchmarks.md, issue 31); the ingest step on a plain
aiokafka consumer runs at the speed of Faust doing nothing. So with ``ingest_reader=direct``
the ingest agent reads only the rekeyed topic through Faust, and this reader reads
``ratings.raw``:

- **Which partitions**: those Faust assigned of the rekeyed topic (co-partitioned with
  ratings.raw, so the same numbers), claimed once Faust has restored their tables and the
  rebalance has ended, released (last batch delivered and committed) when Faust revokes them.
- **Offsets**: committed in the group ``<app_id>-raw`` (no members: the consumer is assigned
  partitions, never subscribed), after Kafka acknowledged the batch's output, as the agent's
  are. A partition that group never committed starts where the Faust group committed it, so
  switching the reader on replays nothing.
- **Batches**: up to ``batch_size``, or what came within ``batch_within_s`` of the oldest
  record's Kafka timestamp (the agent's wait counts from its first record's arrival); aiokafka
  goes on fetching while a batch is processed, so the next one fills meanwhile (Faust's
  ``take`` buffers nothing then).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from streams.records import Record
from streams.topology import feed, raw_group
from streams.worker.kafka import FETCH_MAX_WAIT_MS
from streams.worker.progress import read_through

if TYPE_CHECKING:
    from streams.worker.app import Worker

log = logging.getLogger("haochaping.worker")

# how long a fetch waits for records when none are there: the previous batch is then
# committed, so an idle partition's commit does not wait for the next record
IDLE_FETCH_MS = 200
# a commit the broker refuses for longer than this ends the worker (at-least-once: the next
# one reads the batch again)
COMMIT_BOUND_S = 60.0


def raw_consumer(settings: Settings, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        **kafka_security(settings),
    )


def next_offsets(batch: Mapping[Any, list[Any]]) -> dict[TopicPartition, int]:
    """The offsets to commit once a fetched batch is processed: after its last record."""
    return {
        TopicPartition(tp.topic, tp.partition): rs[-1].offset + 1 for tp, rs in batch.items() if rs
    }


def owned_records(batch: Mapping[Any, list[Any]], owned: Iterable[int]) -> list[Record]:
    """The records of a fetched batch in the partitions still claimed (a fetch can return
    after a release)."""
    mine = set(owned)
    return [Record.consumed(r) for tp, rs in batch.items() if tp.partition in mine for r in rs]


def oldest_written(batch: Mapping[Any, list[Any]]) -> float:
    """When the oldest record of a fetched batch was written (epoch seconds, its Kafka
    timestamp: the producer's clock, or the broker's for LogAppendTime); a batch without
    records is as new as can be (its wait is whole)."""
    return min((rs[0].timestamp for rs in batch.values() if rs), default=math.inf) / 1000


def fill_wait(oldest: float, now: float, within: float) -> float:
    """How long a batch whose oldest record was written at ``oldest`` may still wait for more:
    until ``within`` after that record, so the records that came while the last batch was
    processed wait ``within`` in all, not the processing and ``within`` again (issue 31's
    latency). A producer's clock ahead cannot make it longer than ``within``."""
    return max(0.0, min(within, oldest + within - now))


class DirectReader:
    """The loop that reads, decides and commits ratings.raw's claimed partitions."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.settings = worker.settings
        self.consumer: AIOKafkaConsumer | None = None  # made in the running loop
        self.owned: set[int] = set()
        self.committed: dict[int, int] = {}  # partition → next offset to read, committed
        # a batch, a claim or a release at a time
        self._turn = asyncio.Lock()
        self._claimed = asyncio.Event()
        self._started = asyncio.Event()  # the consumer is started
        # bumped by every release: a claim scheduled before it is out of date
        self._epoch = 0
        # bumped by every release and claim: a batch fetched across one is dropped
        self._generation = 0
        self._in_flight: tuple[asyncio.Future[Any], dict[TopicPartition, int]] | None = None
        self._claiming: asyncio.Future[None] | None = None
        self._crashing: asyncio.Future[None] | None = None

    def partitions(self) -> list[TopicPartition]:
        return [TopicPartition(self.settings.topic_raw, p) for p in sorted(self.owned)]

    async def run(self) -> None:
        self.consumer = consumer = raw_consumer(self.settings, raw_group(self.settings))
        await consumer.start()
        self._started.set()
        try:
            while True:
                await self._claimed.wait()
                generation = self._generation
                batch = await self._fetch(consumer)
                async with self._turn:
                    if generation != self._generation:
                        # released (and maybe claimed again) while fetching: what was fetched
                        # is read again, from where the claim left processing
                        await self._rewind(consumer)
                        continue
                    records = owned_records(batch, self.owned)
                    if records:
                        await self._process(records, next_offsets(batch))
                    else:
                        await self._settle()
        finally:
            await consumer.stop()

    async def _rewind(self, consumer: AIOKafkaConsumer) -> None:
        """Seek the claimed partitions back to where the claim started them. A fetch that
        waited across a release returns records of the new assignment only once it is made
        (aiokafka waits for it), possibly after the claim's seek: dropped without a seek back,
        the position would have passed them, unprocessed. Nothing was processed since the
        claim (it settled the last batch, and this is the first batch after it)."""
        for tp in self.partitions():
            if (offset := self.committed.get(tp.partition)) is not None:
                consumer.seek(tp, offset)
            else:
                await consumer.seek_to_beginning(tp)

    async def _fetch(self, consumer: AIOKafkaConsumer) -> dict[Any, list[Any]]:
        """A batch: up to ``batch_size`` records, waited for until ``batch_within_s`` after
        its oldest record was written (``fill_wait``), then what is fetched already. A batch
        per fetch wrote up to 3.4 messages per evaluation at live rates instead of 2.0 (window
        entries per batch; docs/benchmarks.md, issue 31), and the sink fell behind; with a
        backlog a batch is full at once."""
        size = self.settings.batch_size
        batch: dict[Any, list[Any]] = await consumer.getmany(
            timeout_ms=IDLE_FETCH_MS, max_records=size
        )
        if not batch:
            return batch
        count = sum(map(len, batch.values()))
        deadline = time.monotonic() + fill_wait(
            oldest_written(batch), time.time(), self.settings.batch_within_s
        )
        while count < size:
            left = deadline - time.monotonic()
            # past the deadline, only what is fetched already: one look, no wait
            timeout_ms = int(left * 1000) + 1 if left > 0 else 0
            more = await consumer.getmany(timeout_ms=timeout_ms, max_records=size - count)
            for tp, records in more.items():
                batch.setdefault(tp, []).extend(records)
                count += len(records)
            if left <= 0:
                break
        return batch

    async def _process(self, records: list[Record], offsets: dict[TopicPartition, int]) -> None:
        started = time.perf_counter()
        feed(self.worker.steps, "ingest", records)
        deliveries = await self.worker.hand_over()
        # the previous batch's deliveries are awaited only now, so processing this one
        # overlapped the round trip to Kafka (as the agent does)
        await self._settle()
        in_flight = asyncio.gather(*deliveries)
        in_flight.add_done_callback(self.worker.progress.delivered(len(records), started))
        self._in_flight = in_flight, offsets

    async def _settle(self) -> None:
        """Wait for the last batch's output to be acknowledged, then commit its offsets."""
        if self._in_flight is None:
            return
        deliveries, offsets = self._in_flight
        self._in_flight = None
        await deliveries
        mine = {tp: offset for tp, offset in offsets.items() if tp.partition in self.owned}
        if not mine:
            return
        assert self.consumer is not None  # a batch was read with it
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(KafkaError),
            wait=wait_exponential(max=5.0),
            stop=stop_after_delay(COMMIT_BOUND_S),
            reraise=True,
        ):
            with attempt:
                await self.consumer.commit(mine)
        self.committed.update({tp.partition: offset for tp, offset in mine.items()})

    async def release(self) -> None:
        """Faust revokes the partitions: the batch in hand is delivered and committed first."""
        self._epoch += 1
        self._generation += 1
        self._claimed.clear()
        async with self._turn:
            await self._settle()
            self.owned = set()
            self.committed = {}
            if self.consumer is not None:
                self.consumer.unsubscribe()

    def claim_when_settled(self, partitions: set[int]) -> None:
        """Claim ``partitions`` once Faust's rebalance and table recovery are over (Faust
        signals a completed recovery before it marks the rebalance ended)."""
        epoch, app = self._epoch, self.worker.app

        async def claim() -> None:
            while app.rebalancing or getattr(app, "in_recovery", False):
                if epoch != self._epoch:
                    return
                await asyncio.sleep(0.1)
            await self.claim(partitions, epoch)

        self._claiming = asyncio.ensure_future(claim())
        self._claiming.add_done_callback(self._crash_if_failed)

    def _crash_if_failed(self, task: asyncio.Future[Any]) -> None:
        # a claim that failed (the broker not answering its offsets) ends the worker, which
        # the next one reads from the commits; left alone, the partitions would sit unread
        if task.cancelled() or (error := task.exception()) is None:
            return
        log.error("claiming %s failed: %r", self.settings.topic_raw, error)
        self._crashing = asyncio.ensure_future(self.worker.app.crash(error))

    async def claim(self, partitions: set[int], epoch: int | None = None) -> None:
        await self._started.wait()
        assert self.consumer is not None  # set before _started
        async with self._turn:
            if epoch is not None and epoch != self._epoch:
                return
            self._generation += 1
            await self._settle()  # a claim with no release before it (a repeated signal)
            self.owned = set(partitions)
            tps = self.partitions()
            self.consumer.assign(tps)
            starts = await self._starts(self.consumer, tps)
            for tp, offset in starts.items():
                self.consumer.seek(tp, offset)
                self.worker.ingest.resumes_at(tp.partition, offset)
            self.committed = {tp.partition: offset for tp, offset in starts.items()}
            log.info(
                "reading %s directly from %s",
                self.settings.topic_raw,
                {tp.partition: starts.get(tp) for tp in tps},
            )
            if tps:
                self._claimed.set()

    async def _starts(
        self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """Where each partition resumes: this group's commit, else the Faust group's (a
        worker that read it through Faust before), else nowhere (the earliest record)."""
        starts = {}
        for tp in tps:
            if (offset := await consumer.committed(tp)) is not None:
                starts[tp] = offset
        missing = [tp for tp in tps if tp not in starts]
        if missing:
            starts.update(await faust_group_offsets(self.settings, missing))
        return starts

    async def ends(self) -> dict[TopicPartition, int]:
        """The end offsets of the claimed partitions; none while nothing is claimed or when
        the broker does not answer (the watchdog and the heartbeat look again later)."""
        tps = self.partitions()
        if not tps or self.consumer is None:
            return {}
        try:
            return await self.consumer.end_offsets(tps)  # type: ignore[no-any-return]
        except KafkaError as exc:
            log.warning("%s: end offsets unavailable (%s)", self.settings.topic_raw, exc)
            return {}

    async def read_to_end(self, read_to: Callable[[int], int]) -> list[int]:
        """The claimed partitions whose every record is processed (``read_to``: the offset
        after the newest one processed), for the surge heartbeat."""
        done = read_through(
            await self.ends(),
            lambda tp: read_to(tp.partition),
            lambda tp: self.committed.get(tp.partition, 0),
        )
        return [tp.partition for tp in done]


async def faust_group_offsets(
    settings: Settings, tps: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The offsets the Faust group (the app id) committed on ``tps``, asked without joining."""
    consumer = raw_consumer(settings, settings.app_id)
    await consumer.start()
    try:
        offsets = {tp: await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()
    return {tp: offset for tp, offset in offsets.items() if offset is not None}
