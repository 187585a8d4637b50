"""The dashboard's JSON endpoints against a dataset with known answers in the real ClickHouse
18.16 (Starlette's TestClient; nothing mocked). The window counts are landed as the sink lands
them: split over two source partitions, with an older version of a window that must not
count. The public page and the read-only logins run against the users' own test databases
with the project's real users (analyst, evaluator)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException
from starlette.testclient import TestClient

from dashboard.app import clickhouse_executes, create_app
from runtime.clock import CHINA
from runtime.settings import Settings
from sinks import migrate
from sinks.rows import (
    ALERTS_COLUMNS,
    CASE_EVENTS_COLUMNS,
    CASE_WARNINGS_COLUMNS,
    NO_ACTION,
    PARTIALS_COLUMNS,
    RATINGS_COLUMNS,
)
from tests.integration.harness import scalar, secret
from tests.signin import sign_in

DEPT_A, DEPT_B = "D-A", "D-B"
SERVICES = {"S-A1": DEPT_A, "S-A2": DEPT_A, "S-B1": DEPT_B}
HALL = "310101-H01"
NOW = int(datetime.now(UTC).timestamp())
TODAY = int(datetime.now(CHINA).replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
# today's evaluations: halfway between midnight and now, on a whole minute
T0 = TODAY + (NOW - TODAY) // 2 // 60 * 60
T3 = TODAY - 3 * 86_400 + 10 * 3600  # three days ago, 10:00
T10 = TODAY - 10 * 86_400 + 10 * 3600  # in the 7 days before the last 7


@dataclass(frozen=True)
class Ev:
    at: int
    service: str
    channel: str
    level: int
    hall: str = ""

    @property
    def department(self) -> str:
        return SERVICES[self.service]


def evaluations() -> list[Ev]:
    def many(n: int, at: int, service: str, channel: str, level: int, hall: str = "") -> list[Ev]:
        return [Ev(at, service, channel, level, hall) for _ in range(n)]

    return [
        *many(30, T0, "S-A1", "web", 5),
        *many(10, T0, "S-A1", "web", 1),
        *many(20, T0, "S-A2", "counter", 4, HALL),
        *many(5, T0, "S-A2", "counter", 2, HALL),
        *many(50, T0, "S-B1", "web", 5),
        *many(10, T0, "S-B1", "web", 3),
        *many(20, T3, "S-B1", "counter", 5, HALL),
        *many(20, T3, "S-B1", "counter", 1, HALL),
        *many(10, T10, "S-A1", "web", 5),
    ]


def day_start(epoch: int) -> int:
    return epoch - (epoch + 8 * 3600) % 86_400


def partial_rows(evs: list[Ev]) -> list[tuple[Any, ...]]:
    """The sink's rows of the worker's windows: per dimension, key, window, start and source
    partition (evaluation i came from partition i % 2), versioned by the last offset."""
    windows: dict[tuple[Any, ...], list[int]] = {}
    for i, ev in enumerate(evs):
        keys = {"department": ev.department, "service": ev.service, "channel": ev.channel}
        if ev.hall:
            keys["hall"] = ev.hall
        for window, start, width in (
            ("1m", ev.at // 60 * 60, 60),
            ("1d", day_start(ev.at), 86_400),
        ):
            for dimension, key in keys.items():
                entry = windows.setdefault(
                    (dimension, key, window, start, start + width, i % 2), [0, 0, 0, 0, 0, 0]
                )
                entry[0] = i  # version: the offset of the last evaluation counted
                entry[ev.level] += 1
    rows = []
    for (dimension, key, window, start, end, partition), (version, *levels) in windows.items():
        values = {
            "dimension": dimension,
            "key": key,
            "window": window,
            "window_start": datetime.fromtimestamp(start, UTC),
            "window_end": datetime.fromtimestamp(end, UTC),
            "source_partition": partition,
            "version": version,
            **{f"level_{n}": levels[n - 1] for n in range(1, 6)},
        }
        rows.append(tuple(values[c] for c in PARTIALS_COLUMNS))
    return rows


def rating_rows(evs: list[Ev]) -> list[tuple[Any, ...]]:
    rows = []
    for i, ev in enumerate(evs):
        at = datetime.fromtimestamp(ev.at, UTC)
        values: dict[str, Any] = {
            "evaluation_id": f"ev{i:04d}",
            "transaction_id": f"tx{i:04d}",
            "evaluation_round": 1,
            "service_code": ev.service,
            "service_name": {"S-A1": "护照办理", "S-A2": "户籍迁移", "S-B1": "异地就医备案"}[
                ev.service
            ],
            "department_code": ev.department,
            "department_name": "甲局" if ev.department == DEPT_A else "乙局",
            "region_code": "310101",
            "channel": ev.channel,
            "channel_code": 1,
            "level": ev.level,
            "tags": ["115"] if ev.level == 1 else ["214"] if ev.level == 2 else [],
            "comment": "排队时间太长" if ev.level <= 2 else "",
            "evaluator_hash": "h",
            "device_hash": "",
            "network_hash": "",
            "staff_id": "S001",
            "window_code": "",
            "hall_code": ev.hall,
            "evaluated_at": at,
            "ingested_at": at + timedelta(seconds=1),
            "source": "test",
        }
        rows.append(tuple(values.get(c, 0) for c in RATINGS_COLUMNS))
    return rows


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def alert_rows() -> list[tuple[Any, ...]]:
    explanation = json.dumps(
        {
            "top_services": [{"code": "S-A1", "count": 8}],
            "top_channels": [{"code": "web", "count": 8}],
            "top_halls": [],
            "top_windows": [],
            "top_tags": [{"code": "115", "count": 8}],
            "sample_comments": ["排队时间太长"],
        },
        ensure_ascii=False,
    )
    a = f"department:{DEPT_A}:{T0}"
    b = f"department:{DEPT_B}:{T3}"
    rows = [
        (a, "department", DEPT_A, "opened", 8, 30, 0.5, 12.0, T0, T0 + 60, T0 + 90, explanation),
        (a, "department", DEPT_A, "updated", 10, 40, 0.6, 15.5, T0, T0 + 60, T0 + 95, explanation),
        (b, "department", DEPT_B, "opened", 20, 40, 1.0, 20.0, T3, T3 + 60, T3 + 90, "{}"),
        (b, "department", DEPT_B, "resolved", 0, 1, 0.1, 0.0, T3, T3 + 60, T3 + 400, "{}"),
    ]
    return [
        (*r[:8], utc(r[8]), utc(r[9]), utc(r[10]), r[11])
        for r in rows  # type: ignore[misc]
    ]


def case_rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """c1 (B) never called back: overdue. c2 (B) called back and rectified on time. c3 (A)
    opened today, call-back due in two hours: due soon. c4 (B) warned overdue, then called
    back late: no longer owes anything, but not on time."""

    def opened(case: str, dept: str, at: int, callback: int, rectify: int) -> tuple[Any, ...]:
        values = {
            "case_id": case,
            "event": "opened",
            "at": utc(at),
            "department_code": dept,
            "actor": "worker",
            "service_code": "S-B1" if dept == DEPT_B else "S-A1",
            "level": 1,
            "evaluated_at": utc(at),
            "callback_due_at": utc(callback),
            "rectification_due_at": utc(rectify),
        }
        return tuple({**NO_ACTION, **values}[c] for c in CASE_EVENTS_COLUMNS)

    def step(case: str, event: str, dept: str, at: int) -> tuple[Any, ...]:
        values = {
            "case_id": case,
            "event": event,
            "at": utc(at),
            "department_code": dept,
            "actor": "dept",
            "service_code": "",
            "level": 0,
            "evaluated_at": utc(0),
            "callback_due_at": utc(0),
            "rectification_due_at": utc(0),
        }
        return tuple({**NO_ACTION, **values}[c] for c in CASE_EVENTS_COLUMNS)

    day = 86_400
    events = [
        opened("c1", DEPT_B, T3, T3 + day, T3 + 20 * day),
        opened("c2", DEPT_B, T3, T3 + day, T3 + 20 * day),
        step("c2", "called_back", DEPT_B, T3 + 3600),
        step("c2", "rectified", DEPT_B, T3 + 7200),
        opened("c3", DEPT_A, T0, NOW + 7200, NOW + 20 * day),
        opened("c4", DEPT_B, T3, T3 + day, T3 + 20 * day),
        step("c4", "called_back", DEPT_B, T3 + 2 * day),
    ]
    warnings = [
        ("c1", "callback", "due_soon", utc(T3 + day), utc(T3 + day - 7200), DEPT_B),
        ("c1", "callback", "overdue", utc(T3 + day), utc(T3 + day), DEPT_B),
        ("c3", "callback", "due_soon", utc(NOW + 7200), utc(NOW), DEPT_A),
        ("c4", "callback", "overdue", utc(T3 + day), utc(T3 + day), DEPT_B),
    ]
    return events, warnings


def insert(client: Client, table: str, columns: tuple[str, ...], rows: list[Any]) -> None:
    client.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", rows)


def load(client: Client) -> None:
    evs = evaluations()
    partials = partial_rows(evs)
    # an older version of a window, landed before: FINAL keeps the newer one
    stale = [(*r[:6], 0, 999, 0, 0, 0, 0) for r in partials[:5]]
    insert(client, "satisfaction_partials", PARTIALS_COLUMNS, stale)
    insert(client, "satisfaction_partials", PARTIALS_COLUMNS, partials)
    insert(client, "ratings", RATINGS_COLUMNS, rating_rows(evs))
    insert(client, "alerts", ALERTS_COLUMNS, alert_rows())
    events, warnings = case_rows()
    insert(client, "case_events", CASE_EVENTS_COLUMNS, events)
    # a replay of every case event (the follow-up state's materialized view runs twice)
    insert(client, "case_events", CASE_EVENTS_COLUMNS, events)
    insert(client, "case_warnings", CASE_WARNINGS_COLUMNS, warnings)


@pytest.fixture
def api(clickhouse: Client, settings: Settings, tmp_path: Path) -> TestClient:
    load(clickhouse)
    settings = signing_in(settings, tmp_path)
    from sinks.clickhouse import connect

    client = connect(settings, analyst=True)

    def execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return list(client.execute(sql, params))

    # the test database is the administrator's (harness.admin_login); the public page is
    # tested on the evaluator's own database below
    app = create_app(settings, analyst=execute, public=execute, now=lambda: NOW)
    return sign_in(TestClient(app), settings)


def signing_in(settings: Settings, tmp_path: Path) -> Settings:
    """The office's pages need a session: a users file, and the TestClient's host allowed."""
    update = {"users_file": str(tmp_path / "users.json"), "dashboard_allowed_hosts": ["testserver"]}
    return settings.model_copy(update=update)


def get(api: TestClient, path: str) -> dict[str, Any]:
    response = api.get(path)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_overview_today_and_seven_days(api: TestClient) -> None:
    today = get(api, "/api/overview?range=today")
    assert today["range"]["step"] == "hour"
    assert {k: v["value"] for k, v in today["kpis"].items()} == {
        "evaluations": 125,
        "good_rate": round(110 / 125, 4),
        "bad_rate": round(15 / 125, 4),
        "bad_reviews": 15,
    }
    assert today["kpis"]["evaluations"]["previous"] == 0
    hour = datetime.fromtimestamp(T0, CHINA).strftime("%H:00")
    trend = dict(zip(today["trend"]["labels"], today["trend"]["evaluations"], strict=True))
    assert trend[hour] == 125 and sum(trend.values()) == 125
    channels = {
        c["code"]: (c["evaluations"], c["bad_reviews"], c["share"]) for c in today["channels"]
    }
    assert channels == {"web": (100, 10, 0.8), "counter": (25, 5, 0.2)}
    assert [a["key"] for a in today["alerts"]] == [DEPT_A]

    week = get(api, "/api/overview?range=7d")
    kpis = week["kpis"]
    assert kpis["evaluations"] == {"value": 165, "previous": 10, "change": 15.5}
    assert kpis["bad_reviews"]["value"] == 35 and kpis["bad_reviews"]["previous"] == 0
    assert kpis["good_rate"]["value"] == round(130 / 165, 4)
    assert kpis["good_rate"]["change"] == round(round(130 / 165, 4) - 1.0, 4)
    assert len(week["trend"]["labels"]) == 7
    assert week["trend"]["evaluations"][-1] == 125 and week["trend"]["evaluations"][-4] == 40


def test_rankings_least_satisfied_first_with_minimum_volume_and_sparklines(
    api: TestClient,
) -> None:
    week = get(api, "/api/rankings?range=7d&dimension=department")
    assert [
        (r["code"], r["evaluations"], r["bad_reviews"], r["good_rate"]) for r in week["rows"]
    ] == [
        (DEPT_A, 65, 15, round(50 / 65, 4)),
        (DEPT_B, 100, 20, 0.8),
    ]
    assert week["rows"][0]["name"] == "甲局"
    assert week["rows"][0]["trend"] == [None] * 6 + [round(50 / 65, 4)]
    assert week["rows"][1]["trend"][3] == 0.5  # three days ago: 20 of 40 good
    only_b = get(api, "/api/rankings?range=7d&dimension=department&min_total=70")
    assert [r["code"] for r in only_b["rows"]] == [DEPT_B]
    by_volume = get(api, "/api/rankings?range=7d&dimension=department&sort=evaluations")
    assert [r["code"] for r in by_volume["rows"]] == [DEPT_B, DEPT_A]
    ascending = get(api, "/api/rankings?range=7d&dimension=department&sort=evaluations&order=asc")
    assert [r["code"] for r in ascending["rows"]] == [DEPT_A, DEPT_B]

    services = get(api, "/api/rankings?range=today&dimension=service")
    assert [(r["code"], r["evaluations"], r["good_rate"]) for r in services["rows"]] == [
        ("S-A1", 40, 0.75),
        ("S-A2", 25, 0.8),
        ("S-B1", 60, 1.0),
    ]
    assert services["rows"][0]["name"] == "护照办理"
    halls = get(api, "/api/rankings?range=7d&dimension=hall")
    assert [(r["code"], r["evaluations"], r["bad_reviews"]) for r in halls["rows"]] == [
        (HALL, 65, 25)
    ]


def test_department_page(api: TestClient) -> None:
    page = get(api, f"/api/departments/{DEPT_A}?range=today")
    assert page["name"] == "甲局"
    assert page["totals"]["evaluations"] == 65 and page["totals"]["bad_reviews"] == 15
    assert [(s["code"], s["evaluations"], s["bad_reviews"]) for s in page["services"]] == [
        ("S-A1", 40, 10),
        ("S-A2", 25, 5),
    ]
    assert [(h["code"], h["evaluations"]) for h in page["halls"]] == [(HALL, 25)]
    assert {c["code"]: c["evaluations"] for c in page["channels"]} == {"web": 40, "counter": 25}
    assert [(t["code"], t["bad_reviews"]) for t in page["tags"]] == [("115", 10), ("214", 5)]
    assert len(page["recent_bad"]) == 15
    assert {r["comment"] for r in page["recent_bad"]} == {"排队时间太长"}
    # scrubbed text only: no evaluator pseudonym, no staff id
    assert "h" not in {v for r in page["recent_bad"] for v in r.values() if isinstance(v, str)}
    assert not any("S001" in json.dumps(r) for r in page["recent_bad"])
    assert [a["key"] for a in page["alerts"]] == [DEPT_A]
    assert page["alerts"][0]["peak_bad"] == 10
    assert [(c["department"], c["bad_reviews"], c["callback_rate"]) for c in page["cases"]] == [
        (DEPT_A, 1, 0.0)
    ]
    assert [(d["case_id"], d["status"]) for d in page["deadlines"]] == [("c3", "due_soon")]


def test_alerts_page(api: TestClient) -> None:
    page = get(api, "/api/alerts?range=7d")
    alerts = {a["key"]: a for a in page["alerts"]}
    assert set(alerts) == {DEPT_A, DEPT_B}
    a = alerts[DEPT_A]
    assert (a["status"], a["peak_bad"], a["peak_total"], a["expected"]) == ("open", 10, 40, 0.6)
    assert a["explanation"]["services"] == [{"code": "S-A1", "name": "护照办理", "count": 8}]
    assert a["explanation"]["tags"][0]["name"] == "服务态度差效率低"
    assert a["explanation"]["comments"] == ["排队时间太长"]
    assert [(e["state"], e["bad"], e["expected"]) for e in a["events"]] == [
        ("opened", 8, 0.5),
        ("updated", 10, 0.6),
    ]
    onset = a["onset"]
    at = datetime.fromtimestamp(T0, CHINA).strftime("%H:%M")
    minute = onset["labels"].index(at)
    assert onset["bad_reviews"][minute] == 15 and onset["evaluations"][minute] == 125 - 60
    assert alerts[DEPT_B]["status"] == "resolved"
    # every alert's minutes come from one statement: each gets its own key's and range's
    onset = alerts[DEPT_B]["onset"]
    minute = onset["labels"].index(datetime.fromtimestamp(T3, CHINA).strftime("%H:%M"))
    assert (onset["bad_reviews"][minute], onset["evaluations"][minute]) == (20, 40)
    assert sum(onset["evaluations"]) == 40
    assert get(api, "/api/alerts?range=today")["alerts"][0]["key"] == DEPT_A


def test_followup_page(api: TestClient) -> None:
    page = get(api, "/api/followup?range=7d")
    assert [(c["case_id"], c["department"], c["deadline"]) for c in page["overdue"]] == [
        ("c1", DEPT_B, "callback")
    ]
    assert page["overdue"][0]["hours_late"] == round((NOW - (T3 + 86_400)) / 3600, 1)
    assert [c["case_id"] for c in page["due_soon"]] == ["c3"]
    assert [(d["department"], d["overdue"], d["due_soon"]) for d in page["departments"]] == [
        (DEPT_B, 1, 0),
        (DEPT_A, 0, 1),
    ]
    indicators = {r["department"]: r for r in page["indicators"]}
    assert [r["department"] for r in page["indicators"]] == [DEPT_A, DEPT_B]
    b = indicators[DEPT_B]
    assert (b["bad_reviews"], b["called_back"], b["rectified"], b["rectified_on_time"]) == (
        3,
        2,
        1,
        1,
    )
    assert (b["callback_rate"], b["rectification_rate"], b["on_time_rectification_rate"]) == (
        round(2 / 3, 4),
        round(1 / 3, 4),
        round(1 / 3, 4),
    )


def test_bad_parameters_are_readable_400s(api: TestClient) -> None:
    for path, words in (
        ("/api/departments/NOPE?range=7d", "未知的部门 NOPE"),
        ("/api/overview?range=yesterday", "range='yesterday'"),
        ("/api/overview?range=month&month=2024-13", "month='2024-13'"),
        ("/api/overview?range=month&month=2999-01", "2999-01"),
        ("/api/rankings?min_total=0", "min_total='0'"),
        ("/api/rankings?min_total=-5", "min_total='-5'"),
        ("/api/rankings?min_total=%C2%B2", "min_total='²'"),  # str.isdigit() takes it
        ("/api/rankings?min_total=%D9%A1%D9%A2", "min_total='١٢'"),  # int() reads it as 12
        ("/api/overview?range=month&month=%D9%A2%D9%A0%D9%A2%D9%A6-%D9%A1%D9%A1", "month="),
        ("/api/rankings?dimension=region", "dimension='region'"),
        ("/api/rankings?sort=evaluator_hash", "sort='evaluator_hash'"),
        ("/api/rankings?order=sideways", "order='sideways'"),
        ("/api/departments/a%27%20OR%201=1", "部门编码"),
        ("/csv/overview/ratings", "没有这张表"),
    ):
        response = api.get(path)
        assert response.status_code == 400, (path, response.text)
        assert words in response.json()["error"], (path, response.json())
    page = api.get("/rankings?range=yesterday")
    assert page.status_code == 400 and "range=&#39;yesterday&#39;" in page.text
    assert api.get("/no/such/page").status_code == 404


def test_no_endpoint_writes(api: TestClient) -> None:
    for path in ("/", "/api/overview", "/rankings", "/csv/rankings/rows", "/followup"):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert api.request(method, path).status_code == 405, (method, path)


def test_csv_export_is_utf8_with_bom(api: TestClient) -> None:
    response = api.get("/csv/rankings/rows?range=7d&dimension=department")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff编码,名称,评价量,好评率,差评率,差评,平均等级,评价率,好评率走势")
    lines = body.strip().splitlines()
    assert len(lines) == 3 and lines[1].startswith(f"{DEPT_A},甲局,65,76.92%,23.08%,15,")
    department = api.get(f"/csv/department/services/{DEPT_A}?range=today")
    assert department.status_code == 200 and "护照办理" in department.text


def test_pages_render_with_their_filters_in_links(api: TestClient) -> None:
    page = api.get("/rankings?range=7d&dimension=department&min_total=30")
    assert page.status_code == 200
    assert f'href="/departments/{DEPT_A}?range=7d"' in page.text
    assert "/csv/rankings/rows?range=7d&amp;dimension=department&amp;min_total=30" in page.text
    assert '<meta http-equiv="refresh" content="30">' in page.text
    for path in ("/", "/alerts?range=7d", "/followup", f"/departments/{DEPT_A}"):
        assert api.get(path).status_code == 200, path


# ---- the project's real users, on the databases their users file names for tests ------

DATABASE = "haochaping_userstest"


@pytest.fixture
def real_users(tmp_path: Path) -> Iterator[Settings]:
    settings = Settings(
        clickhouse_database=DATABASE,
        clickhouse_user="default",
        clickhouse_password=secret("CLICKHOUSE_ADMIN_PASSWORD"),
        clickhouse_analyst_user="haochaping_analyst",
        clickhouse_analyst_password=secret("HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD"),
        clickhouse_public_user="haochaping_evaluator",
        clickhouse_public_password=secret("CLICKHOUSE_EVALUATOR_PASSWORD"),
        dashboard_cache_s=0,
    )
    from sinks.clickhouse import connect

    root = connect(settings, database="default")
    for name in (f"{DATABASE}_public", DATABASE):
        root.execute(f"DROP DATABASE IF EXISTS {name}")
    root.execute(f"CREATE DATABASE {DATABASE}")
    client = connect(settings)
    migrate.apply(client.execute)
    migrate.apply_public(client.execute, DATABASE)
    load(client)
    yield settings
    for name in (f"{DATABASE}_public", DATABASE):
        root.execute(f"DROP DATABASE IF EXISTS {name}")


def _server_day(settings: Settings) -> date:
    from sinks.clickhouse import connect

    query = "SELECT toString(toDate(toTimeZone(now(), 'Asia/Shanghai')))"
    return date.fromisoformat(scalar(connect(settings), query))


def test_public_page_as_the_evaluator_and_read_only_logins(
    real_users: Settings, tmp_path: Path
) -> None:
    settings = signing_in(real_users, tmp_path)
    api = TestClient(create_app(settings))
    # the public page is open to everyone; the office's pages need a session
    assert api.get("/api/rankings?range=7d").status_code == 401
    assert api.get("/api/public?range=7d").status_code == 200
    sign_in(api, settings)
    # ended days only: today's 125 evaluations wait for tomorrow; three days ago, S-B1's 40
    public = get(api, "/api/public?range=7d&min_total=1")
    if _server_day(real_users) > datetime.fromtimestamp(TODAY, CHINA).date():
        # the run passed a Shanghai midnight since this module fixed "today" (the server's
        # views judge days by its own clock): "today" has ended, and is published
        assert public["totals"]["evaluations"] == 40 + 125
    else:
        assert public["totals"]["evaluations"] == 40
        assert [(r["code"], r["evaluations"], r["good_rate"]) for r in public["departments"]] == [
            (DEPT_B, 40, 0.5)
        ]
        assert [(r["code"], r["evaluations"]) for r in public["services"]] == [("S-B1", 40)]
    assert public["min_group"] == 10
    # every other page reads as the analyst
    assert get(api, "/api/overview?range=7d")["kpis"]["evaluations"]["value"] == 165
    analyst, evaluator = clickhouse_executes(real_users)
    for execute in (analyst, evaluator):
        with pytest.raises(ServerException) as refused:
            execute("INSERT INTO satisfaction_partials (key) VALUES", {})
        assert refused.value.code in (164, 291)  # readonly, or not its database
    # the evaluator's login reads aggregates only, never an evaluation
    with pytest.raises(ServerException) as denied:
        evaluator(f"SELECT count() FROM {DATABASE}.ratings", {})
    assert denied.value.code == 291


def test_coverage_page_lowest_first_and_halls_never_evaluated(
    api: TestClient, clickhouse: Client
) -> None:
    """评价率 (issue 28): H2's 办件 were never evaluated; H1 has two of three."""
    done = utc(TODAY + 9 * 3600)
    columns = ("transaction_id", "service_code", "department_code", "region_code", "channel",
               "hall_code", "window_code", "completed_at", "ingested_at")  # fmt: skip
    rows = [
        (f"CT{n}", "S1", DEPT_A, "310101", "counter", hall, "W1", done, done)
        for n, hall in enumerate(("H1", "H1", "H1", "H2", "H2"))
    ] + [("CT9", "S1", DEPT_A, "310101", "web", "", "", done, done)]
    insert(clickhouse, "transactions", columns, rows)
    rated = ("evaluation_id", "transaction_id", "evaluation_round", "service_code",
             "department_code", "region_code", "channel", "level", "evaluated_at",
             "ingested_at")  # fmt: skip
    insert(clickhouse, "ratings", rated, [
        (f"CE{n}", f"CT{n}", 1, "S1", DEPT_A, "310101", "counter", 5, done, done) for n in (0, 1)
    ])  # fmt: skip
    found = get(api, "/api/coverage?range=today&dimension=hall&min_total=1")
    assert (found["transactions"], found["evaluated"]) == (6, 2)
    assert [(r["code"], r["transactions"], r["evaluated"]) for r in found["lowest"]] == [
        ("H2", 2, 0),
        ("H1", 3, 2),
    ]
    assert [r["code"] for r in found["unevaluated"]] == ["H2"]
    assert get(api, "/api/coverage?range=today&dimension=hall")["lowest"] == []  # < 10 办件
    page = api.get("/coverage?range=today&dimension=hall&min_total=1")
    assert (
        page.status_code == 200 and "评价率最低" in page.text and "有办件、无任何评价" in page.text
    )
    exported = api.get("/csv/coverage/unevaluated?range=today&dimension=hall").text
    assert exported.startswith("\ufeff编码,名称,办件量,已评价办件,评价率")
    assert "H2,,2,0,0.00%" in exported
    assert api.get("/api/coverage?dimension=region").status_code == 400
    # and the rankings show it beside the satisfaction of the same department
    ranked = get(api, "/api/rankings?range=today&dimension=department&min_total=1")
    rates = {row["code"]: row["evaluation_rate"] for row in ranked["rows"]}
    assert rates[DEPT_A] == pytest.approx(2 / 6)
    assert all(rate is None for code, rate in rates.items() if code != DEPT_A)
