"""The walking skeleton through the real broker and the real ClickHouse server."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from clickhouse_driver import Client

from channels.simulation import Simulator
from runtime.settings import Settings
from tests.integration.harness import Service, scalar, send, wait_until


def test_valid_land_in_ratings_and_malformed_in_rejected_with_reasons(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    messages = list(Simulator(seed=7).stream(400, scenario="malformed"))
    kinds = Counter(m.kind for m in messages)
    valid = kinds["valid"]
    malformed = Counter(m.malformed_reason for m in messages if m.malformed_reason is not None)
    assert valid > 300 and sum(malformed.values()) > 10  # the scenario really mixes both

    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        send(settings, ((m.key, m.value) for m in messages))
        wait_until(
            "every message to land",
            lambda: (
                scalar(clickhouse, "SELECT count() FROM ratings FINAL") >= valid
                and scalar(clickhouse, "SELECT count() FROM rejected FINAL")
                >= sum(malformed.values())
            ),
            timeout=180,
            services=(worker, sink),
        )
    finally:
        worker.stop()
        sink.stop()

    assert scalar(clickhouse, "SELECT count() FROM ratings FINAL") == valid
    landed_reasons = Counter(
        dict(clickhouse.execute("SELECT reason, count() FROM rejected FINAL GROUP BY reason"))
    )
    assert landed_reasons == malformed
    assert scalar(clickhouse, "SELECT countIf(message = '') FROM rejected") == 0
    assert "Traceback" not in worker.output() + sink.output()
