"""Issue 26 through the real broker: 一次一评 does not depend on the producer's Kafka key.

Each transaction is sent four times: keyed by its transaction id (the contract), by its
evaluation id, by a device id, and with no key, each copy in another partition; then ten
transactions are evaluated again under new evaluation ids, keyed by those (the report: 110
rows in ratings, want 100). With and without a worker SIGKILL between the copies, ClickHouse
holds each evaluation once, every window counts it once, and the ten are rejected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client

from channels.producer import ChannelProducer
from channels.simulation import Simulator
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from streams.ingest.rekey import contract_key, home_partition
from tests.integration.harness import Service, scalar, wait_until

COUNT = 40


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # four partitions: the four copies of a transaction each in another one
    return {"topic_partitions": 4}


def evaluations(count: int) -> list[dict[str, Any]]:
    out = []
    for message in Simulator(seed=26, pii_rate=0.0, followup_rate=0.0).stream(count * 3):
        value = json.loads(message.value)
        if message.kind == "valid" and value.get("transaction_id"):
            out.append(value)
    return out[:count]


def copies(value: dict[str, Any], partitions: int) -> list[tuple[bytes | None, int | None]]:
    """(key, partition) of the four copies: as the contract asks, then three ways channel
    teams send, each pinned away from the contract key's partition."""
    home = home_partition(contract_key(value["transaction_id"], value["evaluation_id"]), partitions)
    return [
        (value["transaction_id"].encode(), None),
        (value["evaluation_id"].encode(), (home + 1) % partitions),
        (
            b"device-" + value["hall_code"].encode() if value.get("hall_code") else b"dev",
            (home + 2) % partitions,
        ),
        (None, (home + 3) % partitions),
    ]


def send(settings: Settings, messages: list[tuple[bytes | None, bytes, int | None]]) -> None:
    producer = ChannelProducer(
        settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
    )
    for key, value, partition in messages:
        producer.send_raw(key, value, partition=partition)
    producer.close()


def landed(clickhouse: Client) -> int:
    return int(scalar(clickhouse, "SELECT count() FROM ratings FINAL"))


@pytest.mark.parametrize("sigkill", [False, True], ids=["steady", "sigkill"])
def test_one_row_and_one_count_whatever_the_key(
    settings: Settings, clickhouse: Client, tmp_path: Path, sigkill: bool
) -> None:
    values = evaluations(COUNT)
    again = [{**v, "evaluation_id": v["evaluation_id"] + "-again"} for v in values[:10]]
    sent = [(v, copies(v, settings.topic_partitions)) for v in values]
    rounds = [
        [(key, json.dumps(v).encode(), p) for v, four in sent for key, p in four[:2]],
        [(key, json.dumps(v).encode(), p) for v, four in sent for key, p in four[2:]]
        + [(v["evaluation_id"].encode(), json.dumps(v).encode(), None) for v in again],
    ]
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        send(settings, rounds[0])
        wait_until(
            "the first copies to land",
            lambda: landed(clickhouse) == COUNT,
            timeout=240,
            services=[worker, sink],
        )
        if sigkill:  # before the worker commits what it has just processed, as often as not
            worker.kill()
            worker = Service(settings, "worker", tmp_path / "worker-2.log")
        send(settings, rounds[1])
        wait_until(
            "the ten new evaluations of rated transactions to be rejected",
            lambda: (
                scalar(
                    clickhouse,
                    "SELECT count() FROM rejected FINAL WHERE reason = 'duplicate_transaction'",
                )
                == 10
            ),
            timeout=240,
            services=[worker, sink],
        )
        day, minute = (
            "SELECT sum(total) FROM satisfaction "
            f"WHERE dimension = 'department' AND window = '{window}'"
            for window in ("1d", "1m")
        )
        wait_until(
            "the window counts to settle at one per evaluation",
            lambda: scalar(clickhouse, day) == COUNT and scalar(clickhouse, minute) == COUNT,
            timeout=120,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
    assert landed(clickhouse) == COUNT
    assert scalar(clickhouse, "SELECT uniqExact(evaluation_id) FROM ratings") == COUNT
    # the rejections name the messages on ratings.raw, not the internal topic
    topics = clickhouse.execute("SELECT DISTINCT source_topic FROM rejected FINAL")
    assert topics == [(settings.topic_raw,)]
