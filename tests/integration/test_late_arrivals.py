"""Late arrivals through the real services (issue 13): evaluations that arrive from seconds to
3 days after they were given, a worker killed in the middle and replayed; the day windows
then equal the recount of `ratings` exactly and `haochaping reconcile` finds nothing, while
evaluations beyond the long horizon are in `late_statistics` and nowhere else."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from clickhouse_driver import Client

from channels.simulation import Simulator, message_key
from runtime.settings import Settings
from tests.integration.expected import LANDED_WINDOWS, expected_windows, landed_windows
from tests.integration.harness import HAOCHAPING, Service, env_for, scalar, send, wait_until

NEW_USER = "D-TWO-HOURS-OLD"  # the new user: 600 evaluations, all two hours old
TOO_OLD = "D-BEYOND-HORIZON"  # 35 days old: beyond the 30-day horizon
LATE_BURST = "D-LATE-BURST"  # 200 bad reviews of three hours ago, in two minutes


def day_of_evaluations(now: datetime, count: int, seed: int) -> list[dict[str, Any]]:
    """Evaluations whose arrival delays range from seconds to 3 days, clear of the 1 h
    boundary (a loaded machine takes a minute or two to send them)."""
    simulator, rng = Simulator(seed=seed), Random(seed)
    out = []
    for i in range(count):
        band = i % 4
        delay = (
            rng.uniform(0, 30)  # online: seconds
            if band == 0
            else rng.uniform(60, 45 * 60)  # minutes: still within the short horizon
            if band == 1
            else rng.uniform(1.5 * 3600, 23 * 3600)  # SMS, hotline: hours
            if band == 2
            else rng.uniform(86_400, 3 * 86_400)  # a pad offline for days
        )
        evaluation = simulator.evaluation(now - timedelta(seconds=delay), open_halls=True)
        evaluation["delay_band"] = band  # unknown fields are ignored by the contract
        out.append(evaluation)
    for i in range(600):
        e = simulator.evaluation(now - timedelta(hours=2, seconds=i), open_halls=True)
        out.append(e | {"department_code": NEW_USER, "delay_band": 2})
    for i in range(40):
        e = simulator.evaluation(now - timedelta(days=35, seconds=i), open_halls=True)
        out.append(e | {"department_code": TOO_OLD, "delay_band": 4})
    for i in range(200):
        at = now - timedelta(hours=3, seconds=i * 0.6)
        e = simulator.surge_evaluation(at, open_halls=True)
        out.append(e | {"department_code": LATE_BURST, "delay_band": 2})
    Random(seed).shuffle(out)
    return out


def encoded(evaluations: Iterable[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    return [(message_key(e), json.dumps(e, ensure_ascii=False).encode()) for e in evaluations]


def expected(evaluations: list[dict[str, Any]]) -> dict[Any, list[int]]:
    """Day windows of every evaluation within the long horizon, minute windows of those
    within the short one, computed from the messages alone."""
    counted = [e for e in evaluations if e["delay_band"] != 4]
    on_time = [e for e in evaluations if e["delay_band"] in (0, 1)]
    days = {k: v for k, v in expected_windows(counted).items() if k[2] == "1d"}
    minutes = {k: v for k, v in expected_windows(on_time).items() if k[2] == "1m"}
    return days | minutes


RECOUNT_DIFFERENCES = """
SELECT count() FROM
(
    SELECT dimension, key, toDate(window_start) AS day, total FROM satisfaction
    WHERE window = '1d' AND dimension IN ('department', 'service')
) AS w
ALL FULL OUTER JOIN
(
    SELECT pair.1 AS dimension, pair.2 AS key, toDate(evaluated_at) AS day, count() AS recount
    FROM ratings FINAL
    ARRAY JOIN [('department', department_code), ('service', service_code)] AS pair
    WHERE beyond_horizon = 0
    GROUP BY dimension, key, day
) AS r
USING (dimension, key, day)
WHERE total != recount
"""


def test_late_arrivals_crash_and_replay_reconcile_exactly(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    evaluations = day_of_evaluations(now, 2400, seed=13)
    messages = encoded(evaluations)
    windows = expected(evaluations)
    half = len(messages) // 2
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        send(settings, messages[:half])
        wait_until(
            "the worker to be mid-stream",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings") > 300,
            services=[worker, sink],
        )
        send(settings, messages[half:])
        worker.kill()  # SIGKILL, a crash: it replays from its commits
        worker = Service(settings, "worker", tmp_path / "worker-2.log")
        wait_until(
            "every evaluation and every window to land exactly",
            lambda: (
                scalar(clickhouse, "SELECT count() FROM ratings FINAL") == len(evaluations)
                and landed_windows(clickhouse.execute(LANDED_WINDOWS)) == windows
            ),
            timeout=300,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()

    # the markers say which horizon each evaluation arrived within
    bands = {e["evaluation_id"]: e["delay_band"] for e in evaluations}
    for evaluation_id, late, beyond in clickhouse.execute(
        "SELECT evaluation_id, late, beyond_horizon FROM ratings FINAL"
    ):
        band = bands[evaluation_id]
        assert (late, beyond) == ((0, 0) if band < 2 else (1, 0) if band < 4 else (1, 1)), band

    # the day totals equal the recount exactly, and `haochaping reconcile` agrees
    assert scalar(clickhouse, RECOUNT_DIFFERENCES) == 0
    reconciled = subprocess.run(
        [HAOCHAPING, "reconcile", "--days", "40"],
        env=env_for(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert ": 0 differ, 0 of them inside the 30-day horizon" in reconciled.stdout
    rows = scalar(clickhouse, "SELECT count() FROM reconciliation_daily")
    assert rows >= len({(e["department_code"], e["evaluated_at"][:10]) for e in evaluations})

    # the new user's department: 600 evaluations in its day, none in a minute
    assert clickhouse.execute(
        "SELECT window, sum(total) FROM satisfaction WHERE key = %(k)s GROUP BY window",
        {"k": NEW_USER},
    ) == [("1d", 600)]
    # beyond the long horizon: in ratings and late_statistics, nowhere else
    assert (
        scalar(clickhouse, "SELECT count() FROM satisfaction WHERE key = %(k)s", {"k": TOO_OLD})
        == 0
    )
    for view in ("satisfaction_daily", "satisfaction_monthly", "reconciliation_daily"):
        assert (
            scalar(clickhouse, f"SELECT count() FROM {view} WHERE key = %(k)s", {"k": TOO_OLD}) == 0
        )
    assert scalar(clickhouse, "SELECT sum(beyond_horizon_evaluations) FROM late_statistics") == 40
    assert scalar(clickhouse, "SELECT sum(late_evaluations) FROM late_statistics") == sum(
        1 for band in bands.values() if band >= 2
    )
    # a late burst of bad reviews from three hours ago opens no alert: it is reported late
    assert (
        scalar(clickhouse, "SELECT count() FROM alerts WHERE key = %(k)s", {"k": LATE_BURST}) == 0
    )
    assert (
        scalar(
            clickhouse,
            "SELECT countIf(late = 1) FROM ratings FINAL WHERE department_code = %(k)s",
            {"k": LATE_BURST},
        )
        == 200
    )
    worker_log = (tmp_path / "worker-2.log").read_text(errors="replace")
    assert "Traceback" not in worker_log, worker_log[-3000:]
