"""Issue 18 through the real broker: surge detection that one wrong clock cannot blind.

Each test sends about 34 minutes of event time with record timestamps (the time Kafka got
each evaluation) 45 minutes in the past: all of it at once up to the end of the surge (the
late surge: up to its start), then the rest ten times faster than live, so that the worker
sees time pass and idle partitions go idle. Every surge must give exactly one alert, in the
minutes it began.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client

from runtime.settings import Settings
from streams.topology import changelog_topic
from tests.integration.harness import (
    Service,
    read_topic,
    scalar,
    send_timed,
    wait_until,
)
from tests.surge_traffic import (
    AFTER_MIN,
    FAST_S,
    STEADY_MIN,
    SURGE_MIN,
    SURGING,
    Message,
    delayed,
    pad,
    surge_start,
    traffic,
)

PACE = 10.0  # the live part runs ten times faster than real time
MINUTES = STEADY_MIN + SURGE_MIN + AFTER_MIN


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # a partition that sent nothing for 5 s of the live part is idle (production: 60 s)
    return {"surge_idle_s": 5}


def begin() -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=45)).replace(second=0, microsecond=0)


def surge_watermark(settings: Settings) -> int:
    """The surge clock the worker last saved (its merger record in the surge table)."""
    watermark = 0
    for record in read_topic(settings, changelog_topic(settings.app_id, "surge"), quiet_s=1.0):
        if record.key and record.key.endswith(b"merger") and record.value:
            watermark = max(watermark, int(json.loads(record.value).get("watermark", 0)))
    return watermark


def made(value: bytes) -> float:
    return datetime.fromisoformat(json.loads(value)["evaluated_at"]).timestamp()


def run(
    settings: Settings,
    clickhouse: Client,
    tmp_path: Path,
    start: datetime,
    messages: list[Message],
    partition_of: Callable[[float], int | None] = lambda at: None,
    live_from_minute: int = STEADY_MIN + SURGE_MIN,
) -> list[dict[str, Any]]:
    """Send (live from ``live_from_minute`` on), wait until every evaluation landed and the
    surge clock passed the last minute sent, and return the alert events the worker wrote."""
    live_from = (start + timedelta(minutes=live_from_minute)).timestamp()
    # the newest time the surge clock can reach: no evaluation moves it past its own time
    last = max(min(at, made(value)) for at, _, value in messages)
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        send_timed(settings, messages, live_from=live_from, pace=PACE, partition_of=partition_of)
        wait_until(
            "every evaluation to land in ClickHouse",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") == len(messages),
            timeout=300,
            services=[worker, sink],
        )
        wait_until(
            "the surge clock to reach the last minute sent",
            lambda: surge_watermark(settings) >= last - 60,
            timeout=180,
            every=2,
            services=[worker],
        )
    finally:
        worker.stop()
        sink.stop()
    return [json.loads(r.value) for r in read_topic(settings, settings.topic_alerts)]


def assert_one_surge_alert(alerts: list[dict[str, Any]], start: datetime) -> dict[str, Any]:
    department = [a for a in alerts if a["dimension"] == "department"]
    assert {a["key"] for a in department} == {SURGING}, department
    assert len({a["alert_id"] for a in department}) == 1, department
    opened = [a for a in department if a["state"] == "opened"]
    assert len(opened) == 1, department
    window_start = datetime.fromisoformat(opened[0]["window_start"])
    assert surge_start(start) <= window_start < surge_start(start) + timedelta(minutes=2)
    return opened[0]


def test_a_pad_four_minutes_fast_while_a_department_surges(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    start = begin()
    messages = traffic(start, surge=True) + pad(start, MINUTES, skew_s=FAST_S)
    alerts = run(settings, clickhouse, tmp_path, start, messages)
    assert_one_surge_alert(alerts, start)
    # accepted, marked, and shown per source in ClickHouse
    (evaluations, ahead, most_ahead) = clickhouse.execute(
        "SELECT sum(evaluations), sum(ahead_over_1min), max(most_ahead_s) "
        "FROM clock_skew_sources WHERE source = 'pad-with-a-wrong-clock'"
    )[0]
    assert evaluations == ahead == len(pad(start, MINUTES)) and most_ahead == FAST_S - 1
    assert scalar(clickhouse, "SELECT count() FROM rejected") == 0


def test_a_pad_ten_minutes_slow_while_a_department_surges(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    start = begin()
    messages = traffic(start, surge=True) + pad(start, MINUTES, skew_s=-600)
    alerts = run(settings, clickhouse, tmp_path, start, messages)
    assert_one_surge_alert(alerts, start)
    behind = scalar(
        clickhouse,
        "SELECT sum(behind_over_1min) FROM clock_skew_sources "
        "WHERE source = 'pad-with-a-wrong-clock'",
    )
    assert behind == len(pad(start, MINUTES))


def test_one_partition_idle_while_the_others_carry_a_surge(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    """Both partitions carry traffic for 10 minutes, then only partition 0, the surge too:
    partition 1 goes idle and stops holding the surge clock back."""
    start = begin()
    cut = (start + timedelta(minutes=10)).timestamp()
    alerts = run(
        settings,
        clickhouse,
        tmp_path,
        start,
        traffic(start, surge=True),
        partition_of=lambda at: None if at < cut else 0,
    )
    assert_one_surge_alert(alerts, start)


def test_a_surge_whose_evaluations_arrive_three_minutes_late(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    """The surging department's evaluations reach Kafka 3 minutes after they were made: its
    minutes are judged before they come (the others' traffic moves the clock), and a second
    look opens the alert. Live from the surge on: sent at once, a worker's batch would hold
    them together with the minutes they belong to."""
    start = begin()
    alerts = run(
        settings,
        clickhouse,
        tmp_path,
        start,
        delayed(traffic(start, surge=True), SURGING, 180),
        live_from_minute=STEADY_MIN,
    )
    opened = assert_one_surge_alert(alerts, start)
    # opened on a second look: after the minute had been judged without them
    assert datetime.fromisoformat(opened["at"]) >= datetime.fromisoformat(
        opened["window_start"]
    ) + timedelta(minutes=3)


def test_steady_traffic_and_the_drifting_pad_raise_no_alert(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    start = begin()
    messages = traffic(start, surge=False) + pad(start, MINUTES, skew_s=FAST_S)
    alerts = run(settings, clickhouse, tmp_path, start, messages)
    assert alerts == [], Counter((a["dimension"], a["key"], a["state"]) for a in alerts)
