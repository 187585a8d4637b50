"""The Faust worker: one agent reads ``ratings.raw`` in batches and does ingest and counting.

Why one agent: every hop through a topic costs Faust's per-event floor again (FIELD-NOTES),
so validation, deduplication, scrubbing and window counting share one pass over the batch.
Decisions live in plain modules (ingest, dedupe, aggregate); this file only moves bytes
between Kafka and them.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from haochaping.settings import Settings
from schemas.codes import RejectReason
from schemas.evaluation import Evaluation
from schemas.rejection import RejectedMessage
from streams import metrics
from streams.aggregate import WindowAggregator
from streams.dedupe import Deduplicator, Verdict
from streams.ingest import Accepted, check
from streams.scrub import scrub_raw

log = logging.getLogger("haochaping.worker")

# A replay re-reads at most what was processed since the last offset commit (seconds of
# traffic); closed windows are kept this much longer so a replay never finds them gone.
REPLAY_MARGIN_S = 3600
DEMO_SECRET = "haochaping-demo-secret-not-for-production"


class SourcePartitionTable(faust.Table):  # type: ignore[misc]
    """A table whose keys start with ``"<partition>|"``: each key's changelog record goes to
    that partition, so state written in batches or timers still moves with its source
    partition on a rebalance (a plain table needs a current event for that)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # plain-text keys ("0|department|D1|1m|1764300000") instead of JSON strings: the
        # windows changelog is a contract topic that people read
        self.key_serializer = "raw"

    def partition_for_key(self, key: Any) -> int | None:
        return int(str(key).split("|", 1)[0])


def evaluator_secret(settings: Settings) -> bytes:
    if settings.evaluator_secret:
        return settings.evaluator_secret.encode()
    if settings.demo_mode:
        return DEMO_SECRET.encode()
    raise SystemExit(
        "HAOCHAPING_EVALUATOR_SECRET is not set: evaluator ids cannot be pseudonymized. "
        "Set it (any long random string, kept secret), or HAOCHAPING_DEMO_MODE=true for a demo."
    )


def create_app(settings: Settings) -> faust.App:
    secret = evaluator_secret(settings)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_servers],
        store="memory://",
        datadir=settings.worker_data_dir,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        web_enabled=False,
        producer_acks=-1,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
    )

    def bytes_topic(name: str) -> faust.TopicT:
        return app.topic(
            name,
            partitions=settings.topic_partitions,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    raw_topic = bytes_topic(settings.topic_raw)
    valid_topic = bytes_topic(settings.topic_valid)
    rejected_topic = bytes_topic(settings.topic_rejected)
    # satisfaction.windows is the changelog of the window table: the record Faust writes for
    # durability is the very record the sink lands, so counting costs one send, not two.
    windows_topic = app.topic(
        settings.topic_windows,
        partitions=settings.topic_partitions,
        key_type=str,
        key_serializer="raw",
        value_serializer="json",
        compacting=True,
        deleting=False,
        internal=False,
    )
    tables: dict[str, SourcePartitionTable] = {}
    for name, changelog in (("windows", windows_topic), ("dedupe", None)):
        table = SourcePartitionTable(
            app,
            name=name,
            default=None,
            beacon=app.tables.beacon,
            partitions=settings.topic_partitions,
            key_type=str,
            changelog_topic=changelog,
        )
        app.tables.add(table)
        tables[name] = table
    dedupe = Deduplicator(tables["dedupe"])
    aggregator = WindowAggregator(tables["windows"])
    watermarks: dict[int, float] = {}

    def reject(event: EventT, reason: RejectReason, message: str) -> None:
        msg = event.message
        rejection = RejectedMessage.from_raw(
            raw=msg.value or b"",
            reason=reason,
            message=message,
            source_topic=msg.topic,
            source_partition=msg.partition,
            source_offset=msg.offset,
            rejected_at=datetime.fromtimestamp(msg.timestamp, UTC),
            raw_scrubbed=scrub_raw(msg.value or b"", secret),
        )
        rejected_topic.send_soon(
            key=f"{msg.topic}/{msg.partition}/{msg.offset}".encode(),
            value=rejection.to_json_bytes(),
        )
        metrics.evaluations_rejected.labels(reason=reason.value).inc()

    def accept(event: EventT, evaluation: Evaluation) -> None:
        msg = event.message
        verdict, claim = dedupe.decide(
            partition=msg.partition,
            offset=msg.offset,
            timestamp=msg.timestamp,
            evaluation_id=evaluation.evaluation_id,
            transaction_id=evaluation.transaction_id,
            evaluation_round=evaluation.evaluation_round,
        )
        if verdict is Verdict.REPEAT:
            metrics.duplicates_dropped.inc()
            return
        if verdict is Verdict.DUPLICATE_TRANSACTION:
            assert claim is not None
            reject(
                event,
                RejectReason.DUPLICATE_TRANSACTION,
                f"transaction {evaluation.transaction_id} round {evaluation.evaluation_round} "
                f"was already evaluated by {claim.evaluation_id} (一次一评)",
            )
            return
        valid_topic.send_soon(
            key=evaluation.evaluation_id.encode(), value=evaluation.to_json_bytes()
        )
        metrics.evaluations_accepted.labels(channel=evaluation.channel).inc()
        if evaluation.late:
            metrics.evaluations_late.inc()
            return
        counted = aggregator.add(
            partition=msg.partition,
            offset=msg.offset,
            event_epoch=evaluation.evaluated_at.timestamp(),
            level=evaluation.level,
            service_code=evaluation.service_code,
            department_code=evaluation.department_code,
            channel=evaluation.channel,
            region_code=evaluation.region_code,
        )
        if not counted:
            metrics.replayed_skipped.inc()

    def process(events: list[EventT]) -> None:
        # No await in here: timers that expire state never see a half-applied batch.
        for event in events:
            msg = event.message
            if msg.timestamp > watermarks.get(msg.partition, 0.0):
                watermarks[msg.partition] = msg.timestamp
            outcome = check(
                msg.value or b"",
                now=datetime.fromtimestamp(msg.timestamp, UTC),
                secret=secret,
                clock_skew_s=settings.clock_skew_s,
                allowed_lateness_s=settings.allowed_lateness_s,
            )
            if isinstance(outcome, Accepted):
                accept(event, outcome.evaluation)
            else:
                reject(event, outcome.reason, outcome.message)
        aggregator.drain()

    @app.agent(raw_topic, concurrency=1)
    async def ingest(stream: faust.StreamT) -> None:
        batches = stream.take_events(  # type: ignore[attr-defined]
            settings.batch_size, within=settings.batch_within_s
        )
        async for events in batches:
            started = time.perf_counter()
            process(list(events))
            metrics.evaluations_in.inc(len(events))
            metrics.batch_size.observe(len(events))
            metrics.batch_seconds.observe(time.perf_counter() - started)

    @app.timer(interval=30.0)
    async def expire_state() -> None:
        windows_table, dedupe_table = tables["windows"], tables["dedupe"]
        for partition, watermark in list(watermarks.items()):
            for name in aggregator.closed_entries(
                partition, watermark - REPLAY_MARGIN_S, settings.allowed_lateness_s
            ):
                del windows_table[name]
            for name in dedupe.expired(partition, watermark, settings.dedupe_ttl_days * 86_400):
                del dedupe_table[name]
        metrics.window_entries.set(len(windows_table))

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        # Expiry must only delete state of partitions this worker still owns.
        for tp in revoked:
            if tp.topic == settings.topic_raw:
                watermarks.pop(tp.partition, None)

    return app
