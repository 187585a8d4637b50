"""One node of the cluster dies mid-stream; nothing is lost or doubled.

Each test streams 34 minutes of event time (20 steady minutes over 50 departments, 8 in which
one department's bad reviews surge, 6 steady again; with duplicates, resent transactions and
malformed messages throughout) through a real worker and sink on the cluster of
`make cluster-up` (three brokers with replication 3 and min.insync.replicas 2, two ClickHouse
replicas of one shard), breaks one
node halfway, brings it back, and then checks through the `_all` Distributed tables of *each*
replica, and in each replica's own tables: exact evaluations in `ratings`, exact window
counts in `satisfaction`, and no alert opened twice. The counts are printed (`pytest -s`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clickhouse_driver import Client
from kafka import KafkaAdminClient

from channels.simulation import Scenario, SimulatedMessage, Simulator
from runtime.poll_watchdog import LagProbe, total_lag
from runtime.settings import Settings
from schemas.catalogue import synthetic_departments
from sinks.clickhouse import connect
from sinks.landings import by_topic
from streams.topology import raw_committer
from tests.cluster.conftest import cluster
from tests.integration.expected import (
    LANDED_WINDOWS,
    expected_windows,
    landed_windows,
    unique_valid_evaluations,
)
from tests.integration.harness import Service, prepare, scalar, send, wait_until

pytestmark = pytest.mark.cluster

RATE = 6.0  # evaluations per second of event time
NOISE = {"duplicate_rate": 0.01, "duplicate_transaction_rate": 0.005, "malformed_rate": 0.01}


def traffic(seed: int) -> list[SimulatedMessage]:
    """Steady, surge, steady: enough minutes before the surge for the detector to judge it."""
    simulator = Simulator(
        seed=seed,
        departments=synthetic_departments(50),
        bad_rate=0.01,
        pii_rate=0.0,
        followup_rate=0.0,
    )
    surging = synthetic_departments(50)[17].code
    begin = (datetime.now(UTC) - timedelta(minutes=36)).replace(second=0, microsecond=0)
    phases = [
        (0, 20, Scenario("steady", **NOISE)),
        (
            20,
            8,
            Scenario(
                "surge",
                surge=True,
                surge_from=0.0,
                surge_department=surging,
                surge_bad_share=0.4,
                surge_traffic_factor=3.0,
                **NOISE,
            ),
        ),
        (28, 6, Scenario("steady", **NOISE)),
    ]
    messages: list[SimulatedMessage] = []
    for offset, minutes, scenario in phases:
        messages += simulator.stream(
            int(minutes * 60 * RATE),
            scenario=scenario,
            start=begin + timedelta(minutes=offset),
            rate_per_s=RATE,
            rhythm=False,
        )
    return messages


def replica(settings: Settings, number: int) -> Client:
    """A client of one replica only (no failover): what that replica itself answers."""
    host, port = settings.clickhouse_servers[number - 1].rsplit(":", 1)
    return Client(
        host,
        port=int(port),
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        database=settings.clickhouse_database,
        connect_timeout=3,
        send_receive_timeout=60,
    )


def counts(client: Client) -> dict[str, int]:
    """What one replica holds, locally and through its Distributed tables."""
    return {
        "ratings": scalar(client, "SELECT count() FROM ratings FINAL"),
        "ratings_all": scalar(client, "SELECT count() FROM ratings_all FINAL"),
        "ratings_all_ids": scalar(client, "SELECT uniqExact(evaluation_id) FROM ratings_all"),
        "windows": scalar(client, "SELECT count() FROM satisfaction"),
        "alerts_opened": scalar(
            client, "SELECT count() FROM alerts_all FINAL WHERE state = 'opened'"
        ),
    }


def parts_to_fetch(client: Client, settings: Settings) -> list[str]:
    """Parts of `ratings` this replica knows of and has not fetched yet."""
    return [
        name
        for (name,) in client.execute(
            "SELECT new_part_name FROM system.replication_queue "
            "WHERE database = %(database)s AND table = 'ratings' AND type = 'GET_PART'",
            {"database": settings.clickhouse_database},
        )
    ]


def all_committed(settings: Settings) -> bool:
    """The worker committed all of ratings.raw and the sink every topic it lands: every row
    the pipeline makes was acknowledged by a ClickHouse replica."""
    for topics, group in (
        ([settings.topic_raw], raw_committer(settings)),
        (list(by_topic(settings)), settings.sink_group),
    ):
        probe = LagProbe(settings, topics, group)
        try:
            ends, positions = probe.read()
        finally:
            probe.close()
        if total_lag(ends, positions):
            return False
    return True


def windows_through_distributed(client: Client) -> dict:
    # the `satisfaction` view's sums, read from the Distributed table of the window counts
    return landed_windows(
        client.execute(
            LANDED_WINDOWS.replace(
                "FROM satisfaction",
                "FROM (SELECT dimension, key, window, window_start, sum(level_1) AS level_1, "
                "sum(level_2) AS level_2, sum(level_3) AS level_3, sum(level_4) AS level_4, "
                "sum(level_5) AS level_5 FROM satisfaction_partials_all FINAL "
                "GROUP BY dimension, key, window, window_start)",
            )
        )
    )


def exact_on(client: Client, evaluations: int, windows: dict) -> bool:
    try:
        return (
            scalar(client, "SELECT count() FROM ratings FINAL") == evaluations
            and scalar(client, "SELECT count() FROM ratings_all FINAL") == evaluations
            and landed_windows(client.execute(LANDED_WINDOWS)) == windows
            and windows_through_distributed(client) == windows
        )
    except Exception:  # a replica restarting or still read-only: not yet
        return False


def assert_exact_on_both(settings: Settings, messages: list[SimulatedMessage], label: str) -> None:
    evaluations = unique_valid_evaluations(messages)
    windows = expected_windows(evaluations.values())
    for number in (1, 2):
        client = replica(settings, number)
        seen = counts(client)
        print(
            f"\n[{label}] replica {number}: sent {len(messages)} messages, "
            f"{len(evaluations)} unique valid evaluations and {len(windows)} windows expected; "
            f"landed {seen}"
        )
        assert seen["ratings"] == seen["ratings_all"] == len(evaluations)
        assert seen["ratings_all_ids"] == len(evaluations)
        assert landed_windows(client.execute(LANDED_WINDOWS)) == windows
        assert windows_through_distributed(client) == windows
        # no alert opened twice: one opened row per alert, one opened alert per surge start
        doubled = client.execute(
            "SELECT dimension, key, window_start, uniqExact(alert_id) AS alerts, count() AS rows "
            "FROM alerts_all FINAL WHERE state = 'opened' "
            "GROUP BY dimension, key, window_start HAVING alerts > 1 OR rows > 1"
        )
        assert doubled == [], doubled
        # the surge was seen: the check above had an alert to double
        assert seen["alerts_opened"] >= 1
    first, second = (
        replica(settings, n).execute(
            "SELECT alert_id, state, at FROM alerts FINAL ORDER BY alert_id, state, at"
        )
        for n in (1, 2)
    )
    assert first == second  # both replicas hold the same alert events


def run_with_failure(
    settings: Settings,
    tmp_path: Path,
    label: str,
    seed: int,
    break_it: Callable[[], None],
    mend_it: Callable[[], None],
    while_broken: Callable[[int], None] = lambda evaluations: None,
) -> None:
    prepare(settings)
    messages = traffic(seed)
    evaluations = unique_valid_evaluations(messages)
    windows = expected_windows(evaluations.values())
    # supervised as in production: a stalled or failed process is restarted
    sink = Service(settings, "sink", tmp_path / "sink.log", max_restarts=20, restart_any_exit=True)
    worker = Service(
        settings, "worker", tmp_path / "worker.log", max_restarts=20, restart_any_exit=True
    )
    client = connect(settings)  # fails over between the replicas, as the sink does
    half = len(messages) // 2
    try:
        send(settings, ((m.key, m.value) for m in messages[:half]))
        wait_until(
            "the pipeline to be mid-stream",
            lambda: scalar(client, "SELECT count() FROM ratings") > 300,
            timeout=240,
            services=[worker, sink],
        )
        started = time.monotonic()
        break_it()
        try:
            # the channels keep sending while a node is down (acks=all, min.insync.replicas 2)
            send(settings, ((m.key, m.value) for m in messages[half:]))
            while_broken(len(evaluations))
        finally:
            # mended even when this test fails: the next one needs the whole cluster
            mend_it()
        print(f"\n[{label}] node down for {time.monotonic() - started:.0f}s")
        for number in (1, 2):
            wait_until(
                f"replica {number} to hold every evaluation and window exactly",
                lambda n=number: exact_on(replica(settings, n), len(evaluations), windows),  # type: ignore[misc]
                timeout=360,
                every=2,
                services=[worker, sink],
            )
        print(
            f"[{label}] exact on both replicas {time.monotonic() - started:.0f}s after the failure"
        )
    finally:
        worker.stop()
        sink.stop()
    print(f"[{label}] restarts: worker {worker.exits}, sink {sink.exits}")
    assert_exact_on_both(settings, messages, label)


def partition_leader(settings: Settings, topic: str, partition: int = 0) -> int:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers)
    try:
        for described in admin.describe_topics([topic]):
            for p in described["partitions"]:
                if p["partition_index"] == partition:
                    return int(p["leader_id"])
    finally:
        admin.close()
    raise AssertionError(f"no leader for {topic}[{partition}]")


def test_a_broker_killed_mid_stream_and_restarted_loses_and_doubles_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    broker: list[str] = []

    def kill_the_leader() -> None:
        # the leader of ratings.raw's first partition: its clients must move to another
        broker.append(f"kafka-{partition_leader(settings, settings.topic_raw)}")
        print(f"\n[broker] {cluster('kill', broker[0]).strip()}")

    def restart() -> None:
        time.sleep(5)  # some of the second half is written while it is away
        print(f"[broker] {cluster('start', broker[0]).strip().splitlines()[-1]}")

    run_with_failure(settings, tmp_path, "broker", 31, kill_the_leader, restart)


def test_a_clickhouse_replica_killed_mid_stream_catches_up_after_its_restart(
    settings: Settings, tmp_path: Path
) -> None:
    def kill_replica_1() -> None:
        # replica 1 is the one the sink writes to: it must fail over to replica 2
        print(f"\n[replica] {cluster('kill', 'clickhouse-1').strip()}")

    def writes_go_on(evaluations: int) -> None:
        # every evaluation lands on replica 2 while replica 1 is dead, but those of parts
        # replica 1 acknowledged just before it died: replication is asynchronous, so replica
        # 2 has them queued to fetch from replica 1 once it is back (CI of 2026-12-08 saw
        # this); the exact checks after the restart then find them on both replicas
        def taken() -> bool:
            second = replica(settings, 2)
            if scalar(second, "SELECT count() FROM ratings FINAL") == evaluations:
                return True
            return bool(parts_to_fetch(second, settings)) and all_committed(settings)

        wait_until(
            "replica 2 to take every write while replica 1 is down",
            taken,
            timeout=300,
            every=2,
        )
        queued = parts_to_fetch(replica(settings, 2), settings)
        print(
            "[replica] replica 2 took every write while replica 1 was down"
            + (f"; parts to fetch from replica 1 once back: {queued}" if queued else "")
        )

    def restart() -> None:
        print(f"[replica] {cluster('start', 'clickhouse-1').strip().splitlines()[-1]}")

    run_with_failure(settings, tmp_path, "replica", 32, kill_replica_1, restart, writes_go_on)


def test_zookeeper_restarted_mid_stream_loses_and_doubles_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    def kill_zookeeper() -> None:
        # the replicated tables turn read-only: the sink holds its rows and retries
        print(f"\n[zookeeper] {cluster('kill', 'zookeeper').strip()}")

    def restart() -> None:
        time.sleep(8)
        print(f"[zookeeper] {cluster('start', 'zookeeper').strip().splitlines()[-1]}")

    run_with_failure(settings, tmp_path, "zookeeper", 33, kill_zookeeper, restart)
