"""主动邀评 through the real worker and sink (issue 28): 办件 left unrated past the setting are
invited once on ``invitations``, rated ones never (also when the evaluations came before their
办件 and the worker was killed between), and a SIGKILL, a restart and every 办件 sent again add
no invitation."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client

from haochaping.readiness import Readiness
from runtime.clock import CHINA
from runtime.settings import Settings
from schemas.invitation import Invitation
from streams.worker.timers import INVITE_EVERY_S
from tests.integration.harness import Service, read_topic, scalar, send, wait_until
from tests.integration.test_coverage import encoded


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # the 办件 below were completed two hours ago: due as soon as they are read
    return {"invitation_after_hours": 1.0}


def transactions_and_evaluations(
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    transactions, evaluations = [], []
    for i in range(120):
        completed = now - timedelta(hours=2, seconds=i)
        transactions.append({
            "transaction_id": f"T{i:04d}", "service_code": f"S-{i % 3}",
            "department_code": "D-01", "region_code": "310101", "channel": "counter",
            "hall_code": "H1", "window_code": f"W{i % 4}",
            "completed_at": completed.isoformat(),
        })  # fmt: skip
        if i % 3 != 2:  # two in three rated
            evaluations.append({
                "evaluation_id": f"E{i:04d}", "transaction_id": f"T{i:04d}",
                "service_code": f"S-{i % 3}", "department_code": "D-01",
                "region_code": "310101", "channel": "counter", "level": 4,
                "evaluated_at": (completed + timedelta(minutes=10)).isoformat(),
            })  # fmt: skip
    return transactions, evaluations


def invited(settings: Settings) -> list[str]:
    records = read_topic(settings, settings.topic_invitations, quiet_s=2.0)
    return sorted(Invitation.from_json_bytes(r.value).transaction_id for r in records)


def follow_up_caught_up(settings: Settings) -> bool:
    readiness = Readiness(settings)
    try:
        return all(group.ready and group.lag == 0 for group in readiness.look())
    finally:
        readiness.close()


def test_unrated_transactions_are_invited_once_across_a_crash_and_a_resend(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    transactions, evaluations = transactions_and_evaluations(datetime.now(CHINA))
    rated = {e["transaction_id"] for e in evaluations}
    unrated = sorted(t["transaction_id"] for t in transactions if t["transaction_id"] not in rated)
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        # the evaluations first: their evaluated-transaction records are read before any 办件
        send(settings, encoded(evaluations, "transaction_id"))
        wait_until(
            "the evaluations to land",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") == len(evaluations),
            timeout=180,
            services=[worker, sink],
        )
        # and remembered only in the recovered table: committed, then a new worker reads the 办件
        wait_until(
            "the evaluated transactions to be read and committed",
            lambda: follow_up_caught_up(settings),
            timeout=180,
            services=[worker, sink],
        )
        worker.kill()
        worker = Service(settings, "worker", tmp_path / "worker-0.log")
        send(settings, encoded(transactions, "transaction_id"), settings.topic_transactions)
        wait_until(
            "the unrated 办件 to be invited",
            lambda: scalar(clickhouse, "SELECT count() FROM invitations FINAL") >= len(unrated),
            timeout=180,
            services=[worker, sink],
        )
        assert invited(settings) == unrated

        worker.kill()  # SIGKILL: it replays from its commits and recovers its table
        worker = Service(settings, "worker", tmp_path / "worker-2.log")
        send(settings, encoded(transactions, "transaction_id"), settings.topic_transactions)
        wait_until(
            "the resent 办件 to be read by the new worker",
            lambda: follow_up_caught_up(settings),
            timeout=180,
            services=[worker, sink],
        )
        # nothing is awaited here but the absence of an invitation: two of the timer's looks
        time.sleep(2 * INVITE_EVERY_S + 1)
        assert invited(settings) == unrated
    finally:
        worker.stop()
        sink.stop()
    rows = clickhouse.execute(
        "SELECT sum(invited), sum(rated_after) FROM invitation_response_daily"
    )
    assert rows == [(len(unrated), 0)]
    payload = read_topic(settings, settings.topic_invitations, quiet_s=1.0)[0].value
    assert set(json.loads(payload)) >= {"transaction_id", "due_at", "invited_at"}
