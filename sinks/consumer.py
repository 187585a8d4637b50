"""The sink loop: result topics → ClickHouse, committing offsets only after the insert.

At-least-once on the Kafka side, idempotent on the ClickHouse side (every table dedupes on
its sorting key), so a batch landed twice after a crash leaves the same rows. While
ClickHouse is down the loop holds its batch and stops polling, which pauses consumption;
the broker keeps the rest.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata
from tenacity import Retrying, retry_if_exception, wait_exponential

from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from schemas.codes import RejectReason
from sinks import metrics
from sinks.clickhouse import ClickHouseWriter, describe, is_outage
from sinks.landings import REFUSED, Landing, by_topic

log = logging.getLogger("haochaping.sink")
Rows = list[tuple[Any, ...]]


def refused_row(topic: str, partition: int, offset: int, kind: str, reason: str) -> tuple[Any, ...]:
    # The raw bytes are not copied: a rejected-topic record holds the unscrubbed original.
    return (
        RejectReason.SINK_REFUSED.value,
        f"{kind} record could not be landed: {reason}"[:1000],
        "",
        topic,
        partition,
        offset,
        datetime.now(UTC),
    )


def commit_offsets(
    consumer: KafkaConsumer, offsets: dict[TopicPartition, int], consequence: str
) -> None:
    """Commit the next offsets to read. When the group has moved on (a rebalance), whoever
    owns the partitions now reads those records again: say what that means (``consequence``)
    in one warning."""
    try:
        consumer.commit(offsets={tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    except (CommitFailedError, KafkaError) as exc:
        log.warning("offset commit failed after a rebalance (%s); %s", exc, consequence)


def sleep_unless(should_stop: Callable[[], bool], seconds: float) -> None:
    """Sleep ``seconds``, but wake within 0.2 s of ``should_stop()`` turning true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not should_stop():
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def poll_until_stopped(
    poll_once: Callable[[], int],
    should_stop: Callable[[], bool],
    *,
    idle_exit_s: float | None = None,
    after_poll: Callable[[], None] = lambda: None,
) -> None:
    """The loop of a consumer process: ``poll_once`` (how many records it read), then
    ``after_poll``, until stopped or ``idle_exit_s`` without a record."""
    last_record = time.monotonic()
    while not should_stop():
        polled_at = time.monotonic()
        if poll_once():
            last_record = time.monotonic()
        elif time.monotonic() - polled_at < 0.05:
            # poll() returns at once while the consumer has no partitions (joining,
            # rebalancing): without a pause that loop would spin a core
            time.sleep(0.1)
        after_poll()
        if idle_exit_s is not None and time.monotonic() - last_record > idle_exit_s:
            break


class Stopping(Exception):
    """Asked to stop while ClickHouse was away: the held rows stay uncommitted in Kafka."""


class Sink:
    def __init__(
        self,
        settings: Settings,
        consumer: KafkaConsumer,
        writer: ClickHouseWriter,
        *,
        say: Callable[[str], None] = print,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self._should_stop = should_stop
        self._settings = settings
        self._consumer = consumer
        self._writer = writer
        self._say = say
        self._landings = by_topic(settings)
        # by table; refused records go to `rejected` in a batch of their own
        self._rows: dict[str, Rows] = defaultdict(list)
        self._offsets: dict[TopicPartition, int] = {}
        # when the last insert began: the next is due sink_batch_s after it, so a row read
        # while one lands waits sink_batch_s at most, not that plus the insert (issue 31)
        self._last_flush_at = time.monotonic()
        self.rows_landed = 0
        # read by the watchdog thread (runtime/poll_watchdog.py)
        self.last_batch_at = time.monotonic()
        self.clickhouse_down = False

    @property
    def outage(self) -> bool:
        return self.clickhouse_down

    @property
    def progress(self) -> int:
        return self.rows_landed

    @property
    def topics(self) -> list[str]:
        return list(self._landings)

    def poll_once(self) -> int:
        """Read what is there into the batch; returns how many records were read."""
        batches = self._consumer.poll(timeout_ms=200, max_records=self._settings.sink_batch_rows)
        count = 0
        for tp, records in batches.items():
            landing = self._landings[tp.topic]
            for record in records:
                count += 1
                self._offsets[tp] = record.offset + 1
                if record.value is None:
                    continue  # a tombstone of an expired window state: nothing to land
                try:
                    self._rows[landing.table].extend(landing.rows(record.value))
                except Exception as exc:
                    metrics.rows_refused.labels(table=landing.table).inc()
                    if landing.checked_by_worker:
                        # the worker rejects it with the real reason under the same key of
                        # `rejected` (topic, partition, offset); a second row would replace it
                        continue
                    self._rows["refused"].append(
                        refused_row(
                            tp.topic, tp.partition, record.offset, landing.kind, describe(exc)
                        )
                    )
        return count

    def due(self) -> bool:
        held = sum(len(rows) for rows in self._rows.values())
        if held >= self._settings.sink_batch_rows:
            return True
        return bool(self._offsets) and (
            time.monotonic() - self._last_flush_at >= self._settings.sink_batch_s
        )

    def flush(self) -> None:
        self._last_flush_at = time.monotonic()
        tables = {landing.table: landing for landing in self._landings.values()}
        # in LANDINGS' order, ratings first: the table analysts wait for
        for table in [*tables, "refused"]:
            if rows := self._rows.get(table):
                self._land(REFUSED if table == "refused" else tables[table], rows)
        if self._offsets:
            self._commit()
            self.last_batch_at = time.monotonic()
            metrics.last_batch.set_to_current_time()
        self._rows.clear()
        self._offsets.clear()

    def _land(self, landing: Landing, rows: Rows) -> None:
        started = time.perf_counter()
        try:
            self._insert_until_reachable(landing, rows)
        except Exception as exc:
            log.warning(
                "ClickHouse refused a batch for %s (%s); landing row by row",
                landing.table,
                describe(exc),
            )
            self._land_one_by_one(landing, rows)
        metrics.insert_seconds.labels(table=landing.table).observe(time.perf_counter() - started)
        metrics.rows_written.labels(table=landing.table).inc(len(rows))
        self.rows_landed += len(rows)

    def _insert_until_reachable(self, landing: Landing, rows: Rows) -> None:
        def before_sleep(state: Any) -> None:
            metrics.retries.inc()
            metrics.outage.set(1)
            self.clickhouse_down = True
            self._say(
                f"sink: ClickHouse at {self._writer.address} unreachable "
                f"({describe(state.outcome.exception())}); consumption paused, "
                f"{len(rows)} {landing.table} rows held, retry in "
                f"{state.next_action.sleep:.1f}s"
            )

        def give_up(_state: Any) -> bool:
            if self._should_stop():
                raise Stopping
            return False

        for attempt in Retrying(
            retry=retry_if_exception(is_outage),
            stop=give_up,
            sleep=lambda seconds: sleep_unless(self._should_stop, seconds),
            wait=wait_exponential(multiplier=0.5, min=0.5, max=10),
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                self._writer.insert(landing.table, landing.columns, rows)
        if self.clickhouse_down:
            self.clickhouse_down = False
            metrics.outage.set(0)
            self._say(f"sink: ClickHouse at {self._writer.address} is back; resuming")

    def _land_one_by_one(self, landing: Landing, rows: Rows) -> None:
        for row in rows:
            try:
                self._insert_until_reachable(landing, [row])
            except Exception as exc:
                metrics.rows_refused.labels(table=landing.table).inc()
                log.warning("ClickHouse refused a %s row: %s", landing.table, describe(exc))
                refused = refused_row("", 0, 0, landing.table, describe(exc))
                self._insert_until_reachable(REFUSED, [refused])

    def _commit(self) -> None:
        # the rows are in ClickHouse already; landing them again is harmless, the tables dedupe
        commit_offsets(self._consumer, self._offsets, "rows will be re-landed")

    def run(self, *, idle_exit_s: float | None = None) -> None:
        try:
            poll_until_stopped(
                self.poll_once,
                self._should_stop,
                idle_exit_s=idle_exit_s,
                after_poll=lambda: self.flush() if self.due() else None,
            )
            self.flush()
        except Stopping:
            self._say("sink: stopping during an outage; held rows stay in Kafka for next time")


class TopicsMissing(Exception):
    """The sink's topics do not exist yet (`haochaping topics` creates them)."""


def make_consumer(
    settings: Settings,
    topics: list[str],
    group: str | None = None,
    client_id: str = "haochaping-sink",
) -> KafkaConsumer:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        group_id=group or settings.sink_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.sink_batch_rows,
        # An outage holds the loop in retries without polling; stay in the group meanwhile.
        max_poll_interval_ms=15 * 60 * 1000,
        # a sink that died (or was restarted by its watchdog) holds its partitions until
        # this expires; kafka-python 3's default is 45 s
        session_timeout_ms=20_000,
        heartbeat_interval_ms=3_000,
        client_id=client_id,
        **kafka_security(settings),
    )
    # kafka-python 3.0.12: a member that joins before its topics' partitions are known gets
    # an empty assignment; the rejoin that follows the metadata update, if it outlasts one
    # poll(), is left unfinished: no partitions, heartbeats off, the broker drops the member,
    # and poll() returns nothing for ever. That was the sink hang of CI (reproduced here
    # under load, see docs/benchmarks.md). Knowing the partitions before subscribing makes
    # the first assignment the final one.
    missing = [topic for topic in topics if not consumer.partitions_for_topic(topic)]
    if missing:
        consumer.close()
        # a SASL user sees only the topics its ACLs let it describe: say which user looked
        who = (
            f", or let Kafka user {settings.kafka_sasl_username} read them (docs/security.md)"
            if settings.kafka_security_protocol.startswith("SASL_")
            else ""
        )
        raise TopicsMissing(
            f"topics missing: {', '.join(missing)} (run `haochaping topics`{who})"
        )
    consumer.subscribe(topics)
    return consumer
