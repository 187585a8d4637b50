"""The Faust worker: ingest and counting in one pass over ``ratings.raw``, surge detection on
the far smaller stream of merged minute counts.

Why one agent for ingest: every hop through a topic costs Faust's per-event floor again
(FIELD-NOTES), so validation, deduplication, scrubbing and window counting share one pass
over each batch. Decisions live in plain modules (ingest, dedupe, aggregate, minutes, spikes,
alerting); this file only moves bytes between Kafka and them.
"""

from __future__ import annotations

import heapq
import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from faust.types import EventT

from haochaping.settings import Settings
from schemas.cases import CaseEvent, parse_case_event
from schemas.codes import RejectReason
from schemas.evaluation import Evaluation
from schemas.rejection import RejectedMessage
from streams import metrics
from streams.aggregate import EXPLAINED_DIMENSIONS, BadReview, WindowAggregator
from streams.alerting import AlertLifecycle
from streams.cases import (
    Case,
    CasePolicy,
    apply_event,
    case_from_evaluation,
    case_from_event,
    next_warning_at,
    warnings_due,
)
from streams.deadlines import WorkingCalendar
from streams.dedupe import Deduplicator, Verdict
from streams.ingest import Accepted, check
from streams.minutes import MinuteMerger
from streams.outbox import ChangelogState, Outbox
from streams.scrub import scrub_raw
from streams.spikes import SpikeConfig, SpikeDetector
from streams.stall import StallDetector
from streams.webhook import AlertWebhook

log = logging.getLogger("haochaping.worker")

# A replay re-reads at most what was processed since the last offset commit (seconds of
# traffic); closed windows are kept this much longer so a replay never finds them gone.
REPLAY_MARGIN_S = 3600
DEMO_SECRET = "haochaping-demo-secret-not-for-production"
STALL_S = 60
STALLED = 75  # EX_TEMPFAIL: restart me
SURGE_DIMENSIONS = ("department", "service")


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


def aiokafka_producer(app: faust.App) -> AIOKafkaProducer:
    """Faust's own aiokafka producer: what it flushes before committing offsets."""
    return app.producer._ensure_producer()  # type: ignore[attr-defined, no-any-return]


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
        producer_linger_ms=5,
        producer_max_batch_size=1024 * 1024,
        producer_max_request_size=4 * 1024 * 1024,
        broker_commit_every=10_000,
        broker_commit_interval=1.0,
        # a worker killed without leaving its group holds its partitions until this expires
        broker_session_timeout=20.0,
        broker_heartbeat_interval=2.0,
    )

    def bytes_topic(
        name: str, partitions: int = settings.topic_partitions, internal: bool = False
    ) -> faust.TopicT:
        return app.topic(
            name,
            partitions=partitions,
            internal=internal,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    raw_topic = bytes_topic(settings.topic_raw)
    raw_topic_name = settings.topic_raw
    # satisfaction.windows is the changelog of the window table: the record written for
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
    # Merged minute counts are a few hundred records a second at most: one partition, so
    # one worker judges every key of a dimension together (false-alarm control across keys).
    minutes_topic = bytes_topic(f"{settings.app_id}-surge-minutes", partitions=1, internal=True)

    def table(name: str, partitions: int, changelog: faust.TopicT | None = None) -> Any:
        created = SourcePartitionTable(
            app,
            name=name,
            default=None,
            beacon=app.tables.beacon,
            partitions=partitions,
            key_type=str,
            changelog_topic=changelog,
        )
        app.tables.add(created)
        return created

    cases_topic = bytes_topic(settings.topic_cases)
    windows_table = table("windows", settings.topic_partitions, windows_topic)
    cases_table = table("cases", settings.topic_partitions)
    dedupe_table = table("dedupe", settings.topic_partitions)
    surge_table = table("surge", 1)

    outbox = Outbox()
    dedupe = Deduplicator(ChangelogState(dedupe_table, outbox))
    aggregator = WindowAggregator(ChangelogState(windows_table, outbox))
    surge_state = ChangelogState(surge_table, outbox)
    case_state = ChangelogState(cases_table, outbox)
    calendar = WorkingCalendar(
        extra_holidays=settings.case_extra_holiday_dates,
        extra_workdays=settings.case_extra_workday_dates,
    )
    case_policy = CasePolicy(
        callback_working_days=settings.case_callback_working_days,
        rectification_working_days=settings.case_rectification_working_days,
    )
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
        outbox.add(
            settings.topic_rejected,
            f"{msg.topic}/{msg.partition}/{msg.offset}".encode(),
            rejection.to_json_bytes(),
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
        outbox.add(
            settings.topic_valid, evaluation.evaluation_id.encode(), evaluation.to_json_bytes()
        )
        if evaluation.is_bad:
            open_case(evaluation)
        metrics.evaluations_accepted.labels(channel=evaluation.channel).inc()
        if evaluation.late:
            metrics.evaluations_late.inc()
            return
        bad_review = None
        if evaluation.level <= 2:
            bad_review = BadReview(
                evaluation.service_code,
                evaluation.channel,
                evaluation.hall_code,
                evaluation.window_code,
                tuple(evaluation.tags or ()),
                evaluation.comment,
            )
        counted = aggregator.add(
            partition=msg.partition,
            offset=msg.offset,
            event_epoch=evaluation.evaluated_at.timestamp(),
            level=evaluation.level,
            service_code=evaluation.service_code,
            department_code=evaluation.department_code,
            channel=evaluation.channel,
            region_code=evaluation.region_code,
            bad_review=bad_review,
        )
        if not counted:
            metrics.replayed_skipped.inc()

    def open_case(evaluation: Evaluation) -> None:
        # every bad review opens a follow-up case; its deadlines travel with the event
        case = case_from_evaluation(evaluation, calendar, case_policy)
        assert case is not None
        opened = CaseEvent(
            case_id=evaluation.evaluation_id,
            event="opened",
            at=evaluation.evaluated_at,
            department_code=evaluation.department_code,
            actor="haochaping",
            service_code=evaluation.service_code,
            level=evaluation.level,
            evaluated_at=evaluation.evaluated_at,
            callback_due_at=case.due["callback"],
            rectification_due_at=case.due["rectification"],
        )
        outbox.add(settings.topic_cases, evaluation.evaluation_id.encode(), opened.to_json_bytes())

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
        for entry in aggregator.drain().values():
            if entry["window"] == "1m" and entry["dimension"] in EXPLAINED_DIMENSIONS:
                outbox.add(minutes_topic.get_topic_name(), None, json.dumps(entry).encode(), 0)

    def record_lag(events: list[EventT]) -> None:
        last = {event.message.tp: event.message.offset for event in events}
        for tp, offset in last.items():
            highwater = app.consumer.highwater(tp)
            if highwater is not None:
                metrics.consumer_lag.labels(partition=str(tp.partition)).set(
                    max(0, highwater - offset - 1)
                )

    @app.agent(raw_topic, concurrency=1)
    async def ingest(stream: faust.StreamT) -> None:
        batches = stream.take_events(  # type: ignore[attr-defined]
            settings.batch_size, within=settings.batch_within_s
        )
        async for events in batches:
            started = time.perf_counter()
            process(list(events))
            await outbox.send(aiokafka_producer(app))
            progress["batches"] += 1
            progress["at"] = time.monotonic()
            metrics.evaluations_in.inc(len(events))
            metrics.batch_size.observe(len(events))
            metrics.batch_seconds.observe(time.perf_counter() - started)
            record_lag(events)

    spike_config = SpikeConfig(
        alpha=settings.spike_alpha,
        min_bad=settings.spike_min_bad,
        min_rate_ratio=settings.spike_min_rate_ratio,
    )
    surge: dict[str, Any] = {}
    webhook = (
        AlertWebhook(
            settings.webhook_url,
            settings.webhook_format,
            timeout_s=settings.webhook_timeout_s,
            queue_size=settings.webhook_queue,
            secret=settings.webhook_secret,
        )
        if settings.webhook_url
        else None
    )

    if webhook is not None:

        @app.task
        async def start_webhook() -> None:
            await webhook.start()

        @app.on_before_shutdown.connect  # type: ignore[arg-type]
        async def stop_webhook(sender: Any, **_: Any) -> None:
            await webhook.stop()

    def load_surge_state() -> None:
        # after recovery the table holds the last state written; absent on a fresh start
        judged = surge_state.get("0|judged") or {}
        merger = surge_state.get("0|merger")
        surge["merger"] = (
            MinuteMerger.from_state(merger) if merger else MinuteMerger(settings.spike_grace_s)
        )
        surge["detectors"] = {
            d: SpikeDetector.from_state(spike_config, judged["detectors"][d])
            if d in judged.get("detectors", {})
            else SpikeDetector(spike_config)
            for d in SURGE_DIMENSIONS
        }
        surge["lifecycles"] = {
            d: AlertLifecycle.from_state(
                d,
                judged["lifecycles"][d],
                update_every_s=settings.alert_update_every_s,
                quiet_windows_to_resolve=settings.alert_quiet_minutes,
            )
            if d in judged.get("lifecycles", {})
            else AlertLifecycle(
                d,
                update_every_s=settings.alert_update_every_s,
                quiet_windows_to_resolve=settings.alert_quiet_minutes,
            )
            for d in SURGE_DIMENSIONS
        }

    def judge(entries: list[dict[str, Any]]) -> None:
        merger: MinuteMerger = surge["merger"]
        for entry in entries:
            merger.add(entry)
        minutes = merger.complete()
        for minute in minutes:
            detector: SpikeDetector = surge["detectors"][minute.dimension]
            lifecycle: AlertLifecycle = surge["lifecycles"][minute.dimension]
            judgements = detector.judge_minute(minute.window_start, minute.counts)
            alert_events = []
            for key, judgement in sorted(judgements.items()):
                alert_events += lifecycle.step(
                    judgement, minute.explanations[key], at=judgement.window_end
                )
            alert_events += lifecycle.tick(minute.window_start)
            for alert in alert_events:
                outbox.add(settings.topic_alerts, alert.alert_id.encode(), alert.to_json_bytes())
                if webhook is not None:
                    webhook.offer(alert)  # never waits: a slow receiver cannot slow the stream
                metrics.alerts_raised.labels(dimension=alert.dimension, state=alert.state).inc()
            metrics.open_alerts.labels(dimension=minute.dimension).set(len(lifecycle.open_alerts))
        if minutes:
            # written before the merger: a crash between the two re-offers judged minutes,
            # which the lifecycle ignores, and never loses a minute
            surge_state["0|judged"] = {
                "detectors": {d: surge["detectors"][d].to_state() for d in SURGE_DIMENSIONS},
                "lifecycles": {d: surge["lifecycles"][d].to_state() for d in SURGE_DIMENSIONS},
            }
        surge_state["0|merger"] = merger.to_state()

    @app.agent(minutes_topic, concurrency=1)
    async def detect_surges(stream: faust.StreamT) -> None:
        batches = stream.take_events(1000, within=1.0)  # type: ignore[attr-defined]
        async for events in batches:
            if not surge:
                load_surge_state()
            judge([json.loads(event.message.value) for event in events])
            await outbox.send(aiokafka_producer(app))

    # The case clock of a partition is the newest event time seen on it: the platform's own
    # `opened` events follow the review stream, so under traffic it tracks real time, and a
    # replayed month of events is judged as that month was.
    case_clock: dict[int, datetime] = {}
    # per partition: when each case next needs a warning, and a heap of those times
    warning_index: dict[int, tuple[dict[str, datetime], list[tuple[datetime, str]]]] = {}

    def index_partition(partition: int) -> tuple[dict[str, datetime], list[tuple[datetime, str]]]:
        index = warning_index.get(partition)
        if index is None:
            index = warning_index[partition] = ({}, [])
            prefix = f"{partition}|"
            for name in case_state:
                state = case_state.get(name) if name.startswith(prefix) else None
                if state and "pending" not in state:
                    schedule(partition, Case.from_state(state))
        return index

    def schedule(partition: int, case: Case) -> None:
        when_by_case, heap = index_partition(partition)
        when = next_warning_at(case)
        if when is None:
            when_by_case.pop(case.case_id, None)
        elif when_by_case.get(case.case_id) != when:
            when_by_case[case.case_id] = when
            heapq.heappush(heap, (when, case.case_id))

    def save_case(partition: int, case: Case) -> None:
        case_state[f"{partition}|{case.case_id}"] = case.to_state()
        schedule(partition, case)

    def warn(partition: int) -> None:
        now = case_clock[partition]
        when_by_case, heap = index_partition(partition)
        while heap and heap[0][0] <= now:
            when, case_id = heapq.heappop(heap)
            if when_by_case.get(case_id) != when:
                continue  # superseded by a later schedule of the same case
            case = Case.from_state(case_state[f"{partition}|{case_id}"])
            for warning in warnings_due(case, now):
                outbox.add(
                    settings.topic_case_warnings,
                    warning.key.encode(),
                    warning.model_dump_json().encode(),
                )
                metrics.case_warnings.labels(deadline=warning.deadline, kind=warning.kind).inc()
            save_case(partition, case)

    def follow(event: EventT) -> None:
        msg = event.message
        parsed = parse_case_event(msg.value or b"")
        if isinstance(parsed, tuple):
            reject(event, parsed[0], parsed[1])
            return
        partition, name = msg.partition, f"{msg.partition}|{parsed.case_id}"
        state = case_state.get(name)
        if state is not None and "pending" not in state:
            case = Case.from_state(state)
            apply_event(case, parsed, case_policy)
            save_case(partition, case)
        elif parsed.event == "opened":
            case = case_from_event(parsed, calendar, case_policy)
            for waiting in (state or {}).get("pending", []):
                apply_event(case, CaseEvent.model_validate_json(json.dumps(waiting)), case_policy)
            save_case(partition, case)
        else:
            # a department's event before its case opened: kept until the case opens
            waiting = (state or {}).get("pending", [])
            record = parsed.model_dump(mode="json", exclude_none=True)
            if record not in waiting and len(waiting) < case_policy.max_pending_per_case:
                case_state[name] = {"pending": [*waiting, record]}
        # warnings after every event, not every batch: what is due depends only on the
        # order of events in the partition, never on how they were batched
        case_clock[partition] = max(case_clock.get(partition, parsed.at), parsed.at)
        warn(partition)

    @app.agent(cases_topic, concurrency=1)
    async def follow_cases(stream: faust.StreamT) -> None:
        batches = stream.take_events(1000, within=1.0)  # type: ignore[attr-defined]
        async for events in batches:
            for event in events:
                follow(event)
            await outbox.send(aiokafka_producer(app))

    @app.timer(interval=30.0)
    async def expire_state() -> None:
        for partition, watermark in list(watermarks.items()):
            for name in aggregator.closed_entries(
                partition, watermark - REPLAY_MARGIN_S, settings.allowed_lateness_s
            ):
                aggregator.forget(name)
            for name in dedupe.expired(partition, watermark, settings.dedupe_ttl_days * 86_400):
                dedupe.forget(name)
        await outbox.send(aiokafka_producer(app))
        metrics.window_entries.set(len(windows_table.data))

    progress = {"batches": 0, "at": time.monotonic()}
    stall = StallDetector(STALL_S)

    @app.timer(interval=10.0)
    async def watchdog() -> None:
        # A worker whose consumer silently stops fetching after a rebalance (faust-streaming
        # #629; seen here in 2 of ~20 test runs) would hold its partitions forever. When new
        # evaluations have waited STALL_S with no batch processed, exit with STALLED so the
        # supervisor (systemd, Kubernetes, the test harness) starts a fresh worker, which
        # resumes from the committed offsets: at-least-once, and every step is idempotent.
        assigned = [tp for tp in app.consumer.assignment() if tp.topic == raw_topic_name]
        if not assigned or getattr(app, "in_recovery", False) or app.rebalancing:
            stall.pause()
            return
        ends = await app.consumer.highwaters(*assigned)
        if stall.stalled(ends, last_batch_at=progress["at"], now=time.monotonic()):
            log.error(
                "worker stalled: new evaluations waited %ds with no batch processed; "
                "exiting (%d) to be restarted",
                STALL_S,
                STALLED,
            )
            print(
                f"worker: stalled for {STALL_S}s with evaluations waiting; exiting "
                f"({STALLED}) to be restarted",
                file=sys.stderr,
                flush=True,
            )
            os._exit(STALLED)

    @app.timer(interval=10.0)
    async def report_progress() -> None:
        # one info line every 10 s: what this worker owns and whether it moves, so a worker
        # that stops fetching (faust-streaming #629, seen here once) shows in its log
        consumer = app.consumer
        raw = sorted(tp.partition for tp in consumer.assignment() if tp.topic == raw_topic_name)
        paused = sorted(
            tp.partition
            for tp in getattr(consumer, "_paused_partitions", ())
            if tp.topic == raw_topic_name
        )
        log.info(
            "progress: %d batches, last %.0fs ago; %s partitions %s (paused %s); flow %s",
            progress["batches"],
            time.monotonic() - progress["at"],
            raw_topic_name,
            raw,
            paused,
            "active" if getattr(consumer, "flow_active", True) else "suspended",
        )

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        # Expiry must only delete state of partitions this worker still owns; surge state is
        # reloaded from the table by whoever owns its partition next.
        for tp in revoked:
            if tp.topic == settings.topic_raw:
                watermarks.pop(tp.partition, None)
            if tp.topic == minutes_topic.get_topic_name():
                surge.clear()
            if tp.topic == settings.topic_cases:
                warning_index.pop(tp.partition, None)
                case_clock.pop(tp.partition, None)

    return app
