"""Personal data never passes ingest; unreachable services get one clear line and retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from clickhouse_driver import Client
from kafka import KafkaConsumer

from channels.simulation import Simulator
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from tests.integration.harness import Service, scalar, send, unique_settings, wait_until

PHONE = "13912345678"
ID_NUMBER = "31010119900307123X"
EMAIL = "zhang.san@example.com"
EVALUATOR = "13800138000"


def evaluations_with_personal_data(count: int) -> list[tuple[bytes, bytes]]:
    simulator = Simulator(seed=21)
    messages = []
    for i in range(count):
        evaluation = simulator.evaluation(datetime.now(UTC))
        evaluation["comment"] = f"请回电 {PHONE}，身份证 {ID_NUMBER}，邮箱 {EMAIL}，谢谢"
        evaluation["evaluator_id"] = EVALUATOR
        if i % 5 == 0:
            evaluation["level"] = 9  # rejected: its raw copy must be scrubbed too
        messages.append(
            (
                evaluation["evaluation_id"].encode(),
                json.dumps(evaluation, ensure_ascii=False).encode(),
            )
        )
    return messages


def test_personal_data_reaches_neither_ratings_valid_nor_clickhouse(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    messages = evaluations_with_personal_data(50)
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        send(settings, messages)
        wait_until(
            "40 ratings and 10 rejections",
            lambda: (
                scalar(clickhouse, "SELECT count() FROM ratings FINAL") == 40
                and scalar(clickhouse, "SELECT count() FROM rejected FINAL") == 10
            ),
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()

    consumer = KafkaConsumer(
        settings.topic_valid,
        bootstrap_servers=settings.kafka_servers,
        **kafka_security(settings),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    valid_bytes = b"".join(record.value for record in consumer)
    consumer.close()
    assert valid_bytes.count(b"evaluation_id") == 40
    secrets = [PHONE, ID_NUMBER, EMAIL, EVALUATOR]
    for secret in secrets:
        assert secret.encode() not in valid_bytes, secret

    for table in ("ratings", "rejected", "satisfaction_partials"):
        columns = [
            c
            for (c,) in clickhouse.execute(
                "SELECT name FROM system.columns WHERE database = currentDatabase() "
                "AND table = %(t)s AND type LIKE '%%String%%'",
                {"t": table},
            )
        ]
        for secret in secrets:
            hits = scalar(
                clickhouse,
                f"SELECT count() FROM {table} WHERE "
                + " OR ".join(f"position(toString({c}), %(s)s) > 0" for c in columns),
                {"s": secret},
            )
            assert hits == 0, (table, secret)
    # the comment itself survives, with placeholders where the data was
    comment = scalar(clickhouse, "SELECT any(comment) FROM ratings")
    assert "请回电" in comment and "[手机号]" in comment


def test_a_worker_without_a_broker_says_so_and_keeps_trying(tmp_path: Path) -> None:
    settings = unique_settings(tmp_path, kafka_bootstrap="127.0.0.1:1")
    worker = Service(settings, "worker", tmp_path / "worker.log")
    try:
        wait_until(
            "two retries",
            lambda: worker.output().count("unreachable") >= 2,
            timeout=60,
            services=[worker],
        )
        assert worker.alive(), worker.output()
    finally:
        worker.stop()
    output = worker.output()
    lines = [line for line in output.splitlines() if "unreachable" in line]
    assert len(lines) >= 2, output  # it retried
    assert "Kafka at 127.0.0.1:1 unreachable" in lines[0]
    assert "Traceback" not in output


def test_a_sink_without_clickhouse_says_so_retries_and_loses_nothing(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    messages = list(Simulator(seed=22).stream(200))
    cut_off = settings.model_copy(update={"clickhouse_port": 1})
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(cut_off, "sink", tmp_path / "sink-down.log")
    try:
        send(settings, ((m.key, m.value) for m in messages))
        wait_until(
            "the sink to report the outage twice",
            lambda: sink.output().count("unreachable") >= 2,
            timeout=180,  # room for a worker stall and its restart (harness.Service.alive)
            services=[worker, sink],
        )
        sink.stop()
        assert "Traceback" not in sink.output()
        assert "ClickHouse at 127.0.0.1:1 unreachable" in sink.output()
        # nothing was committed while ClickHouse was away: a sink that can reach it lands all
        sink = Service(settings, "sink", tmp_path / "sink-up.log")
        wait_until(
            "all 200 evaluations",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") == 200,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
