"""Surge alerts through the real broker, checked in ClickHouse.

One event-time stream, replayed faster than real time: two hours of steady traffic at a 1%
bad rate across 200 departments, half an hour at doubled traffic and the same bad rate, ten
minutes in which one department's bad reviews surge, and ten quiet minutes after it.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client

from channels.simulation import Scenario, SimulatedMessage, Simulator
from runtime.settings import Settings
from schemas.catalogue import synthetic_departments
from tests.integration.harness import (
    HAOCHAPING,
    Service,
    env_for,
    scalar,
    send,
    wait_until,
)

RATE = 15.0  # evaluations per second of event time, all departments together


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # event time runs three hours behind the broker's clock: nothing may count as late
    return {"allowed_lateness_s": 7 * 86_400}


def phase(
    simulator: Simulator, start: datetime, minutes: float, rate: float, scenario: Scenario
) -> list[SimulatedMessage]:
    count = int(minutes * 60 * rate)
    return list(
        simulator.stream(count, scenario=scenario, start=start, rate_per_s=rate, rhythm=False)
    )


def worker_processes(settings: Settings, roles: tuple[str, ...], logs: Path) -> list[Service]:
    return [
        Service(settings.model_copy(update={"worker_role": role}), "worker", logs / f"{role}.log")
        for role in roles
    ]


# one process, as the tests run the worker elsewhere; two, as `make up` runs it: the follow-up
# agents (surges here) in a process and consumer group of their own
@pytest.mark.parametrize("roles", [("all",), ("ingest", "follow-up")], ids=["one", "two"])
def test_one_alert_for_a_surge_and_none_for_steady_or_doubled_traffic(
    settings: Settings, clickhouse: Client, tmp_path: Path, roles: tuple[str, ...]
) -> None:
    departments = synthetic_departments(200)
    surging = departments[17].code
    simulator = Simulator(
        seed=5, departments=departments, bad_rate=0.01, pii_rate=0.0, followup_rate=0.0
    )
    steady = Scenario("steady")
    begin = (datetime.now(UTC) - timedelta(hours=2, minutes=55)).replace(second=0, microsecond=0)
    surge_start = begin + timedelta(minutes=150)
    surge_end = surge_start + timedelta(minutes=10)
    messages = phase(simulator, begin, 120, RATE, steady)
    messages += phase(simulator, begin + timedelta(minutes=120), 30, 2 * RATE, steady)
    messages += phase(
        simulator,
        surge_start,
        10,
        2 * RATE,
        Scenario(
            "surge",
            surge=True,
            surge_from=0.0,
            surge_department=surging,
            surge_bad_share=0.4,
            surge_traffic_factor=3.0,
        ),
    )
    messages += phase(simulator, surge_end, 10, 2 * RATE, steady)
    assert all(m.kind == "valid" for m in messages)

    workers = worker_processes(settings, roles, tmp_path)
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        send(settings, ((m.key, m.value) for m in messages))
        wait_until(
            "the surge alert to be resolved",
            lambda: (
                scalar(
                    clickhouse,
                    "SELECT count() FROM alerts FINAL WHERE dimension = 'department' "
                    "AND state = 'resolved'",
                )
                >= 1
            ),
            timeout=600,
            every=2,
            services=[*workers, sink],
        )
        wait_until(
            "every evaluation to land",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") == len(messages),
            timeout=300,
            services=[*workers, sink],
        )
        # `haochaping wait` tells the shape from the follow-up group's members
        drained = subprocess.run(
            [HAOCHAPING, "wait", "--until", "drained", "--timeout", "120"],
            env=env_for(settings),
            capture_output=True,
            text=True,
            timeout=180,
        )
        said = drained.stdout + drained.stderr
        assert drained.returncode == 0, said
        assert ("follow-up stable" in said) == (len(roles) == 2), said
    finally:
        for worker in workers:
            worker.stop()
        sink.stop()

    department_alerts = clickhouse.execute(
        "SELECT alert_id, key, state, toUnixTimestamp(window_start), toUnixTimestamp(at) "
        "FROM alerts FINAL WHERE dimension = 'department' ORDER BY at, state"
    )
    assert {row[1] for row in department_alerts} == {surging}, department_alerts
    assert len({row[0] for row in department_alerts}) == 1  # exactly one alert
    opened = [row for row in department_alerts if row[2] == "opened"]
    assert len(opened) == 1
    surge_epoch = int(surge_start.timestamp())
    # within two 1-minute windows of the surge's start
    assert surge_epoch <= opened[0][3] < surge_epoch + 120, (opened, surge_epoch)
    resolved = [row for row in department_alerts if row[2] == "resolved"]
    assert len(resolved) == 1 and resolved[0][4] >= int(surge_end.timestamp())

    # service items can surge too, but only the surging department's
    surging_services = {s.code for s in departments[17].services}
    service_keys = {
        k
        for (k,) in clickhouse.execute(
            "SELECT DISTINCT key FROM alerts FINAL WHERE dimension = 'service'"
        )
    }
    assert service_keys <= surging_services

    explanation = scalar(
        clickhouse,
        "SELECT explanation FROM alerts FINAL WHERE alert_id = %(a)s AND state = 'opened'",
        {"a": opened[0][0]},
    )
    assert '"top_tags"' in explanation and '"count"' in explanation
