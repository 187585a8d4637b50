"""The Faust worker, as wiring only: the app, its topics and tables, and agents that move
batches into the three steps and send what they produced.

- ``ratings.raw`` → :class:`streams.ingest.step.IngestStep` (check, dedupe, count, emit)
- surge minutes → :class:`streams.surges.step.SurgeStep` (judge, alert)
- ``cases.events`` → :class:`streams.cases.step.CaseStep` (follow up, warn)
- screening facts → :class:`streams.screening.step.ScreenStep` (flag fakes and malice)

Decisions live in the steps and the plain modules they use; nothing here decides anything.
State the steps keep goes through :class:`streams.outbox.ChangelogState`, so every change is
a changelog record sent with the batch, before its offsets are committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread as AiokafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AiokafkaConsumer
from faust.transport.drivers.aiokafka import Producer as AiokafkaProducer
from faust.transport.drivers.aiokafka import Transport as AiokafkaTransport
from faust.types import EventT

from runtime.collector import tune_collector
from runtime.kafka_security import kafka_security, sasl_login
from runtime.settings import Settings
from runtime.watchdog import StallDetector, exit_stalled, exit_undelivered
from streams import metrics
from streams.ingest.rekey import state_partition
from streams.ingest.step import HEARTBEAT_EVERY_S
from streams.outbox import ChangelogState, Outbox
from streams.pipeline import (
    State,
    StepStates,
    build_steps,
    follow_up_group,
    follow_up_inputs,
    rekeyed_topic,
    screen_facts_topic,
    surge_minutes_topic,
)
from streams.records import Record
from streams.screening.comments import load_segmenter
from streams.screening.facts import unbundle_facts
from streams.surges.minutes import Heartbeats, unbundle
from streams.worker.diagnosis import stall_evidence

log = logging.getLogger("haochaping.worker")

DEMO_SECRET = "haochaping-demo-secret-not-for-production"
MIN_SECRET_BYTES = 32  # 256 bits: as strong as the HMAC-SHA256 it keys
# table recovery replays changelogs; even a city's month of state recovers well within this
REBALANCE_BOUND_S = 300


class SourcePartitionTable(faust.Table):  # type: ignore[misc]
    """A table whose keys start with ``"<partition>|"``: each key's changelog record goes to
    that partition, so state written in batches or timers still moves with its source
    partition on a rebalance (a plain table needs a current event for that)."""

    def __init__(self, *args: Any, changelog_prefix: str, **kwargs: Any) -> None:
        self.changelog_prefix = changelog_prefix
        super().__init__(*args, **kwargs)
        # plain-text keys ("0|department|D1|1m|1764300000") instead of JSON strings: the
        # windows changelog is a contract topic that people read
        self.key_serializer = "raw"

    def partition_for_key(self, key: Any) -> int | None:
        return state_partition(int(str(key).split("|", 1)[0]))

    def _changelog_topic_name(self) -> str:
        # named by the pipeline's app id, not the process's: the same state whichever role's
        # process keeps it (a follow-up worker's Faust id has a suffix of its own)
        return f"{self.changelog_prefix}-{self.name}-changelog"


def worker_app_id(settings: Settings) -> str:
    """The Faust id, and so the consumer group, of a worker of the configured role."""
    if settings.worker_role == "follow-up":
        return follow_up_group(settings)
    return settings.app_id


def aiokafka_producer(app: faust.App) -> AIOKafkaProducer:
    """Faust's own aiokafka producer: what it flushes before committing offsets."""
    return app.producer._ensure_producer()  # type: ignore[attr-defined, no-any-return]


def secret_problem(secret: bytes) -> str | None:
    """Why ``secret`` cannot key evaluator pseudonyms in production, or None if it can.

    The pseudonym is an HMAC of the evaluator id, and ids come from small, guessable spaces
    (phone numbers, ID card numbers): whoever knows the key can hash every candidate and
    re-identify evaluators. So the key must be random and long, and never the public demo key.
    """
    if not secret:
        return "is not set: evaluator ids cannot be pseudonymized"
    if secret == DEMO_SECRET.encode():
        return "is the built-in demo key, which is public"
    if len(secret) < MIN_SECRET_BYTES:
        return f"is {len(secret)} bytes, shorter than the {MIN_SECRET_BYTES} it needs"
    return None


def evaluator_secret(settings: Settings) -> bytes:
    """The key of evaluator pseudonyms; raises SystemExit (one line) when it is unfit for
    production, unless demo mode is on, where an empty key falls back to the demo key."""
    secret = settings.evaluator_secret.get_secret_value().encode()
    if settings.demo_mode:
        return secret or DEMO_SECRET.encode()
    problem = secret_problem(secret)
    if problem is None:
        return secret
    raise SystemExit(
        f"HAOCHAPING_EVALUATOR_SECRET {problem}. Set it to a random key of "
        f"{MIN_SECRET_BYTES}+ bytes (`openssl rand -hex 32`; `make up` writes one to "
        ".deploy/secrets.env), or HAOCHAPING_DEMO_MODE=true for a demo."
    )


def record_of(event: EventT) -> Record:
    msg = event.message
    return Record(msg.topic, msg.partition, msg.offset, msg.timestamp, msg.key, msg.value)


@dataclass
class Progress:
    """What the watchdog and the progress line read: batches of ratings.raw processed."""

    batches: int = 0
    at: float = field(default_factory=time.monotonic)
    started: float = field(default_factory=time.monotonic)
    evaluations: int = 0
    reported: int = 0  # evaluations at the last progress line

    def batch_done(self, size: int) -> None:
        self.batches += 1
        self.evaluations += size
        self.at = time.monotonic()
        metrics.last_batch.set_to_current_time()


def faust_credentials(settings: Settings) -> faust.SASLCredentials | None:
    """The worker's Kafka login (aiokafka does SCRAM-SHA-256/512), or None: PLAINTEXT."""
    login = sasl_login(settings)
    if login is None:
        return None
    return faust.SASLCredentials(
        username=login.username, password=login.password, mechanism=login.mechanism
    )


class IdempotentProducer(AiokafkaProducer):
    """Faust's aiokafka producer with idempotence on (Faust turns it on only inside its
    exactly-once transactions): a batch retried after a broker failover is written once."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


# How long the broker may hold a fetch for data to arrive. Faust hard-codes 1,500 ms: with live
# traffic the ingest worker's batches then came up to 1.5 s late (event → ratings.valid p50
# 1.2 s at 2,000/s for the worker reading ratings.raw alone, against 0.23 s with this;
# docs/benchmarks.md, issue 14, third pass). A fetch with data waiting returns at once anyway.
FETCH_MAX_WAIT_MS = 100


class PromptConsumerThread(AiokafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        if not hasattr(consumer, "_fetch_max_wait_ms"):  # read by start(); an upgrade may rename it
            raise RuntimeError("aiokafka's consumer has no _fetch_max_wait_ms to set")
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class PromptConsumer(AiokafkaConsumer):
    """Faust's aiokafka consumer, with fetches the broker holds for at most
    ``FETCH_MAX_WAIT_MS``."""

    def _new_consumer_thread(self) -> PromptConsumerThread:
        return PromptConsumerThread(self, loop=self.loop, beacon=self.beacon)


class IdempotentTransport(AiokafkaTransport):
    Producer = IdempotentProducer
    Consumer = PromptConsumer


def faust_app(settings: Settings) -> faust.App:
    app = _faust_app(settings)
    # every producer of the worker comes from its consumer transport (faust.App._new_producer)
    app.transport = IdempotentTransport(app.conf.broker_consumer, app)
    return app


def _faust_app(settings: Settings) -> faust.App:
    return faust.App(
        worker_app_id(settings),
        broker=[f"kafka://{server}" for server in settings.kafka_servers],
        broker_credentials=faust_credentials(settings),
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
        # a record batch must fit in max.message.bytes too (it is the unit the broker checks)
        producer_max_batch_size=settings.topic_max_message_bytes // 2,
        # what the topics accept (haochaping topics sets max.message.bytes to it)
        producer_max_request_size=settings.topic_max_message_bytes,
        broker_commit_every=10_000,
        broker_commit_interval=1.0,
        # a worker killed without leaving its group holds its partitions until this expires
        broker_session_timeout=20.0,
        broker_heartbeat_interval=2.0,
    )


class Worker:
    """The Faust app and the three steps it drives; ``create_app`` builds one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs_ingest = settings.worker_role in ("all", "ingest")
        self.runs_follow_up = settings.worker_role in ("all", "follow-up")
        self.secret = evaluator_secret(settings)
        self.app = faust_app(settings)
        self.outbox = Outbox()
        # agents and timers hand over in turn, so that records reach Kafka in the order the
        # steps added them (a heartbeat after the partials it vouches for)
        self._handing_over = asyncio.Lock()
        self.progress = Progress()
        # the follow-up half's last batch per input topic (monotonic)
        self.batch_at: dict[str, float] = {}
        if not self.runs_ingest:
            for topic in follow_up_inputs(settings):  # "no batch yet" counts from the start
                metrics.follow_up_last_batch.labels(topic=topic).set_to_current_time()
        self._declare_topics()
        self._declare_tables()
        self._build_steps()

    def _bytes_topic(self, name: str, partitions: int | None = None) -> faust.TopicT:
        return self.app.topic(
            name,
            partitions=partitions or self.settings.topic_partitions,
            internal=partitions is not None,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            config=self._topic_config,
        )

    @property
    def _topic_config(self) -> dict[str, str]:
        # what `haochaping topics` gives the contract topics, for the topics Faust declares
        return {"min.insync.replicas": str(self.settings.topic_min_insync_replicas)}

    def _declare_topics(self) -> None:
        settings = self.settings
        # ratings.raw and the mis-keyed evaluations sent home (streams/ingest/rekey.py), read
        # partition for partition (Faust assigns co-partitioned topics of one agent together);
        # both are created by `haochaping topics`
        self.ingest_input = self.app.topic(
            settings.topic_raw,
            rekeyed_topic(settings),
            partitions=settings.topic_partitions,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.cases_topic = self._bytes_topic(settings.topic_cases)
        # Merged minute counts are a few hundred records a second at most: one partition,
        # so one worker judges every key of a dimension together.
        self.minutes_topic = self._bytes_topic(surge_minutes_topic(settings), 1)
        # Screening facts: one partition too, so one screener sees every evaluator, device
        # and network, whatever ratings.raw partition their evaluations came in on.
        self.facts_topic = self._bytes_topic(screen_facts_topic(settings), 1)
        # satisfaction.windows is the changelog of the window table: the record written for
        # durability is the very record the sink lands, so counting costs one send, not two.
        self.windows_topic = self.app.topic(
            settings.topic_windows,
            partitions=settings.topic_partitions,
            key_type=str,
            key_serializer="raw",
            value_serializer="json",
            compacting=True,
            deleting=False,
            internal=False,
            config=self._topic_config,
            # no agent reads it (only table recovery does): without this, Faust's
            # event-path check logs "Stream has not started processing" at ERROR for each
            # of its partitions every few seconds
            acks=False,
        )

    def _table(self, name: str, partitions: int, changelog: Any = None) -> ChangelogState:
        table = SourcePartitionTable(
            self.app,
            changelog_prefix=self.settings.app_id,
            name=name,
            default=None,
            beacon=self.app.tables.beacon,
            partitions=partitions,
            key_type=str,
            changelog_topic=changelog,
            extra_topic_configs=self._topic_config,
        )
        self.app.tables.add(table)
        return ChangelogState(table, self.outbox)

    def _declare_tables(self) -> None:
        # a role's process keeps only its own steps' state; the other steps never run there
        partitions = self.settings.topic_partitions
        self.window_state: State = {}
        self.dedupe_state: State = {}
        self.case_state: State = {}
        self.surge_state: State = {}
        if self.runs_ingest:
            self.window_state = self._table("windows", partitions, self.windows_topic)
            self.dedupe_state = self._table("dedupe", partitions)
        if self.runs_follow_up:
            self.case_state = self._table("cases", partitions)
            self.surge_state = self._table("surge", 1)

    def _build_steps(self) -> None:
        s = self.settings
        steps = build_steps(
            s,
            secret=self.secret,
            outbox=self.outbox,
            states=StepStates(
                self.window_state, self.dedupe_state, self.case_state, self.surge_state
            ),
        )
        self.ingest, self.surges, self.cases = steps.ingest, steps.surges, steps.cases
        self.screening = steps.screening

    async def send(self) -> None:
        """Hand over what the steps produced and wait until Kafka has acknowledged it."""
        await asyncio.gather(*await self.hand_over())

    async def hand_over(self) -> list[asyncio.Future[Any]]:
        """What the steps produced, handed to aiokafka; their deliveries, watched."""
        async with self._handing_over:
            deliveries = await self.outbox.hand_over(aiokafka_producer(self.app))
        watch_deliveries(deliveries)
        return deliveries

    def raw_partitions(self) -> list[Any]:
        return [tp for tp in self.app.consumer.assignment() if tp.topic == self.settings.topic_raw]

    def watched_partitions(self) -> list[Any]:
        """The input the watchdog watches: ratings.raw, or a follow-up worker's three topics."""
        if self.runs_ingest:
            return self.raw_partitions()
        topics = set(follow_up_inputs(self.settings))
        return [tp for tp in self.app.consumer.assignment() if tp.topic in topics]

    def followed_up(self, topic: str, records: int) -> None:
        # a follow-up worker's progress is its own batches, per topic (one agent can hang
        # while the others move); with ingest in the process, ratings.raw's batches are what
        # the watchdog and the progress line follow
        if not self.runs_ingest:
            self.progress.evaluations += records
            self.progress.batches += 1
            self.batch_at[topic] = self.progress.at = time.monotonic()
            metrics.follow_up_last_batch.labels(topic=topic).set_to_current_time()

    def last_batch_at(self, topic: str) -> float:
        """When the agent reading ``topic`` last processed a batch (monotonic)."""
        if self.runs_ingest:
            return self.progress.at
        return self.batch_at.get(topic, self.progress.started)

    def forget_revoked(self, revoked: set[Any]) -> None:
        # Expiry must only delete state of partitions this worker still owns; surge state is
        # reloaded from the table by whoever owns its partition next.
        for tp in revoked:
            if tp.topic in self.ingest_input.topics:
                self.ingest.forget_partition(tp.partition)
            if tp.topic == self.minutes_topic.get_topic_name():
                self.surges.forget()
            if tp.topic == self.settings.topic_cases:
                self.cases.forget_partition(tp.partition)
            if tp.topic == self.facts_topic.get_topic_name():
                self.screening.forget()


def create_app(settings: Settings) -> faust.App:
    worker = Worker(settings)
    load_segmenter()
    tune_collector()
    app = worker.app
    _agents(worker)
    _timers(worker)
    _heartbeat(worker)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        worker.forget_revoked(revoked)

    return app


def _agents(worker: Worker) -> None:
    if worker.runs_ingest:
        _ingest_agent(worker)
    if worker.runs_follow_up:
        _follow_up_agents(worker)


def _ingest_agent(worker: Worker) -> None:
    app, settings = worker.app, worker.settings

    @app.agent(worker.ingest_input, concurrency=1)
    async def ingest(stream: faust.StreamT) -> None:
        batches = stream.take_events(  # type: ignore[attr-defined]
            settings.batch_size, within=settings.batch_within_s
        )
        # the previous batch's deliveries: awaited only after this batch is processed, so
        # processing overlaps the round trip to Kafka instead of waiting for it (issue 14)
        in_flight: asyncio.Future[Any] | None = None
        async for events in batches:
            started = time.perf_counter()
            committed = getattr(app.consumer, "_committed_offset", {})
            for tp in {event.message.tp for event in events}:
                if committed.get(tp) is not None:
                    source = worker.ingest.source_of(tp.topic, tp.partition)
                    worker.ingest.resumes_at(source, committed[tp])
            worker.ingest.process([record_of(event) for event in events])
            # This batch's events are acknowledged to Faust when the loop comes back, before
            # their outputs are delivered; Faust flushes the producer before every commit, and
            # a delivery that fails ends the process before that commit (watch_deliveries).
            deliveries = await worker.hand_over()
            if in_flight is not None:
                await in_flight
            in_flight = asyncio.gather(*deliveries)
            in_flight.add_done_callback(_batch_done(worker, len(events), started))


def _follow_up_agents(worker: Worker) -> None:
    app = worker.app
    # as long as ingest waits to fill a batch: what the follow-up half does last in a burst
    # (the screening of its last evaluations) waits no longer than that
    within = worker.settings.batch_within_s

    @app.agent(worker.minutes_topic, concurrency=1)
    async def detect_surges(stream: faust.StreamT) -> None:
        batches = stream.take_events(1000, within=within)  # type: ignore[attr-defined]
        async for events in batches:
            # the partials' record timestamps (when ingest wrote them) tell idle partitions
            arrived = max((event.message.timestamp for event in events), default=None)
            partials, heartbeats = _json_values(events)
            worker.surges.process(partials, at=arrived, heartbeats=heartbeats)
            await worker.send()
            worker.followed_up(worker.minutes_topic.get_topic_name(), len(events))

    @app.agent(worker.facts_topic, concurrency=1)
    async def screen(stream: faust.StreamT) -> None:
        batches = stream.take_events(2000, within=within)  # type: ignore[attr-defined]
        async for events in batches:
            if not worker.screening.rebuilt:
                await rebuild_screening(worker, min(event.message.offset for event in events))
            worker.screening.process(unbundle_facts(event.message.value for event in events))
            await worker.send()
            worker.followed_up(worker.facts_topic.get_topic_name(), len(events))

    @app.agent(worker.cases_topic, concurrency=1)
    async def follow_cases(stream: faust.StreamT) -> None:
        batches = stream.take_events(1000, within=within)  # type: ignore[attr-defined]
        async for events in batches:
            worker.cases.process([record_of(event) for event in events])
            await worker.send()
            worker.followed_up(worker.settings.topic_cases, len(events))


async def rebuild_screening(worker: Worker, until: int) -> None:
    """Rebuild the screening state from the facts before offset ``until`` (the committed
    one) that were written within the step's rebuild span (streams/screening/step.py)."""
    settings, step = worker.settings, worker.screening
    tp = TopicPartition(worker.facts_topic.get_topic_name(), 0)
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


def watch_deliveries(deliveries: list[asyncio.Future[Any]]) -> None:
    """End the process if one of these record batches is not delivered.

    Faust commits offsets after ``producer.flush()``, which waits for every record batch but
    returns whether or not it was delivered. These callbacks are registered before any flush
    can wait for the batches, and asyncio runs a future's callbacks in the order they were
    added, so a failed delivery exits here before that flush returns and before its commit:
    the next process reads the batch again (at-least-once; every step is idempotent)."""
    for delivery in deliveries:
        delivery.add_done_callback(_exit_if_failed)


def _exit_if_failed(delivery: asyncio.Future[Any]) -> None:
    if delivery.cancelled():
        exit_undelivered("worker", asyncio.CancelledError())
    elif (error := delivery.exception()) is not None:
        exit_undelivered("worker", error)


def _batch_done(worker: Worker, size: int, started: float) -> Any:
    # metrics count a batch once Kafka has acknowledged its output
    def done(delivered: asyncio.Future[Any]) -> None:
        if delivered.cancelled() or delivered.exception() is not None:
            return
        worker.progress.batch_done(size)
        metrics.evaluations_in.inc(size)
        metrics.batch_size.observe(size)
        metrics.batch_seconds.observe(time.perf_counter() - started)

    return done


def _json_values(events: list[EventT]) -> tuple[list[dict[str, Any]], Heartbeats]:
    # a record carries a batch's partials (streams.surges.minutes.bundle_partials) or a heartbeat
    return unbundle(json.loads(event.message.value) for event in events if event.message.value)


def _heartbeat(worker: Worker) -> None:
    """Clocks that follow event time go on when traffic stops (issue 26): the ingest half says
    which ratings.raw partitions it has read to the end (the surge clock,
    streams/surges/minutes.py), and the follow-up half moves the case clock of cases.events
    partitions read to the end."""
    app, settings = worker.app, worker.settings

    if worker.runs_ingest:
        ingest = worker.ingest

        def source(tp: Any) -> int:
            return ingest.source_of(tp.topic, tp.partition)

        @app.timer(interval=HEARTBEAT_EVERY_S)
        async def surge_heartbeat() -> None:
            # one look at the ends of both ingest topics
            read = await _read_to_end(worker, worker.ingest_input.topics, ingest.read_to, source)
            if read is not None and ingest.heartbeat(read[1], read[0]):
                await worker.send()

    if worker.runs_follow_up:

        @app.timer(interval=HEARTBEAT_EVERY_S)
        async def case_clock() -> None:
            read = await _read_to_end(
                worker, (settings.topic_cases,), worker.cases.read_to, lambda tp: tp.partition
            )
            if read is not None:
                worker.cases.advance(read[1], read[0])
                await worker.send()


async def _read_to_end(
    worker: Worker,
    topics: Collection[str],
    read_to: Callable[[int], int],
    source: Callable[[Any], int],
) -> tuple[float, list[int]] | None:
    """The wall clock of a look at the ends of this worker's partitions of ``topics``, taken
    before it, and the sources (``source`` of a topic partition, as ``read_to`` takes them)
    whose every record then is processed; None when there is nothing to look at (no
    partition, a rebalance, the broker not answering)."""
    app = worker.app
    if getattr(app, "in_recovery", False) or app.rebalancing:
        return None
    assigned = [tp for tp in app.consumer.assignment() if tp.topic in topics]
    if not assigned:
        return None
    wall = time.time()
    try:
        ends = await app.consumer.highwaters(*assigned)
    except Exception as exc:  # the next look tries again; a timer that raises ends the worker
        log.warning("%s: end offsets unavailable (%s)", ", ".join(topics), exc)
        return None
    # a partition this process has read nothing of is read to its end if the group's
    # committed offset is (it started since, and nothing came)
    committed = getattr(app.consumer, "_committed_offset", {})
    return wall, [
        source(tp)
        for tp, end in ends.items()
        if max(read_to(source(tp)), committed.get(tp) or 0) >= end
    ]


def _timers(worker: Worker) -> None:
    app = worker.app
    # one per input topic: a follow-up worker's three agents can each hang on their own
    stalls: dict[str, StallDetector] = {}
    # how long a rebalance or table recovery has lasted
    rebalance = StallDetector(worker.settings.worker_stall_s, pause_bound_s=REBALANCE_BOUND_S)

    def stall_of(topic: str) -> StallDetector:
        if topic not in stalls:
            stalls[topic] = StallDetector(
                worker.settings.worker_stall_s, pause_bound_s=REBALANCE_BOUND_S
            )
        return stalls[topic]

    @app.timer(interval=30.0)
    async def expire_state() -> None:
        try:
            if worker.runs_ingest:
                worker.ingest.expire()
            if worker.runs_follow_up:
                worker.screening.expire()
        except Exception:  # a timer that raises stops the worker; expiry can wait a round
            log.exception("expiring state failed; trying again in 30 s")
        await worker.send()

    @app.timer(interval=5.0)
    async def release_held() -> None:
        # records held back ahead of a gap (IngestStep.process) must not wait for ever
        if worker.runs_ingest and worker.ingest.held and worker.ingest.release_overdue().accepted:
            await worker.send()

    @app.timer(interval=10.0)
    async def watchdog() -> None:
        # A worker whose consumer silently stops fetching after a rebalance would hold its
        # partitions forever. When new evaluations have waited worker_stall_s with no batch
        # processed, exit with STALLED (75) so the supervisor starts a fresh worker, which resumes
        # from the committed offsets: at-least-once, and every step is idempotent.
        assigned = worker.watched_partitions()
        if getattr(app, "in_recovery", False) or app.rebalancing:
            # known Faust and aiokafka hangs happen here, so a pause has a bound too
            now = time.monotonic()
            for stall in stalls.values():
                stall.pause(now)
            if rebalance.pause(now):
                log.error("stall evidence:\n%s", stall_evidence(app))
                exit_stalled("worker", REBALANCE_BOUND_S)
            return
        rebalance.resume()
        if not assigned:
            for stall in stalls.values():
                stall.pause()
            return
        ends = await app.consumer.highwaters(*assigned)
        # A backlog there at start counts as waiting input too (seen: a fresh worker that
        # never fetched the evaluations sent before its first look). Faust keeps the
        # committed offsets as Kafka does: the next offset to read.
        committed = getattr(app.consumer, "_committed_offset", {})
        positions = {tp: committed.get(tp) or 0 for tp in ends}
        for tp, end in ends.items():
            lag = max(0, end - positions[tp])
            if tp.topic == worker.settings.topic_raw:
                metrics.consumer_lag.labels(partition=str(tp.partition)).set(lag)
            else:
                metrics.follow_up_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)
        now = time.monotonic()
        for topic in {tp.topic for tp in ends}:
            mine = {tp: end for tp, end in ends.items() if tp.topic == topic}
            if stall_of(topic).stalled(mine, worker.last_batch_at(topic), now, positions=positions):
                log.error("stall evidence (%s):\n%s", topic, stall_evidence(app))
                exit_stalled("worker", worker.settings.worker_stall_s)

    @app.timer(interval=10.0)
    async def report_progress() -> None:
        # one info line every 10 s: what this worker owns and whether it moves
        consumer = app.consumer
        watched = worker.watched_partitions()
        paused = set(getattr(consumer, "_paused_partitions", ())) & set(watched)
        log.info(
            "progress: %d batches, last %.0fs ago; partitions %s (paused %s); flow %s",
            worker.progress.batches,
            time.monotonic() - worker.progress.at,
            sorted(f"{tp.topic}:{tp.partition}" for tp in watched),
            sorted(f"{tp.topic}:{tp.partition}" for tp in paused),
            "active" if getattr(consumer, "flow_active", True) else "suspended",
        )

    @app.timer(interval=60.0)
    async def say_progress() -> None:
        # at the default level too: one line a minute says the worker is alive and moving
        done = worker.progress.evaluations
        # a follow-up worker counts the records it read (bundles of partials and facts, cases)
        unit = "evaluations" if worker.runs_ingest else "records"
        print(
            f"worker ({worker.settings.worker_role}): {done - worker.progress.reported} {unit} "
            "in the last minute, "
            f"{done} since start; last batch {time.monotonic() - worker.progress.at:.0f}s ago",
            flush=True,
        )
        worker.progress.reported = done
