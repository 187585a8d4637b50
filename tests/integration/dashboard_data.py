"""Demo-like data for the dashboard's tests, landed in a test's ClickHouse database the way the
sink lands it: the simulator's traffic (one department surging) goes through the worker's own
steps in memory (streams/testing.py), and every record they write becomes rows through the
sink's registry (sinks/landings.py). Minutes of traffic take seconds instead of the minutes a
real worker and sink would need, and the rows are the same."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from clickhouse_driver import Client

from channels.simulation import Simulator
from runtime.settings import Settings
from sinks.landings import LANDINGS
from streams.testing import InMemoryPipeline


@dataclass
class Landed:
    surge_department: str
    overdue_case: str  # a bad review from days ago that nobody called back
    overdue_department: str
    evaluations: int


def land_demo(
    client: Client,
    settings: Settings,
    *,
    count: int = 12_000,
    minutes: int = 40,
    history: int = 6_000,
    seed: int = 7,
    now: datetime | None = None,
) -> Landed:
    """``count`` evaluations over the last ``minutes`` minutes (the demo's mixed scenario:
    a surge halfway, duplicates, malformed messages) after ``history`` steady ones over the
    week before (the trends and sparklines have days to show), plus one bad review evaluated
    five days ago whose case is left open, so that the worker warns it is overdue. The data
    ends at ``now`` (the wall clock if None)."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=minutes)
    simulator = Simulator(seed)
    surge = simulator.default_surge_department
    pipeline = InMemoryPipeline(settings)
    by_minute: dict[int, list[tuple[bytes | None, bytes]]] = defaultdict(list)
    week = timedelta(days=7)
    # one simulator for both: its transaction numbers go on, so none is sent twice
    for message in simulator.stream(
        history,
        scenario="steady",
        start=start - week,
        rate_per_s=history / (week.total_seconds() - 60),
        rhythm=False,
    ):
        by_minute[int(message.at.timestamp() // 60)].append((message.key, message.value))
    for message in simulator.stream(
        count, scenario="mixed", start=start, rate_per_s=count / (minutes * 60), rhythm=False
    ):
        by_minute[int(message.at.timestamp() // 60)].append((message.key, message.value))
    sent_at = now - timedelta(days=5)
    overdue = _old_bad_review(surge.code, sent_at)
    by_minute[int(sent_at.timestamp() // 60)].append(
        (overdue["evaluation_id"].encode(), json.dumps(overdue).encode())
    )
    for minute in sorted(by_minute):
        pipeline.send_raw(by_minute[minute], at=minute * 60 + 59)
        pipeline.run()
    # a last minute of nothing but time: the surge's last minutes are judged and closed
    pipeline.send_raw([], at=now.timestamp() + 120)
    pipeline.run()
    for landing in LANDINGS:
        if landing.table == "satisfaction_partials":
            # the window table's changelog is satisfaction.windows: its newest record per
            # key is the table's value (a compacted topic)
            values = [json.dumps(v).encode() for v in pipeline.states.windows.values()]
        else:
            records = pipeline.log(landing.topic(settings)).records()
            values = [r.value for r in records if r.value is not None]
        rows = [row for value in values for row in landing.rows(value)]
        if rows:
            client.execute(
                f"INSERT INTO {landing.table} ({', '.join(landing.columns)}) VALUES", rows
            )
    landed = client.execute("SELECT count() FROM ratings FINAL")[0][0]
    return Landed(surge.code, overdue["evaluation_id"], surge.code, int(landed))


def _old_bad_review(department: str, at: datetime) -> dict[str, Any]:
    simulator = Simulator(99)
    dept = simulator.department(department)
    service = dept.services[0]
    return {
        "evaluation_id": "overdue-case-0001",
        "transaction_id": "overdue-txn-0001",
        "service_code": service.code,
        "service_name": service.name,
        "department_code": dept.code,
        "department_name": dept.name,
        "region_code": "310101",
        "channel": "web",
        "level": 1,
        "tags": ["115"],
        "comment": "五天前投诉，至今没有人回访",
        "evaluated_at": at.isoformat(),
    }
