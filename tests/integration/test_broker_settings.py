"""The broker `deploy/services.sh` starts (issue 29, part 3): a client that names a topic does
not create it. Auto-creation made any typo, and any client of the anonymous listener, a new
topic with the broker's defaults; the project's topics are created on purpose, with theirs."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from haochaping.topics import admin_client
from runtime.kafka_security import kafka_security
from runtime.settings import Settings

pytestmark = pytest.mark.integration


def test_naming_a_topic_does_not_create_it() -> None:
    settings = Settings()
    name = f"never-created-{uuid.uuid4().hex[:10]}"
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_servers,
        **kafka_security(settings),
        max_block_ms=3000,
    )
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send(name, b"a typo's record").get(timeout=10)
    finally:
        producer.close(timeout=5)
    admin = admin_client(settings)
    try:
        assert name not in admin.list_topics()
    finally:
        admin.close()
