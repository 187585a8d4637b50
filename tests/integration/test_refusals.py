"""Failures that must reach a person: an undeliverable evaluation, a worker without its
secret, a record the sink cannot land."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clickhouse_driver import Client
from kafka import KafkaProducer
from pydantic import SecretStr

from channels.producer import ChannelProducer, DeliveryFailed
from channels.simulation import Simulator
from haochaping.topics import admin_client
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from tests.integration.harness import HAOCHAPING, Service, env_for, scalar, wait_until


def test_the_channel_producer_reports_what_it_could_not_deliver(settings: Settings) -> None:
    small = f"{settings.topic_raw}.small"
    admin = admin_client(settings)
    admin.create_topics(
        {
            small: {
                "num_partitions": 1,
                "replication_factor": 1,
                "configs": {"max.message.bytes": "2000"},
            }
        },
        wait_for_metadata=True,
    )
    try:
        producer = ChannelProducer(settings.kafka_servers, small, **kafka_security(settings))
        evaluation = Simulator(seed=3).evaluation(datetime.now(UTC))
        producer.send(evaluation)  # fits
        evaluation = dict(evaluation, evaluation_id="too-big", comment="很好" * 900)
        producer.send(evaluation)
        with pytest.raises(DeliveryFailed) as failed:
            producer.close()
        assert failed.value.failures[0][0] == message_key_of(evaluation)
        assert producer.delivered == 1
    finally:
        admin.delete_topics([small])
        admin.close()


def message_key_of(evaluation: dict) -> bytes:
    return str(evaluation.get("transaction_id") or evaluation["evaluation_id"]).encode()


def test_the_channel_producer_refuses_an_invalid_evaluation_before_sending(
    settings: Settings,
) -> None:
    from pydantic import ValidationError

    producer = ChannelProducer(
        settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
    )
    evaluation = dict(Simulator(seed=4).evaluation(datetime.now(UTC)), level=7)
    with pytest.raises(ValidationError):
        producer.send(evaluation)
    producer.close()


def test_a_worker_without_an_evaluator_secret_refuses_to_start(settings: Settings) -> None:
    env = env_for(
        settings.model_copy(update={"demo_mode": False, "evaluator_secret": SecretStr("")})
    )
    result = subprocess.run(
        [HAOCHAPING, "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "HAOCHAPING_EVALUATOR_SECRET is not set" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_record_the_sink_cannot_land_goes_to_rejected_and_does_not_stall(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, **kafka_security(settings))
    producer.send(settings.topic_valid, key=b"broken", value=b"{not an evaluation")
    producer.send(settings.topic_windows, key=b"0|x", value=json.dumps({"no": "window"}).encode())
    producer.flush()
    producer.close()
    messages = list(Simulator(seed=5).stream(50))
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        from tests.integration.harness import send

        send(settings, ((m.key, m.value) for m in messages))
        wait_until(
            "the good records behind the broken ones",
            lambda: (
                scalar(clickhouse, "SELECT count() FROM ratings FINAL") == 50
                and scalar(
                    clickhouse, "SELECT count() FROM rejected FINAL WHERE reason = 'sink_refused'"
                )
                == 2
            ),
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
    messages_text = [
        m
        for (m,) in clickhouse.execute(
            "SELECT message FROM rejected FINAL WHERE reason = 'sink_refused' ORDER BY message"
        )
    ]
    assert any("valid record could not be landed" in m for m in messages_text)
    assert any("windows record could not be landed" in m for m in messages_text)


def test_commands_say_in_one_line_that_a_service_is_unreachable(settings: Settings) -> None:
    for command, broken in (
        ("topics", {"kafka_bootstrap": "127.0.0.1:1"}),
        ("migrate", {"clickhouse_port": 1}),
        ("report", {"clickhouse_port": 1}),
    ):
        env = env_for(settings.model_copy(update=broken))
        result = subprocess.run(
            [HAOCHAPING, command], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 1, command
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "unreachable" in lines[0], (command, result.stderr)
