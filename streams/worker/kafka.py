"""Faust's Kafka driver as the worker needs it: subclasses and the app's configuration.

- ``SourcePartitionTable``: state written in batches or timers moves with its source partition
- ``IdempotentTransport``: an idempotent producer, prompt fetches, no record left undelivered,
  none of a past generation delivered, each acknowledged offset committed once
- ``watch_deliveries``: a record batch Kafka did not take ends the process before its commit
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread as AiokafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AiokafkaConsumer
from faust.transport.drivers.aiokafka import Producer as AiokafkaProducer
from faust.transport.drivers.aiokafka import Transport as AiokafkaTransport
from faust.types import EventT

from runtime.kafka_security import sasl_login
from runtime.settings import Settings
from runtime.watchdog import exit_undelivered
from streams.ingest.rekey import state_partition
from streams.records import Record
from streams.topology import changelog_topic, follow_up_group
from streams.worker.commits import ExactCommits
from streams.worker.generations import CurrentGenerationOnly
from streams.worker.undelivered import RefetchUndelivered


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
        return changelog_topic(self.changelog_prefix, self.name)


def topic_config(settings: Settings) -> dict[str, str]:
    """What `haochaping topics` gives the contract topics, for the topics Faust declares."""
    return {"min.insync.replicas": str(settings.topic_min_insync_replicas)}


def source_partition_table(
    app: faust.App, settings: Settings, name: str, partitions: int, changelog: Any = None
) -> SourcePartitionTable:
    table = SourcePartitionTable(
        app,
        changelog_prefix=settings.app_id,
        name=name,
        default=None,
        beacon=app.tables.beacon,
        partitions=partitions,
        key_type=str,
        changelog_topic=changelog,
        extra_topic_configs=topic_config(settings),
    )
    app.tables.add(table)
    return table


def windows_changelog(app: faust.App, settings: Settings) -> faust.TopicT:
    """satisfaction.windows, the changelog of the window table: the record written for
    durability is the very record the sink lands, so counting costs one send, not two."""
    return app.topic(
        settings.topic_windows,
        partitions=settings.topic_partitions,
        key_type=str,
        key_serializer="raw",
        value_serializer="json",
        compacting=True,
        deleting=False,
        internal=False,
        config=topic_config(settings),
        # no agent reads it (only table recovery does): without this, Faust's event-path
        # check logs "Stream has not started processing" at ERROR for each of its partitions
        # every few seconds
        acks=False,
    )


def worker_app_id(settings: Settings) -> str:
    """The Faust id, and so the consumer group, of a worker of the configured role."""
    if settings.worker_role == "follow-up":
        return follow_up_group(settings)
    return settings.app_id


def aiokafka_producer(app: faust.App) -> AIOKafkaProducer:
    """Faust's own aiokafka producer: what it flushes before committing offsets."""
    return app.producer._ensure_producer()  # type: ignore[attr-defined, no-any-return]


def committed_offsets(app: faust.App) -> Mapping[Any, int | None]:
    """The group's committed offsets as Faust keeps them (the next offset to read, by TP;
    a commit of 0 kept as None): Faust has no public reader for them."""
    return getattr(app.consumer, "_committed_offset", {})  # type: ignore[no-any-return]


def record_of(event: EventT) -> Record:
    msg = event.message
    return Record(msg.topic, msg.partition, msg.offset, msg.timestamp, msg.key, msg.value)


def faust_credentials(settings: Settings) -> faust.SASLCredentials | None:
    """The worker's Kafka login (aiokafka does SCRAM-SHA-256/512), or None: PLAINTEXT."""
    login = sasl_login(settings)
    if login is None:
        return None
    return faust.SASLCredentials(
        username=login.username, password=login.password, mechanism=login.mechanism
    )


# every replica acknowledges (-1: Kafka's "all", in the number aiokafka and Faust both take),
# and a batch retried after a broker failover is written once
IDEMPOTENT: Mapping[str, Any] = {"acks": -1, "enable_idempotence": True}


class IdempotentProducer(AiokafkaProducer):
    """Faust's aiokafka producer with idempotence on (Faust turns it on only inside its
    exactly-once transactions)."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), **IDEMPOTENT}


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


class PromptConsumer(ExactCommits, CurrentGenerationOnly, RefetchUndelivered, AiokafkaConsumer):
    """Faust's aiokafka consumer, with fetches the broker holds for at most
    ``FETCH_MAX_WAIT_MS``, records it took but did not deliver fetched again
    (streams/worker/undelivered.py), none of a past generation delivered or marked read
    (streams/worker/generations.py), and commits that count each offset once
    (streams/worker/commits.py)."""

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


def producer_options(settings: Settings) -> dict[str, Any]:
    """The worker's producer, in aiokafka's names (Faust's app takes them as ``producer_*``;
    IdempotentProducer adds idempotence): every replica acknowledges, a record batch fits in
    max.message.bytes (the unit the broker checks), a request in what the topics accept
    (haochaping topics sets max.message.bytes to it)."""
    return {
        **IDEMPOTENT,
        "linger_ms": 5,
        "max_batch_size": settings.topic_max_message_bytes // 2,
        "max_request_size": settings.topic_max_message_bytes,
    }


def _faust_app(settings: Settings) -> faust.App:
    producer = producer_options(settings)
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
        producer_acks=producer["acks"],
        producer_linger_ms=producer["linger_ms"],
        producer_max_batch_size=producer["max_batch_size"],
        producer_max_request_size=producer["max_request_size"],
        broker_commit_every=10_000,
        broker_commit_interval=1.0,
        # a worker killed without leaving its group holds its partitions until this expires
        broker_session_timeout=20.0,
        broker_heartbeat_interval=2.0,
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
