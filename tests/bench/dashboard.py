"""`make bench` (part): the dashboard's endpoints on a large ClickHouse database.

Fills the users' test database `haochaping_userstest` (and its `_public` twin) with
BENCH_DASHBOARD_EVALUATIONS (5,000,000) evaluations over the last 30 days, generated inside
ClickHouse (INSERT … SELECT from system.numbers: a minute, not an hour of Python), with the
worker's window counts over four source partitions, a case per bad review, deadline warnings
and a few alerts. Then serves the dashboard with the project's real users (the analyst, the
public page as the evaluator) and its cache off, and times every JSON endpoint: one warm-up,
then BENCH_DASHBOARD_REQUESTS requests each, p50 and p95 (BENCH_DASHBOARD_ONLY: only the
endpoints whose path contains it). Drops both databases at the end (BENCH_DASHBOARD_KEEP=1:
keeps them).

    .venv/bin/python -m tests.bench.dashboard
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import urllib.request
from typing import Any

import uvicorn

from dashboard.app import create_app
from runtime.settings import Settings
from sinks import migrate
from sinks.clickhouse import connect
from tests.integration.harness import secret

DATABASE = "haochaping_userstest"
EVALUATIONS = int(os.environ.get("BENCH_DASHBOARD_EVALUATIONS", "5000000"))
REQUESTS = int(os.environ.get("BENCH_DASHBOARD_REQUESTS", "20"))
# only the endpoints whose path contains this (all when empty), e.g. "/api/followup"
ONLY = os.environ.get("BENCH_DASHBOARD_ONLY", "")
DAYS = 30
DEPARTMENTS = 40
SERVICES = 400
HALLS = 60

# One evaluation per number: department, service (10 per department), channel, hall (counters
# only), level (about 3 % bad, more in department 0), spread evenly over the last 30 days.
RATINGS = f"""
INSERT INTO ratings
SELECT
    concat('e', toString(number)) AS evaluation_id,
    concat('t', toString(number)) AS transaction_id,
    1 AS evaluation_round,
    concat('S', toString(number % {SERVICES})) AS service_code,
    concat('事项', toString(number % {SERVICES})) AS service_name,
    concat('D', toString(number % {SERVICES} % {DEPARTMENTS})) AS department_code,
    concat('部门', toString(number % {SERVICES} % {DEPARTMENTS})) AS department_name,
    '310101' AS region_code,
    ['web', 'app', 'qrcode', 'counter', 'kiosk', 'hotline', 'sms'][number % 7 + 1] AS channel,
    toUInt8(number % 7 + 1) AS channel_code,
    toUInt8(if(cityHash64(number) % 100 < if(number % {SERVICES} % {DEPARTMENTS} = 0, 12, 3),
               1 + cityHash64(number) % 2, 3 + cityHash64(number) % 3)) AS level,
    if(level <= 2, ['115'], emptyArrayString()) AS tags,
    if(level <= 2 AND number % 3 = 0, '排队时间太长，办理很慢', '') AS comment,
    0, 0, 0, 0, 0, 0,
    'h' AS evaluator_hash,
    toUInt8(1) AS evaluator_type,
    '' AS device_hash,
    '' AS network_hash,
    if(channel = 'counter', concat('H', toString(number % {HALLS})), '') AS hall_code,
    '' AS window_code,
    '' AS staff_id,
    toDateTime(toUInt32(now()) - {DAYS} * 86400 + intDiv(number * {DAYS} * 86400, {{n}}),
               'Asia/Shanghai') AS evaluated_at,
    evaluated_at AS ingested_at,
    toUInt8(0) AS late,
    toUInt8(0) AS beyond_horizon,
    'bench' AS source
FROM system.numbers
LIMIT {{n}}
"""

# The worker's window counts of those evaluations, per dimension, key, window, start and
# source partition (number % 4).
PARTIALS = """
INSERT INTO satisfaction_partials
SELECT dimension, key, window, window_start,
       toDateTime(toUInt32(window_start) + if(window = '1m', 60, 86400), 'Asia/Shanghai'),
       partition, toUInt64(max(offset)),
       countIf(level = 1), countIf(level = 2), countIf(level = 3), countIf(level = 4),
       countIf(level = 5)
FROM
(
    SELECT pair.1 AS dimension, pair.2 AS key,
           -- two arrayJoin()s make every pair with every window (one ARRAY JOIN zips them)
           arrayJoin(['1m', '1d']) AS window,
           if(window = '1m', toStartOfMinute(evaluated_at), toDateTime(toDate(evaluated_at),
              'Asia/Shanghai')) AS window_start,
           toUInt16(toUInt64(substring(evaluation_id, 2)) % 4) AS partition,
           toUInt64(substring(evaluation_id, 2)) AS offset,
           level,
           arrayJoin([('department', department_code), ('service', service_code),
                      ('channel', channel), ('region', region_code), ('hall', hall_code)]) AS pair
    FROM ratings
    WHERE pair.2 != ''
)
GROUP BY dimension, key, window, window_start, partition
"""

CASES = """
INSERT INTO case_events
SELECT evaluation_id, 'opened', evaluated_at, department_code, 'worker', service_code, level,
       evaluated_at, toDateTime(toUInt32(evaluated_at) + 86400, 'Asia/Shanghai'),
       toDateTime(toUInt32(evaluated_at) + 15 * 86400, 'Asia/Shanghai')
FROM ratings WHERE level <= 2
"""
CALLED_BACK = """
INSERT INTO case_events
SELECT evaluation_id, 'called_back', toDateTime(toUInt32(evaluated_at) + 3600, 'Asia/Shanghai'),
       department_code, 'dept', '', 0, toDateTime(0), toDateTime(0), toDateTime(0)
FROM ratings WHERE level <= 2 AND cityHash64(evaluation_id) % 10 < 8
"""
WARNINGS = """
INSERT INTO case_warnings
SELECT evaluation_id, 'callback', 'overdue',
       toDateTime(toUInt32(evaluated_at) + 86400, 'Asia/Shanghai'),
       toDateTime(toUInt32(evaluated_at) + 86400, 'Asia/Shanghai'), department_code
FROM ratings
WHERE level <= 2 AND cityHash64(evaluation_id) % 10 >= 8 AND evaluated_at < now() - 86400
"""
ALERTS = """
INSERT INTO alerts
SELECT concat('department:D0:', toString(number)), 'department', 'D0',
       'opened', 12, 40, 1.2, 15.0,
       toDateTime(toUInt32(now()) - number * 86400, 'Asia/Shanghai'),
       toDateTime(toUInt32(now()) - number * 86400 + 60, 'Asia/Shanghai'),
       toDateTime(toUInt32(now()) - number * 86400 + 90, 'Asia/Shanghai'),
       '{"top_services": [{"code": "S0", "count": 8}], "sample_comments": ["排队时间太长"]}'
FROM system.numbers LIMIT 20
"""

ENDPOINTS = (
    "/api/overview?range=today",
    "/api/overview?range=7d",
    "/api/overview?range=30d",
    "/api/rankings?range=30d&dimension=department",
    "/api/rankings?range=30d&dimension=service",
    "/api/rankings?range=30d&dimension=hall",
    "/api/rankings?range=today&dimension=service",
    "/api/departments/D0?range=30d",
    "/api/departments/D7?range=today",
    "/api/alerts?range=30d",
    "/api/followup?range=30d",
    "/api/public?range=30d",
    "/rankings?range=30d&dimension=department",
)


def fill(settings: Settings) -> dict[str, Any]:
    root = connect(settings, database="default")
    root.connection.send_receive_timeout = 1800
    for name in (f"{DATABASE}_public", DATABASE):
        root.execute(f"DROP DATABASE IF EXISTS {name}")
    root.execute(f"CREATE DATABASE {DATABASE}")
    client = connect(settings)
    client.connection.send_receive_timeout = 1800
    migrate.apply(client.execute)
    migrate.apply_public(client.execute, DATABASE)
    took = {}
    for name, sql in (
        ("ratings", RATINGS.format(n=EVALUATIONS)),
        ("satisfaction_partials", PARTIALS),
        ("case_events", CASES),
        ("called_back", CALLED_BACK),
        ("case_warnings", WARNINGS),
        ("alerts", ALERTS),
    ):
        started = time.monotonic()
        client.execute(sql, settings={"max_memory_usage": 8_000_000_000})
        took[name] = round(time.monotonic() - started, 1)
    counts = {
        table: client.execute(f"SELECT count() FROM {table}")[0][0]
        for table in ("ratings", "satisfaction_partials", "case_events", "case_warnings")
    }
    return {"seconds": took, "rows": counts}


def main() -> None:
    settings = Settings(
        clickhouse_database=DATABASE,
        clickhouse_user="default",
        clickhouse_password=secret("CLICKHOUSE_ADMIN_PASSWORD"),
        clickhouse_analyst_user="haochaping_analyst",
        clickhouse_analyst_password=secret("HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD"),
        clickhouse_public_user="haochaping_evaluator",
        clickhouse_public_password=secret("CLICKHOUSE_EVALUATOR_PASSWORD"),
        dashboard_cache_s=0,
        # the bench measures the queries behind the pages, not the sign-in (one local client)
        dashboard_open_pages=True,
        dashboard_public_per_minute=100_000,  # one client times the public endpoint too
    )
    print(f"dashboard bench: filling {DATABASE} with {EVALUATIONS:,} evaluations ...", flush=True)
    print(fill(settings), flush=True)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    print(f"{'endpoint':<48} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    try:
        for path in (p for p in ENDPOINTS if ONLY in p):
            times = []
            for i in range(REQUESTS + 1):
                started = time.perf_counter()
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as r:
                    r.read()
                    assert r.status == 200, (path, r.status)
                if i:  # the first one warms jieba and the server's caches of parts
                    times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[max(0, round(0.95 * len(times)) - 1)]
            print(
                f"{path:<48} {statistics.median(times):>8.0f} {p95:>8.0f} {times[-1]:>8.0f}",
                flush=True,
            )
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        if os.environ.get("BENCH_DASHBOARD_KEEP") != "1":
            root = connect(settings, database="default")
            for name in (f"{DATABASE}_public", DATABASE):
                root.execute(f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    main()
