"""People's actions on a case through the real broker and ClickHouse (issue 27): a bad review
lands, the office routes it, the department asks to send it back (refused), verifies it,
calls back, rectifies, and the citizen rates the rectification; refused actions land in
`rejected` with their reason; a worker SIGKILL in the middle changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clickhouse_driver import Client
from kafka import KafkaProducer

from channels.simulation import Simulator, message_key
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from tests.integration.harness import Service, scalar, send, wait_until

OFFICE: dict[str, Any] = {"actor": "office-1", "actor_role": "office"}
DEPT_B: dict[str, Any] = {
    "actor": "dept-b-1",
    "actor_role": "department",
    "actor_departments": ["D-B"],
}


def actions(case_id: str, home: str, start: datetime) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [
        {"action": "route", "department_code": "D-B", **OFFICE},
        {"action": "request_reroute", "note": "非本部门事项", **DEPT_B},
        {"action": "refuse_reroute", **OFFICE},
        # refused: the case is with D-B now, not with the department it came from
        {"action": "verify", "truthful": True, "reasonable": True, "category": "attitude",
         "actor": "home-1", "actor_role": "department", "actor_departments": [home]},
        {"action": "rectify", **DEPT_B},  # refused: before 核实
        {"action": "verify", "truthful": True, "reasonable": True, "category": "attitude",
         **DEPT_B},
        {"action": "call_back", "outcome": "reached", **DEPT_B},
        {"action": "rectify", "note": "增设导办员", **DEPT_B},
        {"action": "rate_rectification", "satisfaction": "basically_satisfied", **DEPT_B},
        {"action": "uphold_appeal", **OFFICE},  # refused: no appeal waits
    ]  # fmt: skip
    return [
        {
            "action_id": f"{case_id}-{n}",
            "case_id": case_id,
            # a second apart, after the opening: within the clock skew of their sending
            "at": (start + timedelta(seconds=n)).isoformat(),
            **step,
        }
        for n, step in enumerate(steps, start=1)
    ]


def produce(settings: Settings, values: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_servers, **kafka_security(settings))
    for value in values:
        producer.send(
            settings.topic_case_actions,
            key=value["case_id"].encode(),
            value=json.dumps(value, ensure_ascii=False).encode(),
        )
    producer.flush()
    producer.close()


def test_a_case_walks_the_loop_through_kafka_and_clickhouse(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    review = Simulator(seed=27).evaluation(now - timedelta(minutes=5), level=1)
    case_id, home = review["evaluation_id"], review["department_code"]

    def events() -> list[str]:
        rows = clickhouse.execute(
            "SELECT event FROM case_events FINAL WHERE case_id = %(id)s ORDER BY at, event",
            {"id": case_id},
        )
        return [row[0] for row in rows]

    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        send(settings, [(message_key(review), json.dumps(review).encode())])
        wait_until("the case to open", lambda: "opened" in events(), services=[worker, sink])
        planned = actions(case_id, home, datetime.now(UTC))
        produce(settings, planned[:5])
        wait_until(
            "the first actions' events",
            lambda: len(events()) >= 4,  # opened, routed, reroute_requested, reroute_refused
            services=[worker, sink],
        )
        worker.kill()  # SIGKILL: no commit, no flush
        worker = Service(settings, "worker", tmp_path / "worker-2.log")
        produce(settings, planned[5:])
        wait_until(
            "the rating of the rectification",
            lambda: "rectification_rated" in events(),
            timeout=180,
            services=[worker, sink],
        )
        wait_until(
            "the three refusals",
            lambda: scalar(
                clickhouse, "SELECT count() FROM rejected FINAL WHERE reason = 'action_refused'"
            )
            >= 3,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()

    assert events() == [
        "opened",
        "routed",
        "reroute_requested",
        "reroute_refused",
        "verified",
        "called_back",
        "rectified",
        "rectification_rated",
    ]
    refused = clickhouse.execute(
        "SELECT source_offset, message FROM rejected FINAL WHERE reason = 'action_refused' "
        "ORDER BY source_offset"
    )
    assert [offset for offset, _ in refused] == [3, 4, 9]
    assert "只有承办部门" in refused[0][1] and "请先核实再整改" in refused[1][1]
    assert "没有待复核的申诉" in refused[2][1]

    verified = clickhouse.execute(
        "SELECT actor, truthful, reasonable, category, action_id FROM case_events FINAL "
        "WHERE case_id = %(id)s AND event = 'verified'",
        {"id": case_id},
    )
    assert verified == [("dept-b-1", 1, 1, "attitude", f"{case_id}-6")]
    loop = clickhouse.execute(
        "SELECT department_code, cases, verified_cases, truthful_cases, routed_cases, "
        "reroute_requests, reroutes_refused, reached_callbacks, rated_rectifications, "
        "satisfied_rectifications, rectification_satisfaction_rate FROM case_loop_monthly"
    )
    assert loop == [("D-B", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.0)]
