"""The move from one worker process to two, against the real broker: the follow-up group
starts where the worker's group stopped on the follow-up topics, and refuses when the broker
does not take the offsets (streams/worker/handover.py)."""

from __future__ import annotations

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from haochaping.topics import admin_client, ensure_topics
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from streams.topology import follow_up_group
from streams.worker.handover import HandoverRefused, take_over_follow_up_offsets


def committed(admin: KafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    offsets = admin.list_group_offsets({group: None}).get(group, {})
    return {tp: position.offset for tp, position in offsets.items()}


def fill(settings: Settings, counts: dict[str, int]) -> None:
    """Records on partition 0 of these topics, for the offsets below to point into."""
    ensure_topics(settings)  # the broker creates no topic a client merely names
    producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, **kafka_security(settings))
    for topic, count in counts.items():
        for _ in range(count):
            producer.send(topic, b"{}", partition=0)
    producer.close()


def test_the_follow_up_group_takes_over_the_worker_groups_offsets_once(
    settings: Settings,
) -> None:
    fill(settings, {settings.topic_cases: 6, settings.topic_raw: 3})
    admin = admin_client(settings)
    try:
        cases = TopicPartition(settings.topic_cases, 0)
        raw = TopicPartition(settings.topic_raw, 0)
        # what a one-process worker left: positions on ratings.raw and on cases.events
        admin.alter_group_offsets(
            settings.app_id,
            {cases: OffsetAndMetadata(4, "", -1), raw: OffsetAndMetadata(2, "", -1)},
        )

        assert take_over_follow_up_offsets(settings, admin) == 1
        assert committed(admin, follow_up_group(settings)) == {cases: 4}

        # only on the first start: afterwards the follow-up group's own offsets stand
        admin.alter_group_offsets(settings.app_id, {cases: OffsetAndMetadata(6, "", -1)})
        assert take_over_follow_up_offsets(settings, admin) == 0
        assert committed(admin, follow_up_group(settings)) == {cases: 4}
    finally:
        admin.close()


def test_offsets_the_broker_refuses_stop_the_start_with_the_reason(settings: Settings) -> None:
    fill(settings, {settings.topic_cases: 3})
    admin = admin_client(settings)
    cases = TopicPartition(settings.topic_cases, 0)
    # a live member in the follow-up group, which has committed nothing: the broker refuses
    # offsets committed from outside a group that has members
    member = KafkaConsumer(
        settings.topic_cases,
        bootstrap_servers=settings.kafka_servers,
        group_id=follow_up_group(settings),
        enable_auto_commit=False,
        **kafka_security(settings),
    )
    try:
        admin.alter_group_offsets(settings.app_id, {cases: OffsetAndMetadata(2, "", -1)})
        deadline = time.monotonic() + 60
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(timeout_ms=500)
        assert member.assignment(), "the member never joined its group"
        with pytest.raises(HandoverRefused, match="could not be given"):
            take_over_follow_up_offsets(settings, admin)
    finally:
        member.close()
        admin.close()
