"""Creating the contract topics with kafka-python's admin client."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient

from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from sinks.landings import LANDINGS
from streams.topology import changelog_topic, changelogged_tables, routes


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str]


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """ratings.raw, every topic that lands in ClickHouse (sinks/landings.py), the worker's
    screening facts, surge minutes and rekeyed evaluations, and its tables' changelogs: a
    topic Faust creates itself as it starts can miss its consumer's first metadata ("Ignoring
    missing topic"), and its agent then reads nothing until the next metadata refresh,
    minutes later (seen in tests/integration/test_screening); and with the worker as two
    processes the ingest half writes the first two before the follow-up half, which reads
    them, may have created them."""
    size = {
        "max.message.bytes": str(settings.topic_max_message_bytes),
        # with acks=all, a write is answered once this many replicas have it
        "min.insync.replicas": str(settings.topic_min_insync_replicas),
    }
    retention = {"retention.ms": str(settings.topic_retention_hours * 3600 * 1000), **size}
    compacted = {"cleanup.policy": "compact", **size}
    p = settings.topic_partitions
    specs = [
        TopicSpec(settings.topic_raw, p, retention),
        *(
            TopicSpec(landing.topic(settings), p, compacted if landing.compacted else retention)
            for landing in LANDINGS
        ),
    ]
    # and what the worker's agents read that is not a contract topic (streams/topology.py)
    named = {spec.name for spec in specs}
    specs += [
        TopicSpec(route.topic, route.partitions, retention)
        for route in routes(settings)
        if route.topic not in named
    ]
    # and its tables' changelogs, compacted as Faust makes them (streams/topology.py)
    specs += [
        TopicSpec(changelog_topic(settings.app_id, table), partitions, compacted)
        for table, partitions in changelogged_tables(settings).items()
    ]
    return specs


def admin_client(settings: Settings, client_id: str = "haochaping-admin") -> KafkaAdminClient:
    """An admin client logged in as ``settings`` say (SASL when configured), that gives up
    on an unreachable broker in seconds rather than retrying for minutes."""
    return KafkaAdminClient(
        bootstrap_servers=settings.kafka_servers,
        client_id=client_id,
        request_timeout_ms=15_000,
        bootstrap_timeout_ms=4_000,
        **kafka_security(settings),
    )


def ensure_topics(settings: Settings) -> list[tuple[str, str]]:
    """Create the missing topics; returns (topic, "created" | "exists") for each."""
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        missing = [spec for spec in topic_specs(settings) if spec.name not in existing]
        if missing:
            admin.create_topics(
                {
                    spec.name: {
                        "num_partitions": spec.partitions,
                        "replication_factor": settings.topic_replication,
                        "configs": spec.configs,
                    }
                    for spec in missing
                },
                wait_for_metadata=True,
            )
        created = {spec.name for spec in missing}
        return [
            (spec.name, "created" if spec.name in created else "exists")
            for spec in topic_specs(settings)
        ]
    finally:
        admin.close()
