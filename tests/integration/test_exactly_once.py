"""Replays, restarts, crashes and several workers never change a number in ClickHouse."""

from __future__ import annotations

from pathlib import Path

from clickhouse_driver import Client

from channels.simulation import SimulatedMessage, Simulator
from runtime.settings import Settings
from tests.integration.expected import (
    LANDED_WINDOWS,
    expected_windows,
    landed_windows,
    unique_valid_evaluations,
)
from tests.integration.harness import Service, scalar, send, wait_until

WINDOWS_ROWS = "SELECT count() FROM satisfaction"


def landed_all(client: Client, evaluations: int, windows: int) -> bool:
    return (
        scalar(client, "SELECT count() FROM ratings FINAL") >= evaluations
        and scalar(client, WINDOWS_ROWS) >= windows
    )


def assert_exact(client: Client, messages: list[SimulatedMessage]) -> None:
    evaluations = unique_valid_evaluations(messages)
    expected = expected_windows(evaluations.values())
    assert scalar(client, "SELECT count() FROM ratings FINAL") == len(evaluations)
    assert scalar(client, "SELECT uniqExact(evaluation_id) FROM ratings") == len(evaluations)
    assert landed_windows(client.execute(LANDED_WINDOWS)) == expected
    # event time survives the trip: ClickHouse holds the same instants the channels sent
    sample = next(iter(evaluations.values()))
    from datetime import datetime

    epoch = int(datetime.fromisoformat(sample["evaluated_at"]).timestamp())
    assert (
        scalar(
            client,
            "SELECT toUnixTimestamp(evaluated_at) FROM ratings FINAL WHERE evaluation_id = %(e)s",
            {"e": sample["evaluation_id"]},
        )
        == epoch
    )


def wait_exact(client: Client, messages: list[SimulatedMessage], services: list[Service]) -> None:
    evaluations = unique_valid_evaluations(messages)
    expected = expected_windows(evaluations.values())
    wait_until(
        "every evaluation and window to land",
        lambda: (
            landed_all(client, len(evaluations), len(expected))
            and landed_windows(client.execute(LANDED_WINDOWS)) == expected
        ),
        timeout=240,
        services=services,
    )


def test_replaying_everything_after_a_restart_lands_each_evaluation_once(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    messages = list(Simulator(seed=11).stream(600, scenario="duplicates"))
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        send(settings, ((m.key, m.value) for m in messages))
        wait_exact(clickhouse, messages, [worker, sink])
        worker.stop()
        # the channel resends everything (a retrying backend); a fresh worker takes over
        worker = Service(settings, "worker", tmp_path / "worker-2.log")
        send(settings, ((m.key, m.value) for m in messages))
        duplicate_transactions = sum(m.kind == "duplicate_transaction" for m in messages)
        wait_until(
            "the resent duplicate transactions to be rejected again",
            lambda: (
                scalar(
                    clickhouse,
                    "SELECT count() FROM rejected FINAL WHERE reason = 'duplicate_transaction'",
                )
                == 2 * duplicate_transactions
            ),
            timeout=180,
            services=[worker, sink],
        )
        wait_exact(clickhouse, messages, [worker, sink])
    finally:
        worker.stop()
        sink.stop()
    assert_exact(clickhouse, messages)


def test_a_worker_killed_mid_stream_and_restarted_leaves_exact_counts(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    messages = list(Simulator(seed=12).stream(6000, scenario="mixed"))
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        send(settings, ((m.key, m.value) for m in messages[:3000]))
        wait_until(
            "the worker to be mid-stream",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings") > 500,
            services=[worker, sink],
        )
        send(settings, ((m.key, m.value) for m in messages[3000:]))
        worker.kill()  # SIGKILL, a crash: it replays from its commits
        worker = Service(settings, "worker", tmp_path / "worker-2.log")
        wait_exact(clickhouse, messages, [worker, sink])
    finally:
        worker.stop()
        sink.stop()
    assert_exact(clickhouse, messages)


def test_two_workers_sharing_the_partitions_count_exactly(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    messages = list(Simulator(seed=13).stream(3000, scenario="duplicates"))
    sink = Service(settings, "sink", tmp_path / "sink.log")
    workers = [Service(settings, "worker", tmp_path / f"worker-{i}.log") for i in (1, 2)]
    try:
        send(settings, ((m.key, m.value) for m in messages))
        wait_exact(clickhouse, messages, [*workers, sink])
    finally:
        for worker in workers:
            worker.stop()
        sink.stop()
    assert_exact(clickhouse, messages)
