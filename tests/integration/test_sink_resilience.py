"""The sink killed at random points, and ClickHouse stopped for a minute: nothing lost,
nothing doubled, in `ratings` and in every view."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from clickhouse_driver import Client

from channels.simulation import Simulator
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from sinks.clickhouse import connect
from tests.integration.expected import (
    LANDED_WINDOWS,
    expected_windows,
    landed_windows,
    unique_valid_evaluations,
)
from tests.integration.harness import Service, scalar, send, wait_until

ROOT = Path(__file__).resolve().parents[2]
CLICKHOUSE_PID = ROOT / ".deploy" / "clickhouse" / "clickhouse.pid"


def daily_totals(client: Client) -> dict[str, int]:
    return dict(
        client.execute(
            "SELECT key, sum(total) FROM satisfaction_daily WHERE dimension = 'department' "
            "GROUP BY key"
        )
    )


def assert_exact(client: Client, evaluations: dict[str, dict]) -> None:
    assert scalar(client, "SELECT count() FROM ratings FINAL") == len(evaluations)
    assert landed_windows(client.execute(LANDED_WINDOWS)) == expected_windows(evaluations.values())
    expected_daily: dict[str, int] = {}
    for e in evaluations.values():
        expected_daily[e["department_code"]] = expected_daily.get(e["department_code"], 0) + 1
    assert daily_totals(client) == expected_daily


def test_a_sink_killed_again_and_again_lands_everything_once(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    messages = list(Simulator(seed=31).stream(8000, scenario="mixed"))
    evaluations = unique_valid_evaluations(messages)
    rng = random.Random(31)
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink-0.log")
    try:
        for round_ in range(4):
            chunk = messages[round_ * 2000 : (round_ + 1) * 2000]
            send(settings, ((m.key, m.value) for m in chunk))
            time.sleep(rng.uniform(0.5, 3.0))
            sink.kill()
            sink = Service(settings, "sink", tmp_path / f"sink-{round_ + 1}.log")
        wait_until(
            "every evaluation and window to land",
            lambda: (
                scalar(clickhouse, "SELECT count() FROM ratings FINAL") >= len(evaluations)
                and landed_windows(clickhouse.execute(LANDED_WINDOWS))
                == expected_windows(evaluations.values())
            ),
            timeout=300,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
    assert_exact(clickhouse, evaluations)
    # the kills did make the sink land some rows twice: the tables' dedupe absorbed them
    assert scalar(clickhouse, "SELECT count() FROM satisfaction_partials") >= scalar(
        clickhouse, "SELECT count() FROM satisfaction_partials FINAL"
    )


def clickhouse_pid() -> int:
    return int(CLICKHOUSE_PID.read_text().strip())


def test_clickhouse_stopped_for_a_minute_loses_and_doubles_nothing(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    messages = list(Simulator(seed=32).stream(6000, scenario="duplicates"))
    evaluations = unique_valid_evaluations(messages)
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        send(settings, ((m.key, m.value) for m in messages[:3000]))
        wait_until(
            "the first rows",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings") > 100,
            services=[worker, sink],
        )
        os.kill(clickhouse_pid(), signal.SIGTERM)  # the project's own server, by its pid file
        try:
            send(settings, ((m.key, m.value) for m in messages[3000:]))
            wait_until(
                "the sink to report the outage",
                lambda: "unreachable" in sink.output(),
                timeout=90,
                services=[worker, sink],
            )
            time.sleep(60)
            assert sink.alive()
        finally:
            subprocess.run(
                ["bash", str(ROOT / "deploy" / "services.sh"), "up"],
                check=True,
                capture_output=True,
            )
        clickhouse = connect(settings)
        wait_until(
            "every evaluation to land after the outage",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") >= len(evaluations),
            timeout=300,
            services=[worker, sink],
        )
        wait_until(
            "every window to land after the outage",
            lambda: (
                landed_windows(clickhouse.execute(LANDED_WINDOWS))
                == expected_windows(evaluations.values())
            ),
            timeout=120,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
    assert_exact(clickhouse, evaluations)
    output = sink.output()
    assert "is back" in output
    assert "Traceback" not in output


def test_a_sink_stuck_on_a_hung_connection_exits_to_be_restarted_and_then_lands_everything(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    """A ClickHouse that accepts connections and never answers holds the sink in its first
    insert, landing nothing, while records wait: its watchdog must see it from beside the
    stuck thread and end the process with 75 (STALLED), for the supervisor to restart it."""
    import socket

    from kafka import KafkaProducer

    from runtime.watchdog import STALLED
    from tests.integration.harness import HAOCHAPING, env_for

    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(8)
    stuck = settings.model_copy(
        update={"clickhouse_port": black_hole.getsockname()[1], "sink_stall_s": 10.0}
    )
    producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, **kafka_security(settings))
    evaluation = next(m for m in Simulator(seed=7).stream(20) if m.kind == "valid")
    producer.send(settings.topic_raw, evaluation.value, key=evaluation.key)
    producer.flush()
    producer.close()
    worker = Service(settings, "worker", tmp_path / "worker.log")
    log_path = tmp_path / "sink-stuck.log"
    with open(log_path, "wb") as log:
        sink = subprocess.Popen(
            [HAOCHAPING, "sink"],
            env=env_for(stuck),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            status = sink.wait(timeout=180)
        except subprocess.TimeoutExpired:
            sink.kill()
            tail = log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"the stuck sink never exited:\n{tail}") from None
        finally:
            black_hole.close()
    output = log_path.read_text(errors="replace")
    assert status == STALLED, output[-3000:]
    assert "stalled" in output
    # the fresh sink (against the real ClickHouse) lands what the stuck one never did
    fresh = Service(settings, "sink", tmp_path / "sink-fresh.log")
    try:
        wait_until(
            "the evaluation to land after the restart",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") == 1,
            services=[worker, fresh],
        )
    finally:
        worker.stop()
        fresh.stop()
