"""Issue 26 through the real broker: a surge in the last seconds of live traffic, then
nothing, opens its alert, and steady traffic that stops raises none.

Live traffic is stamped when it is sent (as channels send it), after ten minutes of history
the detector learns from. Before issue 26 the surge clock moved only with arriving
evaluations, and such a surge was never judged (no alert after 273 s, issue 26's report).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clickhouse_driver import Client

from channels.simulation import Scenario, Simulator
from runtime.settings import Settings
from schemas.catalogue import synthetic_departments
from streams.topology import changelog_topic
from tests.integration.harness import Service, read_topic, scalar, send_timed, wait_until

RATE = 7.0  # evaluations per second, all departments together
DEPARTMENTS = synthetic_departments(21)
# A department with 4.9 % of the traffic: its surge (3 times that, 60 % bad, 25 s) is about
# 15 bad reviews whatever the simulator draws. DEPARTMENTS[5] (1.6 %) made it 4 to 8, on the
# edge of what the detector may call a surge: the test passed or failed with the draws (it
# failed when the simulator's hall windows changed, issue 28), not with the clock it tests.
SURGING = DEPARTMENTS[2].code

Timed = list[tuple[float, bytes | None, bytes]]


def stream(simulator: Simulator, scenario: Scenario, start: datetime, seconds: float) -> Timed:
    """Evaluations from ``start`` on, each with its own time as its record time."""
    out: Timed = []
    for message in simulator.stream(
        int(seconds * RATE), scenario=scenario, start=start, rate_per_s=RATE, rhythm=False
    ):
        made = datetime.fromisoformat(json.loads(message.value)["evaluated_at"]).timestamp()
        out.append((made, message.key, message.value))
    return out


def surge_watermark(settings: Settings) -> int:
    watermark = 0
    for record in read_topic(settings, changelog_topic(settings.app_id, "surge"), quiet_s=1.0):
        if record.key and record.key.endswith(b"merger") and record.value:
            watermark = max(watermark, int(json.loads(record.value).get("watermark", 0)))
    return watermark


def opened(settings: Settings) -> list[tuple[float, dict[str, object]]]:
    """Opened department alerts with the time Kafka got each."""
    out = []
    for record in read_topic(settings, settings.topic_alerts, quiet_s=1.0):
        alert = json.loads(record.value)
        if alert["dimension"] == "department" and alert["state"] == "opened":
            out.append((record.timestamp / 1000, alert))
    return out


def live_traffic(
    settings: Settings, clickhouse: Client, services: list[Service], surge: bool
) -> Timed:
    """Ten minutes of history at once, then 60 s live, the last 25 s (with ``surge``) with
    one department's reviews 60 % bad at three times its traffic; returns the live part."""
    simulator = Simulator(
        seed=26, departments=DEPARTMENTS, bad_rate=0.01, pii_rate=0.0, followup_rate=0.0
    )
    steady = Scenario("steady")
    now = datetime.now(UTC)
    history = stream(simulator, steady, now - timedelta(minutes=10), 600)
    send_timed(settings, history, live_from=now.timestamp() + 3600, pace=1.0)
    wait_until(
        "the history to land",
        lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") == len(history),
        timeout=180,
        services=services,
    )
    start = datetime.now(UTC) + timedelta(seconds=1)
    last = Scenario(
        "surge",
        surge=True,
        surge_from=0.0,
        surge_department=SURGING,
        surge_bad_share=0.6,
        surge_traffic_factor=3.0,
    )
    live = stream(simulator, steady, start, 35)
    live += stream(simulator, last if surge else steady, start + timedelta(seconds=35), 25)
    send_timed(settings, live, live_from=start.timestamp(), pace=1.0)
    return live


def first_bad_review(live: Timed) -> float:
    return min(
        at
        for at, _, value in live
        if json.loads(value)["department_code"] == SURGING and json.loads(value)["level"] <= 2
    )


def test_a_surge_in_the_last_seconds_of_live_traffic_alerts_once_traffic_stops(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        live = live_traffic(settings, clickhouse, [worker, sink], surge=True)
        first_bad = first_bad_review(live)
        wait_until(
            "the surging department's alert to open",
            lambda: any(a["key"] == SURGING for _, a in opened(settings)),
            timeout=max(5.0, first_bad + 120 - time.time()),
            every=2,
            services=[worker],
        )
    finally:
        worker.stop()
        sink.stop()
    [(at, alert)] = opened(settings)
    assert alert["key"] == SURGING
    assert at - first_bad <= 90, f"opened {at - first_bad:.0f} s after the first bad review"


def test_steady_live_traffic_that_stops_raises_no_alert(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        live = live_traffic(settings, clickhouse, [worker, sink], surge=False)
        last = max(at for at, _, _ in live)
        # the clock passes the last minute sent and its grace: every minute sent is judged
        judged = (int(last) // 60 + 1) * 60 + settings.surge_grace_s
        wait_until(
            "the surge clock to pass the last minute sent",
            lambda: surge_watermark(settings) >= judged,
            timeout=180,
            every=2,
            services=[worker],
        )
    finally:
        worker.stop()
        sink.stop()
    assert opened(settings) == []
