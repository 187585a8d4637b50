"""办件 and 评价率 through the real worker and sink (issue 28): 办件 with a known rated share per
service item and window, evaluations sent late, out of order and partly before their 办件, the
worker SIGKILLed midway and the 办件 sent again: every 评价率 in ClickHouse is exact."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from clickhouse_driver import Client

from runtime.clock import CHINA
from runtime.settings import Settings
from tests.integration.harness import Service, scalar, send, wait_until

SERVICES = ("S-0001", "S-0002", "S-0003", "S-0004")
PLACES = (("H1", "W1"), ("H1", "W2"), ("H2", "W1"))
SHARES = {"S-0001": 0.9, "S-0002": 0.6, "S-0003": 0.3, "S-0004": 0.0}  # W2 rates half as often


def plan(now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """办件 and the evaluations of the rated ones, each service item and window with its own
    share (one of them never rated)."""
    transactions, evaluations = [], []
    for i in range(360):
        service = SERVICES[i % len(SERVICES)]
        hall, window = PLACES[(i // len(SERVICES)) % len(PLACES)]
        completed = now - timedelta(hours=3, seconds=i)
        transaction_id = f"T{i:05d}"
        transactions.append({
            "transaction_id": transaction_id, "service_code": service, "department_code": "D-01",
            "region_code": "310101", "channel": "counter", "hall_code": hall,
            "window_code": window, "staff_id": f"ST{i % 7}",
            "completed_at": completed.isoformat(), "applicant_name": "张三",
        })  # fmt: skip
        share = SHARES[service] * (0.5 if window == "W2" else 1.0)
        if random.Random(i).random() < share:
            for evaluation_round in (1, 2) if i % 10 == 0 else (1,):
                evaluations.append({
                    "evaluation_id": f"E{i:05d}-{evaluation_round}",
                    "transaction_id": transaction_id, "evaluation_round": evaluation_round,
                    "service_code": service, "department_code": "D-01",
                    "region_code": "310101", "channel": "counter", "level": 1 + i % 5,
                    "hall_code": hall, "window_code": window,
                    "evaluated_at": (completed + timedelta(minutes=20)).isoformat(),
                })  # fmt: skip
    return transactions, evaluations


def expected(
    transactions: list[dict[str, Any]], evaluations: list[dict[str, Any]]
) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    rated = {e["transaction_id"] for e in evaluations if e["evaluation_round"] == 1}
    total: Counter[tuple[str, str, str, str]] = Counter()
    evaluated: Counter[tuple[str, str, str, str]] = Counter()
    for t in transactions:
        day = datetime.fromisoformat(t["completed_at"]).astimezone(CHINA).date().isoformat()
        cell = (day, t["service_code"], t["hall_code"], t["window_code"])
        total[cell] += 1
        evaluated[cell] += t["transaction_id"] in rated
    return {cell: (total[cell], evaluated[cell]) for cell in total}


COVERAGE = """
SELECT toString(day), service_code, hall_code, window_code, sum(transactions), sum(evaluated)
FROM coverage_daily
GROUP BY day, service_code, hall_code, window_code
"""


def landed(client: Client) -> dict[tuple[str, str, str, str], tuple[int, int]]:
    return {(d, s, h, w): (int(t), int(e)) for d, s, h, w, t, e in client.execute(COVERAGE)}


def encoded(messages: list[dict[str, Any]], key: str) -> list[tuple[bytes | None, bytes]]:
    return [(m[key].encode(), json.dumps(m, ensure_ascii=False).encode()) for m in messages]


def test_evaluation_rates_are_exact_after_late_evaluations_a_crash_and_a_resend(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    transactions, evaluations = plan(datetime.now(CHINA))
    random.Random(28).shuffle(evaluations)
    orphans = [
        {**evaluations[0], "evaluation_id": f"X{n}", "transaction_id": f"NEVER-{n}"}
        for n in range(3)
    ]
    want = expected(transactions, evaluations)
    bad = [(None, b"{oops"), (b"T-bad", json.dumps({**transactions[0], "channel": "fax"}).encode())]
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        # half the evaluations before any 办件, then the 办件 (with two broken ones)
        half = len(evaluations) // 2
        send(settings, encoded(evaluations[:half] + orphans, "transaction_id"))
        send(settings, encoded(transactions[:180], "transaction_id"), settings.topic_transactions)
        wait_until(
            "the worker to be mid-stream",
            lambda: scalar(clickhouse, "SELECT count() FROM transactions") > 0,
            timeout=180,
            services=[worker, sink],
        )
        worker.kill()  # SIGKILL: it replays from its commits
        send(
            settings,
            encoded(transactions[180:], "transaction_id") + bad,
            settings.topic_transactions,
        )
        worker = Service(settings, "worker", tmp_path / "worker-2.log")
        send(settings, encoded(evaluations[half:], "transaction_id"))
        # a business system resends its day's 办件
        send(settings, encoded(transactions[:90], "transaction_id"), settings.topic_transactions)
        wait_until(
            "every 评价率 to be exact",
            lambda: landed(clickhouse) == want,
            timeout=240,
            services=[worker, sink],
        )
        wait_until(
            "the broken 办件 to be rejected",
            lambda: scalar(
                clickhouse,
                "SELECT count() FROM rejected FINAL WHERE source_topic = %(t)s",
                {"t": settings.topic_transactions},
            ) == 2,
            timeout=60,
            services=[worker, sink],
        )  # fmt: skip
    finally:
        worker.stop()
        sink.stop()
    assert landed(clickhouse) == want
    assert sum(t for t, _ in want.values()) == 360
    assert len({round(e / t, 2) for t, e in want.values()}) > 3  # shares differ cell to cell
    without = clickhouse.execute(
        "SELECT evaluation_id FROM evaluations_without_transaction ORDER BY evaluation_id"
    )
    assert [row[0] for row in without] == ["X0", "X1", "X2"]
    # no applicant data anywhere in the table
    assert (
        scalar(clickhouse, "SELECT count() FROM transactions WHERE service_name LIKE '%张三%'") == 0
    )
    reasons = clickhouse.execute(
        "SELECT reason FROM rejected FINAL WHERE source_topic = %(t)s ORDER BY reason",
        {"t": settings.topic_transactions},
    )
    assert [r[0] for r in reasons] == ["not_json", "unknown_channel"]
