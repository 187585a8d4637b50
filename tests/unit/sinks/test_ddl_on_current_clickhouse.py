"""Every migration, view and analyst query on a current ClickHouse (chdb, in-process, 26.x).

Production runs a current ClickHouse while development runs Debian's 18.16: the same DDL and
queries must run on both. tests/integration/test_analyst_views.py runs the very same dataset
and checks (imported from here) on the 18.16 server.

The dataset is small and known: one evaluation is inserted twice (a replay), one rejected
message and one alert event too, and every view must count them once (they read `FINAL`).

Time zones: chdb runs with the process's time zone (UTC here) and the 18.16 server with UTC;
neither matters, because the columns are DateTime('Asia/Shanghai') and toDate / toStartOfMonth
use the column's zone. Date-times are written here as Shanghai wall-clock literals, which both
engines read in the column's zone; e3 (00:30 in Shanghai, 16:30 UTC the day before) proves the
Shanghai calendar is used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

import pytest
from clickhouse_driver.util.escape import escape_param, escape_params

from reports import queries
from runtime.clock import CHINA
from schemas.codes import REVIEW_TAGS
from sinks.migrate import load_migrations
from sinks.rows import CASE_EVENTS_COLUMNS, CASE_WARNINGS_COLUMNS, NO_ACTION

Rows = Callable[..., list[tuple[Any, ...]]]
Insert = Callable[[str, Sequence[str], list[tuple[Any, ...]]], None]


def sh(text: str) -> datetime:
    """A Shanghai wall-clock time, time zone aware."""
    return datetime.fromisoformat(text).replace(tzinfo=CHINA)


RATINGS_COLUMNS = (
    "evaluation_id",
    "transaction_id",
    "service_code",
    "service_name",
    "department_code",
    "department_name",
    "region_code",
    "channel",
    "level",
    "tags",
    "evaluated_at",
    "ingested_at",
    "late",
)
E1 = (
    "e1", "T1", "S1", "婚姻登记", "D1", "民政局", "310101", "counter", 5, ["517"],
    sh("2024-03-01 10:00:00"), sh("2024-03-01 10:00:05"), 0,
)  # fmt: skip
RATINGS = [
    E1,
    ("e2", "T2", "S1", "婚姻登记", "D1", "民政局", "310101", "web", 1, ["115", "113"],
     sh("2024-03-01 23:30:00"), sh("2024-03-01 23:30:02"), 0),
    # 00:30 in Shanghai is 16:30 UTC on March 1st: a Shanghai-calendar March 2nd evaluation
    ("e3", "T3", "S2", "低保申请", "D1", "民政局", "310104", "qrcode", 2, [],
     sh("2024-03-02 00:30:00"), sh("2024-03-02 00:30:01"), 0),
    # arrived three days late
    ("e4", "T4", "S3", "营业执照", "D2", "市场监管局", "310104", "app", 4, ["413"],
     sh("2024-03-02 09:00:00"), sh("2024-03-05 09:00:00"), 1),
    ("e5", "T5", "S3", "营业执照", "D2", "市场监管局", "310101", "counter", 3, [],
     sh("2024-04-01 08:00:00"), sh("2024-04-01 08:00:01"), 0),
]  # fmt: skip
# e1 delivered again (a worker restart): same sorting key, later ingested_at
RATINGS_REPLAY = [(*E1[:11], sh("2024-03-01 10:07:00"), 0)]

REJECTED_COLUMNS = ("reason", "message", "raw", "source_topic", "source_partition",
                    "source_offset", "rejected_at")  # fmt: skip
R1 = ("not_json", "not JSON", "{oops", "ratings.raw", 0, 7, sh("2024-03-01 12:00:00"))
REJECTED = [
    R1,
    ("invalid_level", "level 9", '{"level": 9}', "ratings.raw", 0, 8, sh("2024-03-01 12:01:00")),
    ("not_json", "not JSON", "{", "ratings.raw", 1, 3, sh("2024-03-02 08:00:00")),
]
REJECTED_REPLAY = [R1]

ALERTS_COLUMNS = ("alert_id", "dimension", "key", "state", "bad", "total", "expected", "score",
                  "window_start", "window_end", "at", "explanation")  # fmt: skip
A1_UPDATED = ("a1", "department", "D1", "updated", 8, 12, 1.5, 4.5,
              sh("2024-03-01 09:00:00"), sh("2024-03-01 10:05:00"), sh("2024-03-01 10:05:00"),
              "8 bad of 12")  # fmt: skip
ALERTS = [
    ("a1", "department", "D1", "opened", 5, 10, 1.2, 3.0,
     sh("2024-03-01 09:00:00"), sh("2024-03-01 10:00:00"), sh("2024-03-01 10:00:00"),
     "5 bad of 10"),
    A1_UPDATED,
    ("a1", "department", "D1", "resolved", 2, 15, 1.5, 0.5,
     sh("2024-03-01 09:30:00"), sh("2024-03-01 10:30:00"), sh("2024-03-01 10:30:00"),
     "back to normal"),
    ("a2", "service", "S3", "opened", 4, 6, 0.8, 2.5,
     sh("2024-03-02 10:00:00"), sh("2024-03-02 11:00:00"), sh("2024-03-02 11:00:00"),
     "4 bad of 6"),
]  # fmt: skip
ALERTS_REPLAY = [A1_UPDATED]

PARTIALS_COLUMNS = ("dimension", "key", "window", "window_start", "window_end",
                    "source_partition", "version", "level_1", "level_2", "level_3",
                    "level_4", "level_5")  # fmt: skip
DAY1, DAY2 = sh("2024-03-01 00:00:00"), sh("2024-03-02 00:00:00")
PARTIALS = [
    ("department", "D1", "1d", DAY1, DAY2, 0, 1, 0, 0, 0, 0, 1),
    ("department", "D1", "1d", DAY1, DAY2, 0, 2, 1, 0, 0, 0, 1),
    ("department", "D2", "1d", DAY1, DAY2, 1, 1, 0, 0, 0, 1, 0),
]
PARTIALS_REPLAY = [PARTIALS[1]]

VIEWS = (
    "satisfaction",
    "review_tags",
    "satisfaction_daily",
    "satisfaction_monthly",
    "ranking_departments_daily",
    "ranking_services_daily",
    "bad_reviews_by_tag",
    "alert_history",
    "late_statistics",
    "rejected_statistics",
)

# Every parameter any query in reports/queries.py takes.
PARAMS: dict[str, Any] = {
    "since": int(DAY1.timestamp()),
    "from_day": "2024-03-01",
    "to_day": "2024-04-30",
    "min_total": 1,
    "limit": 100,
    "dimension": "department",
    "key": "D1",
    "month": "2024-03-15",
    "from_ts": int(DAY1.timestamp()),
    "to_ts": int(sh("2024-05-01 00:00:00").timestamp()),
    "department": "",
    "service": "",
    "horizon_day": "2024-03-02",
    # the dashboard's (reports/pages/)
    "step": 86_400,
    "window": "1d",
    "keys": ("D1", "D2"),
    "alert_ids": ("department:D1:0",),
}


def analyst_queries() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(queries).items()
        if name.isupper() and isinstance(value, str) and "SELECT" in value
    }


def insert_dataset(insert: Insert, *, replay: bool = True) -> None:
    insert("ratings", RATINGS_COLUMNS, RATINGS)
    insert("rejected", REJECTED_COLUMNS, REJECTED)
    insert("alerts", ALERTS_COLUMNS, ALERTS)
    insert("satisfaction_partials", PARTIALS_COLUMNS, PARTIALS)
    if replay:
        insert("ratings", RATINGS_COLUMNS, RATINGS_REPLAY)
        insert("rejected", REJECTED_COLUMNS, REJECTED_REPLAY)
        insert("alerts", ALERTS_COLUMNS, ALERTS_REPLAY)
        insert("satisfaction_partials", PARTIALS_COLUMNS, PARTIALS_REPLAY)


def plain(value: Any) -> Any:
    """Engine-neutral value: dates and date-times as text, floats rounded."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(CHINA)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def by_key(rows: list[tuple[Any, ...]], width: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {tuple(plain(r[:width])): tuple(plain(list(r[width:]))) for r in rows}


def check_views(rows: Rows) -> dict[str, list[tuple[Any, ...]]]:
    """The numbers every view must show for the dataset; returns what each view held."""
    daily = by_key(
        rows(
            "SELECT day, dimension, key, department_code, department_name, service_name, "
            "total, good, bad, level_1, level_2, level_3, level_4, level_5, "
            "good_rate, bad_rate, mean_level FROM satisfaction_daily"
        ),
        3,
    )
    # e1 (5) and e2 (1); e1's replay counted once
    assert daily[("2024-03-01", "department", "D1")] == (
        "D1", "民政局", "", 2, 1, 1, 1, 0, 0, 0, 1, 0.5, 0.5, 3.0,
    )  # fmt: skip
    # e3 at 00:30 Shanghai is a March 2nd evaluation (UTC would say March 1st)
    assert daily[("2024-03-02", "department", "D1")][3:6] == (1, 0, 1)
    assert daily[("2024-03-02", "department", "D2")][3:6] == (1, 1, 0)
    assert daily[("2024-03-01", "service", "S1")][:6] == ("D1", "民政局", "婚姻登记", 2, 1, 1)
    assert daily[("2024-03-01", "channel", "counter")][:6] == ("", "", "", 1, 1, 0)
    assert daily[("2024-03-02", "region", "310104")][3:6] == (2, 1, 1)
    assert len(daily) == 16  # (day, dimension, key) combinations in the dataset
    assert sum(v[3] for (_, dim, _), v in daily.items() if dim == "channel") == 5

    monthly = by_key(
        rows(
            "SELECT month, dimension, key, total, good, bad, mean_level, good_rate "
            "FROM satisfaction_monthly"
        ),
        3,
    )
    assert monthly[("2024-03-01", "department", "D1")] == (3, 1, 2, round(8 / 3, 4), 0.3333)
    assert monthly[("2024-03-01", "department", "D2")][:3] == (1, 1, 0)
    assert monthly[("2024-04-01", "department", "D2")][:3] == (1, 1, 0)
    assert sum(v[0] for (_, dim, _), v in monthly.items() if dim == "region") == 5

    departments = by_key(
        rows(
            "SELECT day, department_code, department_name, total, good, bad, good_rate, "
            "bad_rate FROM ranking_departments_daily"
        ),
        2,
    )
    assert departments[("2024-03-01", "D1")] == ("民政局", 2, 1, 1, 0.5, 0.5)
    assert len(departments) == 4
    services = by_key(
        rows(
            "SELECT day, service_code, service_name, department_code, total, bad "
            "FROM ranking_services_daily"
        ),
        2,
    )
    assert services[("2024-03-01", "S1")] == ("婚姻登记", "D1", 2, 1)
    assert services[("2024-03-02", "S2")] == ("低保申请", "D1", 1, 1)

    tags = by_key(
        rows(
            "SELECT day, department_code, service_code, tag, tag_level, tag_label, "
            "bad_reviews, level_1, level_2 FROM bad_reviews_by_tag"
        ),
        4,
    )
    assert tags == {
        ("2024-03-01", "D1", "S1", "115"): (1, "服务态度差效率低", 1, 1, 0),
        ("2024-03-01", "D1", "S1", "113"): (1, "多头跑窗口和部门", 1, 1, 0),
        ("2024-03-02", "D1", "S2", ""): (0, "(无标签)", 1, 0, 1),
    }

    alerts = by_key(
        rows(
            "SELECT alert_id, dimension, key, status, opened_at, last_event_at, resolved_at, "
            "duration_s, events, updates, peak_bad, peak_total, max_score, expected_at_peak, "
            "last_explanation FROM alert_history"
        ),
        1,
    )
    assert alerts[("a1",)] == (
        "department", "D1", "resolved", "2024-03-01 10:00:00", "2024-03-01 10:30:00",
        "2024-03-01 10:30:00", 1800, 3, 1, 8, 12, 4.5, 1.5, "back to normal",
    )  # fmt: skip
    assert alerts[("a2",)][:3] == ("service", "S3", "open")
    assert alerts[("a2",)][6:10] == (-1, 1, 0, 4)

    late = rows("SELECT day, channel, late_evaluations, evaluations, late_rate, max_delay_s "
                "FROM late_statistics")  # fmt: skip
    assert [tuple(plain(list(r))) for r in late] == [("2024-03-02", "app", 1, 1, 1.0, 3 * 86400)]

    rejected = by_key(
        rows("SELECT day, reason, source_topic, rejected FROM rejected_statistics"), 2
    )
    assert rejected == {
        ("2024-03-01", "not_json"): ("ratings.raw", 1),
        ("2024-03-01", "invalid_level"): ("ratings.raw", 1),
        ("2024-03-02", "not_json"): ("ratings.raw", 1),
    }

    review_tags = rows("SELECT code, level, label FROM review_tags ORDER BY code")
    assert {code: (level, label) for code, level, label in review_tags} == {
        code: (tag.level, tag.label) for code, tag in REVIEW_TAGS.items()
    }

    satisfaction = rows("SELECT key, total, good, bad FROM satisfaction ORDER BY key")
    assert [tuple(r) for r in satisfaction] == [("D1", 2, 1, 1), ("D2", 1, 1, 0)]

    return {view: rows(f"SELECT * FROM {view}") for view in VIEWS}


def check_queries(rows: Rows) -> dict[str, list[tuple[Any, ...]]]:
    """Runs every analyst query of reports/queries.py; checks the numbers of most."""
    results = {name: rows(sql, PARAMS) for name, sql in analyst_queries().items()}
    out = {name: [tuple(plain(list(r))) for r in value] for name, value in results.items()}

    assert out["RANKING"] == [("D1", 2, 1, 1, 0.5, 0.5, 3.0), ("D2", 1, 1, 0, 1.0, 0.0, 4.0)]
    assert sorted(out["NAMES"]) == [
        ("D1", "民政局", "S1", "婚姻登记"),
        ("D1", "民政局", "S2", "低保申请"),
        ("D2", "市场监管局", "S3", "营业执照"),
    ]
    assert sorted(out["REJECTED_BY_REASON"]) == [("invalid_level", 1), ("not_json", 2)]
    landed = {(r[0], r[1]): (r[3], r[4]) for r in out["LANDED_BY_CHANNEL_AND_DEPARTMENT"]}
    assert landed[("counter", "D1")] == (1, 0)
    assert out["DEPARTMENT_RANKING"] == [
        ("D1", "民政局", 3, 1, 2, 0.3333, 0.6667, 2.67),
        ("D2", "市场监管局", 2, 2, 0, 1.0, 0.0, 3.5),
    ]
    assert out["SERVICE_RANKING"][0] == ("S2", "低保申请", "D1", 1, 1, 1.0, 0.0)
    assert out["DAILY_TREND"] == [
        ("2024-03-01", 2, 1, 1, 0.5, 0.5, 3.0),
        ("2024-03-02", 1, 0, 1, 0.0, 1.0, 2.0),
    ]
    assert [r[:4] for r in out["MONTHLY_SUMMARY"]] == [
        ("D1", "民政局", "", 3),
        ("D2", "市场监管局", "", 1),
    ]
    assert sorted(out["TOP_BAD_REVIEW_TAGS"]) == [
        ("", "(无标签)", 1, 1),
        ("113", "多头跑窗口和部门", 1, 1),
        ("115", "服务态度差效率低", 1, 1),
    ]
    assert [r[0] for r in out["OPEN_ALERTS"]] == ["a2"]
    assert out["LATE_BY_CHANNEL"] == [("app", 1, 1, 1.0, 3 * 86400)]
    # the dashboard's, from the tables migration 008 derives (filled by materialized views,
    # and once more by its copy when the migrations run again): the same numbers as the
    # contract tables, a stale version and replays counted once
    assert sorted(out["DASHBOARD_NAMES"]) == sorted(out["NAMES"])
    day1 = int(DAY1.timestamp())
    assert out["WINDOW_SERIES"] == [("D1", day1, 1, 0, 0, 0, 1), ("D2", day1, 0, 0, 0, 1, 0)]
    assert out["WINDOW_SERIES_OF_KEYS"] == out["WINDOW_SERIES"]
    assert out["REJECTED_BY_DAY_AND_REASON"] == [
        ("2024-03-01", "invalid_level", 1),
        ("2024-03-01", "not_json", 1),
        ("2024-03-02", "not_json", 1),
    ]
    return out


# ---------------------------------------------------------------- chdb


def substitute(query: str, params: dict[str, Any] | None) -> str:
    """clickhouse-driver's own client-side substitution (`%(name)s`, values escaped as the
    driver escapes them for 18.16); only dates, strings and numbers are used here."""
    if not params:
        return query
    return query % escape_params(params, None)


def literal(value: Any) -> str:
    if isinstance(value, datetime):
        # a Shanghai wall-clock literal, read in the column's zone (Asia/Shanghai)
        return f"'{value.astimezone(CHINA):%Y-%m-%d %H:%M:%S}'"
    return str(escape_param(value, None))


class Chdb:
    def __init__(self) -> None:
        from chdb import session

        self.session = session.Session()
        self.session.query("CREATE DATABASE IF NOT EXISTS haochaping")
        self.session.query("USE haochaping")
        # 64-bit integers as JSON numbers, not strings
        self.session.query("SET output_format_json_quote_64bit_integers = 0")

    def execute(self, sql: str) -> None:
        self.session.query(sql)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        result = self.session.query(substitute(sql, params), "JSONCompact")
        text = result.bytes().decode()
        if not text.strip():
            return []
        return [tuple(row) for row in json.loads(text)["data"]]

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
        self.session.query(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}")

    def close(self) -> None:
        self.session.close()


@pytest.fixture(scope="module")
def chdb_db() -> Iterator[Chdb]:
    db = Chdb()
    for migration in load_migrations():
        for statement in migration.statements():
            db.execute(statement)
    insert_dataset(db.insert)
    yield db
    db.close()


def test_runs_on_a_current_clickhouse(chdb_db: Chdb) -> None:
    version = chdb_db.rows("SELECT version()")[0][0]
    assert int(version.split(".")[0]) >= 24, version


def test_migrations_are_idempotent_statement_by_statement(chdb_db: Chdb) -> None:
    for migration in load_migrations():
        for statement in migration.statements():
            chdb_db.execute(statement)
    assert chdb_db.rows("SELECT count() FROM review_tags") == [(40,)]


def test_views_count_a_replayed_evaluation_once(chdb_db: Chdb) -> None:
    views = check_views(chdb_db.rows)
    assert set(views) == set(VIEWS)


def test_every_analyst_query_runs_with_the_expected_numbers(chdb_db: Chdb) -> None:
    results = check_queries(chdb_db.rows)
    assert set(results) == set(analyst_queries())


def test_review_tags_table_matches_the_code_table() -> None:
    sql = next(m.sql for m in load_migrations() if m.version == 2)
    for code, tag in REVIEW_TAGS.items():
        assert f"('{code}', '{tag.label}')" in sql


def test_rates_are_counts_divided_by_the_total(chdb_db: Chdb) -> None:
    for total, good, bad, good_rate, bad_rate in chdb_db.rows(
        "SELECT total, good, bad, good_rate, bad_rate FROM satisfaction_daily"
    ):
        assert math.isclose(good_rate, good / total)
        assert math.isclose(bad_rate, bad / total)
        assert good + bad == total


# ---------------------------------------------------------------- rolling hour (003)
# Minute windows of their own (a database of their own on chdb, a test of their own on 18.16:
# the checks above expect no '1m' window). Hop ends are multiples of 5 minutes; the hour ending
# at h is [h - 3600, h).
ROLLING_VIEW = "satisfaction_rolling_hour"


def minute(dimension: str, key: str, start: str, partition: int, version: int,
           levels: tuple[int, int, int, int, int]) -> tuple[Any, ...]:  # fmt: skip
    begin = sh(start)
    end = datetime.fromtimestamp(begin.timestamp() + 60, CHINA)
    return (dimension, key, "1m", begin, end, partition, version, *levels)


ROLLING_PARTIALS = [
    # 09:00 from two source partitions; partition 0 emitted twice (version 2 replaces 1)
    minute("department", "D1", "2024-03-01 09:00:00", 0, 1, (0, 0, 0, 0, 1)),
    minute("department", "D1", "2024-03-01 09:00:00", 0, 2, (1, 0, 0, 0, 1)),
    minute("department", "D1", "2024-03-01 09:00:00", 1, 1, (0, 0, 1, 0, 0)),
    # 09:03 is not aligned to 5 minutes
    minute("department", "D1", "2024-03-01 09:03:00", 0, 1, (0, 1, 0, 0, 0)),
    minute("department", "D1", "2024-03-01 09:59:00", 0, 1, (0, 0, 0, 1, 0)),
    minute("department", "D1", "2024-03-01 10:00:00", 0, 1, (0, 0, 0, 0, 2)),
    minute("department", "D2", "2024-03-01 09:30:00", 0, 1, (0, 0, 0, 0, 1)),
    # a day window: never part of a rolling hour
    ("department", "D1", "1d", DAY1, DAY2, 0, 1, 100, 0, 0, 0, 0),
]
# an older emission arriving after the newer one, and a plain duplicate
ROLLING_REPLAY = [ROLLING_PARTIALS[0], ROLLING_PARTIALS[4]]


def insert_rolling(insert: Insert, table: str = "satisfaction_partials") -> None:
    insert(table, PARTIALS_COLUMNS, ROLLING_PARTIALS)
    insert(table, PARTIALS_COLUMNS, ROLLING_REPLAY)


def check_rolling_hour(rows: Rows, view: str = ROLLING_VIEW) -> list[Any]:
    """The numbers of the rolling hours for ROLLING_PARTIALS; returns the view's rows."""
    result = rows(
        "SELECT dimension, key, window_end, window_start, total, good, bad, level_1, level_2, "
        f"level_3, level_4, level_5, good_rate, bad_rate, mean_level FROM {view}"
    )
    hours = by_key(result, 3)
    # [09:00, 10:00): 09:00 (at exactly hop end - 3600: in; both partitions, version 2), 09:03,
    # 09:59; 10:00 (at the hop end) is not
    assert hours[("department", "D1", "2024-03-01 10:00:00")] == (
        "2024-03-01 09:00:00", 5, 3, 2, 1, 1, 1, 1, 1, 0.6, 0.4, 3.0,
    )  # fmt: skip
    # [09:05, 10:05): 09:59 and 10:00; 09:00 and 09:03 are out
    assert hours[("department", "D1", "2024-03-01 10:05:00")] == (
        "2024-03-01 09:05:00", 3, 3, 0, 0, 0, 0, 1, 2, 1.0, 0.0, round(14 / 3, 4),
    )  # fmt: skip
    # [08:05, 09:05): the first hop end of 09:00 and 09:03
    assert hours[("department", "D1", "2024-03-01 09:05:00")] == (
        "2024-03-01 08:05:00", 4, 2, 2, 1, 1, 1, 0, 1, 0.5, 0.5, 2.75,
    )  # fmt: skip
    # [10:00, 11:00): the last hop end of 10:00
    assert hours[("department", "D1", "2024-03-01 11:00:00")][1:4] == (2, 2, 0)
    # the 09:00 minute ends at 09:01: not in the hour ending at 09:00; nothing after 11:00
    assert ("department", "D1", "2024-03-01 09:00:00") not in hours
    assert ("department", "D1", "2024-03-01 11:05:00") not in hours
    # D1: every hop end from 09:05 to 11:00; D2 (09:30): the 12 from 09:35 to 10:30
    d1 = sorted(end for _, key, end in hours if key == "D1")
    assert len(d1) == 24
    assert (d1[0], d1[-1]) == ("2024-03-01 09:05:00", "2024-03-01 11:00:00")
    d2 = sorted(end for _, key, end in hours if key == "D2")
    assert len(d2) == 12
    assert (d2[0], d2[-1]) == ("2024-03-01 09:35:00", "2024-03-01 10:30:00")
    assert all(v[1:4] == (1, 1, 0) for (_, key, _), v in hours.items() if key == "D2")
    assert len(hours) == len(result) == 36
    # each of the 8 ratings of the minute windows counted in 12 hours, the day window in none
    assert sum(v[1] for v in hours.values()) == 12 * 8
    for (_, _, end), value in hours.items():
        stamp = datetime.fromisoformat(end).replace(tzinfo=CHINA).timestamp()
        assert stamp % 300 == 0
        assert value[0] == plain(datetime.fromtimestamp(stamp - 3600, CHINA))
    return sorted(map(str, plain(result)))


ROLLING_DB = "haochaping_rolling"


def migrated(chdb_db: Chdb, database: str) -> Chdb:
    """A second database in the same chdb session, with every migration applied."""
    chdb_db.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    chdb_db.execute(f"USE {database}")
    try:
        for migration in load_migrations():
            for statement in migration.statements():
                chdb_db.execute(statement)
    finally:
        chdb_db.execute("USE haochaping")
    return chdb_db


@pytest.fixture(scope="module")
def rolling_db(chdb_db: Chdb) -> Iterator[Chdb]:
    insert_rolling(migrated(chdb_db, ROLLING_DB).insert, f"{ROLLING_DB}.satisfaction_partials")
    yield chdb_db


def test_rolling_hour_sums_the_minutes_of_each_hop(rolling_db: Chdb) -> None:
    check_rolling_hour(rolling_db.rows, f"{ROLLING_DB}.{ROLLING_VIEW}")


def test_rolling_hour_ignores_partials_inserted_twice(rolling_db: Chdb) -> None:
    view = f"{ROLLING_DB}.{ROLLING_VIEW}"
    before = check_rolling_hour(rolling_db.rows, view)
    insert_rolling(rolling_db.insert, f"{ROLLING_DB}.satisfaction_partials")
    assert check_rolling_hour(rolling_db.rows, view) == before
    rolling_db.execute(f"OPTIMIZE TABLE {ROLLING_DB}.satisfaction_partials FINAL")
    assert check_rolling_hour(rolling_db.rows, view) == before


def test_rolling_hour_column_types(rolling_db: Chdb) -> None:
    types = dict(rolling_db.rows(f"SELECT name, type FROM system.columns WHERE database = "
                                 f"'{ROLLING_DB}' AND table = '{ROLLING_VIEW}'"))  # fmt: skip
    assert types["window_start"] == types["window_end"] == "DateTime('Asia/Shanghai')"
    assert list(types)[:4] == ["dimension", "key", "window_start", "window_end"]


def test_alert_minutes_of_several_alerts_in_one_statement(rolling_db: Chdb) -> None:
    def epoch(text: str) -> int:
        return int(sh(text).timestamp())

    params = {
        "dimension_0": "department", "key_0": "D1",
        "from_0": epoch("2024-03-01 08:50:00"), "to_0": epoch("2024-03-01 09:05:00"),
        "dimension_1": "department", "key_1": "D2",
        "from_1": epoch("2024-03-01 09:00:00"), "to_1": epoch("2024-03-01 10:00:00"),
    }  # fmt: skip
    rolling_db.execute(f"USE {ROLLING_DB}")
    try:
        found = sorted(tuple(r) for r in rolling_db.rows(queries.alert_minutes(2), params))
    finally:
        rolling_db.execute("USE haochaping")
    # 09:00 of D1: partition 0's version 2 (not 1, replayed after it) and partition 1
    assert found == [
        (0, epoch("2024-03-01 09:00:00"), 1, 0, 1, 0, 1),
        (0, epoch("2024-03-01 09:03:00"), 0, 1, 0, 0, 0),
        (1, epoch("2024-03-01 09:30:00"), 0, 0, 0, 0, 1),
    ]


# --- service halls (服务大厅): the dimension added in migration 005, on its own database
HALLS_DB = "haochaping_halls"
# H1 on 1 March (Shanghai), counted on two partitions, the second one replayed; H2 on 2 March.
HALL_PARTIALS = [
    ("hall", "H1", "1d", DAY1, DAY2, 0, 4, 0, 1, 1, 1, 1),
    ("hall", "H1", "1d", DAY1, DAY2, 1, 2, 1, 0, 0, 0, 1),
    ("hall", "H2", "1d", DAY2, sh("2024-03-03 00:00:00"), 0, 9, 0, 0, 0, 0, 3),
]


def insert_halls(insert: Insert, table: str = "satisfaction_partials") -> None:
    insert(table, PARTIALS_COLUMNS, HALL_PARTIALS)
    insert(table, PARTIALS_COLUMNS, HALL_PARTIALS[1:2])  # a replayed partial


def check_halls(rows: Rows, view: str = "ranking_halls_daily") -> list[tuple[Any, ...]]:
    query = f"SELECT day, hall_code, total, good, bad, good_rate FROM {view} ORDER BY day"
    result = [tuple(plain(list(r))) for r in rows(query)]
    assert result == [("2024-03-01", "H1", 6, 4, 2, 0.6667), ("2024-03-02", "H2", 3, 3, 0, 1.0)]
    return result


@pytest.fixture(scope="module")
def halls_db(chdb_db: Chdb) -> Iterator[Chdb]:
    insert_halls(migrated(chdb_db, HALLS_DB).insert, f"{HALLS_DB}.satisfaction_partials")
    yield chdb_db


def test_halls_are_ranked_per_shanghai_day_and_a_replay_counts_once(halls_db: Chdb) -> None:
    check_halls(halls_db.rows, f"{HALLS_DB}.ranking_halls_daily")


# ---------------------------------------------------------------- late arrivals (006)

LATE_DB = "haochaping_late"
LATE_COLUMNS = (*RATINGS_COLUMNS, "beyond_horizon")
LATE_RATINGS = [
    # on time, late (a day later: in its day, in no minute), beyond the long horizon
    ("l1", "T1", "S1", "婚姻登记", "D1", "民政局", "310101", "web", 5, [],
     sh("2024-03-01 10:00:00"), sh("2024-03-01 10:00:02"), 0, 0),
    ("l2", "T2", "S1", "婚姻登记", "D1", "民政局", "310101", "sms", 1, [],
     sh("2024-03-01 11:00:00"), sh("2024-03-02 09:00:00"), 1, 0),
    ("l3", "T3", "S2", "低保申请", "D2", "民政局", "310101", "hotline", 2, [],
     sh("2024-03-01 12:00:00"), sh("2024-04-15 09:00:00"), 1, 1),
]  # fmt: skip
LATE_PARTIALS = [
    # partition 0 counted l1, partition 1 counted l2 (a first version, then the second)
    ("department", "D1", "1d", DAY1, DAY2, 0, 1, 0, 0, 0, 0, 1),
    ("department", "D1", "1d", DAY1, DAY2, 1, 1, 1, 0, 0, 0, 0),
    ("service", "S1", "1d", DAY1, DAY2, 0, 1, 0, 0, 0, 0, 1),
    # a window with no evaluation behind it: a difference to report
    ("service", "S9", "1d", DAY1, DAY2, 1, 4, 0, 0, 0, 2, 0),
]  # fmt: skip


@pytest.fixture(scope="module")
def late_db(chdb_db: Chdb) -> Iterator[Chdb]:
    db = migrated(chdb_db, LATE_DB)
    db.insert(f"{LATE_DB}.ratings", LATE_COLUMNS, LATE_RATINGS)
    db.insert(f"{LATE_DB}.satisfaction_partials", PARTIALS_COLUMNS, LATE_PARTIALS)
    yield db


def test_beyond_the_long_horizon_counts_in_late_statistics_and_no_figure(late_db: Chdb) -> None:
    late = late_db.rows(
        "SELECT day, channel, late_evaluations, beyond_horizon_evaluations, evaluations "
        f"FROM {LATE_DB}.late_statistics ORDER BY channel"
    )
    assert [tuple(plain(list(r))) for r in late] == [
        ("2024-03-01", "hotline", 1, 1, 1),
        ("2024-03-01", "sms", 1, 0, 1),
    ]
    daily = late_db.rows(
        f"SELECT dimension, key, total FROM {LATE_DB}.satisfaction_daily "
        "WHERE dimension IN ('department', 'service') ORDER BY dimension, key"
    )
    assert [tuple(r) for r in daily] == [("department", "D1", 2), ("service", "S1", 2)]
    monthly = late_db.rows(
        f"SELECT key, total FROM {LATE_DB}.satisfaction_monthly WHERE dimension = 'department'"
    )
    assert [tuple(r) for r in monthly] == [("D1", 2)]


def test_reconciliation_daily_compares_day_windows_with_the_recount(late_db: Chdb) -> None:
    rows = late_db.rows(
        "SELECT day, dimension, key, window_total, recount_total, difference, levels_agree "
        f"FROM {LATE_DB}.reconciliation_daily ORDER BY dimension, key"
    )
    assert [tuple(plain(list(r))) for r in rows] == [
        ("2024-03-01", "department", "D1", 2, 2, 0, 1),
        ("2024-03-01", "service", "S1", 1, 2, -1, 0),
        ("2024-03-01", "service", "S9", 2, 0, 2, 0),
    ]


# --- follow-up (督办): the dashboard's case queries read `case_state` (migration 009), kept by
# a materialized view on `case_events`; on its own database, with replays
CASES_DB = "haochaping_cases"
_NO = sh("1970-01-01 08:00:00")  # epoch 0, written as Shanghai wall-clock


def case_event(
    case_id: str,
    event: str,
    at: str,
    dept: str,
    due: tuple[str, str] | None = None,
    **action: Any,
) -> tuple[Any, ...]:
    opened = event == "opened"
    return (
        case_id, event, sh(at), dept, "x", "S1" if opened else "", 1 if opened else 0,
        sh(at) if opened else _NO,
        sh(due[0]) if due else _NO, sh(due[1]) if due else _NO,
        *{**NO_ACTION, **action}.values(),
    )  # fmt: skip


CASE_EVENTS = [
    # k1: called back and rectified on time, then closed
    case_event("k1", "opened", "2024-03-01 10:00:00", "D1",
               ("2024-03-02 10:00:00", "2024-03-15 10:00:00")),
    case_event("k1", "called_back", "2024-03-01 12:00:00", "D1"),
    case_event("k1", "rectified", "2024-03-10 12:00:00", "D1"),
    case_event("k1", "closed", "2024-03-11 12:00:00", "D1"),
    # k2: called back twice (the earliest counts), rectified late, in the next month
    case_event("k2", "opened", "2024-03-02 10:00:00", "D1",
               ("2024-03-03 10:00:00", "2024-03-16 10:00:00")),
    case_event("k2", "called_back", "2024-03-04 10:00:00", "D1"),
    case_event("k2", "called_back", "2024-03-03 09:00:00", "D1"),
    case_event("k2", "rectified", "2024-04-05 10:00:00", "D1"),
    # k3: appealed and upheld (closed)
    case_event("k3", "opened", "2024-03-03 10:00:00", "D2",
               ("2024-03-04 10:00:00", "2024-03-17 10:00:00")),
    case_event("k3", "appealed", "2024-03-04 10:00:00", "D2"),
    case_event("k3", "appeal_upheld", "2024-03-05 10:00:00", "D2"),
    # k4: a call-back reported before its case opened (in the month before)
    case_event("k4", "called_back", "2024-02-28 10:00:00", "D2"),
    case_event("k4", "opened", "2024-03-05 10:00:00", "D2",
               ("2024-03-06 10:00:00", "2024-03-19 10:00:00")),
    # k1's and k2's loop as the office and the departments walked it (issue 27): k2 was
    # routed to D2, which asked to send it back (refused), verified it 属实 and rated
    case_event("k1", "verified", "2024-03-01 11:00:00", "D1", action_id="a1", truthful=1,
               reasonable=1, category="attitude"),
    case_event("k1", "called_back", "2024-03-01 12:00:00", "D1", action_id="a2",
               outcome="reached"),
    case_event("k1", "rectification_rated", "2024-03-12 12:00:00", "D1", action_id="a3",
               satisfaction="basically_satisfied"),
    case_event("k2", "routed", "2024-03-02 11:00:00", "D2", action_id="a4"),
    case_event("k2", "reroute_requested", "2024-03-02 12:00:00", "D2", action_id="a5"),
    case_event("k2", "reroute_refused", "2024-03-02 13:00:00", "D2", action_id="a6"),
    case_event("k2", "verified", "2024-03-02 14:00:00", "D2", action_id="a7", truthful=0,
               reasonable=0, category="policy"),
    case_event("k2", "called_back", "2024-03-02 15:00:00", "D2", action_id="a8",
               outcome="unreachable"),
    # k5: never opened; k6: opened after the range
    case_event("k5", "called_back", "2024-03-05 10:00:00", "D1"),
    case_event("k6", "opened", "2024-04-02 10:00:00", "D1",
               ("2024-04-03 10:00:00", "2024-04-16 10:00:00")),
]  # fmt: skip

CASE_WARNINGS = [
    ("k1", "callback", "overdue", sh("2024-03-02 10:00:00"), sh("2024-03-02 10:00:00"), "D1"),
    ("k3", "rectification", "overdue", sh("2024-03-17 10:00:00"), sh("2024-03-17 10:00:00"), "D2"),
    ("k4", "rectification", "due_soon", sh("2024-03-19 10:00:00"), sh("2024-03-18 10:00:00"), "D2"),
    ("k4", "rectification", "overdue", sh("2024-03-19 10:00:00"), sh("2024-03-19 10:00:00"), "D2"),
    ("k5", "callback", "overdue", sh("2024-03-06 10:00:00"), sh("2024-03-06 10:00:00"), "D1"),
    ("k6", "callback", "due_soon", sh("2024-04-03 10:00:00"), sh("2024-04-03 08:00:00"), "D1"),
]  # fmt: skip


CASE_RATINGS_COLUMNS = ("evaluation_id", "transaction_id", "evaluation_round", "service_code",
                        "department_code", "region_code", "channel", "level", "evaluator_hash",
                        "evaluated_at", "ingested_at")  # fmt: skip
CASE_RATINGS = [
    # k1: a 实名 bad review, and its 追评 (round 2 of the transaction) at 4 stars
    ("k1", "TK1", 1, "S1", "D1", "310101", "web", 1, "h-zhang", sh("2024-03-01 09:50:00"),
     sh("2024-03-01 10:00:00")),
    ("k1-again", "TK1", 2, "S1", "D1", "310101", "web", 4, "h-zhang", sh("2024-03-12 09:00:00"),
     sh("2024-03-12 09:00:01")),
    # k2: anonymous; k3..k6 have no landed review (an external system's cases)
    ("k2", "TK2", 1, "S1", "D1", "310101", "web", 2, "", sh("2024-03-02 09:50:00"),
     sh("2024-03-02 10:00:00")),
]  # fmt: skip


REFUSED_ACTION = (
    "action_refused", "只有好差评办公室可以这样做 / only the office may do this",
    '{"action_id":"a9","case_id":"k2","action":"close","at":"2024-03-02T16:00:00+08:00",'
    '"actor":"u-b","actor_role":"department","actor_departments":["D2"]}',
    "cases.actions", 0, 8, sh("2024-03-02 16:00:01"),
)  # fmt: skip


@pytest.fixture(scope="module")
def cases_db(chdb_db: Chdb) -> Iterator[Chdb]:
    db = migrated(chdb_db, CASES_DB)
    for _ in range(2):  # a replay changes no number
        db.insert(f"{CASES_DB}.ratings", CASE_RATINGS_COLUMNS, CASE_RATINGS)
        db.insert(f"{CASES_DB}.rejected", REJECTED_COLUMNS, [REFUSED_ACTION])
    # in three inserts (the view runs on each), the second a replay of everything
    db.insert(f"{CASES_DB}.case_events", CASE_EVENTS_COLUMNS, CASE_EVENTS[:6])
    db.insert(f"{CASES_DB}.case_events", CASE_EVENTS_COLUMNS, CASE_EVENTS)
    db.insert(f"{CASES_DB}.case_events", CASE_EVENTS_COLUMNS, CASE_EVENTS[6:])
    db.insert(f"{CASES_DB}.case_warnings", CASE_WARNINGS_COLUMNS, CASE_WARNINGS)
    migrated(db, CASES_DB)  # migration 009's copy runs once more over the same events
    db.execute(f"USE {CASES_DB}")
    try:
        yield db
    finally:
        db.execute("USE haochaping")


def test_case_indicators_from_the_case_state_match_the_cases_view(cases_db: Chdb) -> None:
    march = {"from_ts": int(sh("2024-03-01 00:00:00").timestamp()),
             "to_ts": int(sh("2024-04-01 00:00:00").timestamp())}  # fmt: skip
    found = sorted(
        tuple(r) for r in cases_db.rows(queries.CASE_INDICATORS, {**march, "department": ""})
    )
    # department, bad reviews, called back, rectified, rectified on time, appeals
    assert found == [("D1", 2, 2, 2, 1, 0), ("D2", 2, 1, 0, 0, 1)]
    oracle = cases_db.rows(
        "SELECT department_code, count(), sum(called_back), sum(rectified), "
        "sum(rectified_on_time), sum(appealed) FROM cases "
        "WHERE opened_at >= toDateTime(%(from_ts)s) AND opened_at < toDateTime(%(to_ts)s) "
        "GROUP BY department_code ORDER BY department_code",
        march,
    )
    assert found == [tuple(r) for r in oracle]
    only_d2 = cases_db.rows(queries.CASE_INDICATORS, {**march, "department": "D2"})
    assert [tuple(r) for r in only_d2] == [("D2", 2, 1, 0, 0, 1)]


def test_the_loop_indicators_count_each_case_once_per_department_it_ended_with(
    cases_db: Chdb,
) -> None:
    found = [
        tuple(r)
        for r in cases_db.rows(
            "SELECT department_code, toString(month), cases, verified_cases, truthful_cases, "
            "routed_cases, reroute_requests, reroutes_refused, reached_callbacks, "
            "rated_rectifications, satisfied_rectifications, appeals_upheld, "
            "rectification_satisfaction_rate FROM case_loop_monthly "
            "ORDER BY department_code, month"
        )
    ]
    assert found == [
        # k1 (verified 属实, reached, rated 基本满意)
        ("D1", "2024-03-01", 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1.0),
        ("D1", "2024-04-01", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0),  # k6
        # k2 (routed here: counted against D2, where it ended), k3 (upheld), k4
        ("D2", "2024-03-01", 3, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0.0),
    ]


def test_real_name_call_backs_and_follow_ups_per_department(cases_db: Chdb) -> None:
    found = [
        tuple(r)
        for r in cases_db.rows(
            "SELECT department_code, toString(month), real_name_cases, real_name_reached, "
            "anonymous_cases, follow_ups, satisfied_follow_ups, real_name_callback_rate, "
            "follow_up_satisfaction_rate FROM case_loop_monthly ORDER BY department_code, month"
        )
    ]
    assert found == [
        ("D1", "2024-03-01", 1, 1, 0, 1, 1, 1.0, 1.0),  # k1: 实名, reached, 追评 4★
        ("D1", "2024-04-01", 0, 0, 0, 0, 0, 0.0, 0.0),
        ("D2", "2024-03-01", 0, 0, 1, 0, 0, 0.0, 0.0),  # k2 anonymous (unreachable anyway)
    ]
    follow_ups = cases_db.rows(
        "SELECT case_id, real_name, follow_up_level FROM case_follow_ups ORDER BY case_id"
    )
    # the 追评 itself is no bad review: it has no row; k1's is its later round
    assert [tuple(r) for r in follow_ups] == [("k1", 1, 4), ("k2", 0, 0)]


def test_the_audit_shows_accepted_and_refused_actions_with_their_user(cases_db: Chdb) -> None:
    rows = [
        tuple(r)
        for r in cases_db.rows(
            "SELECT action_id, actor, case_id, step, verdict, why FROM action_audit "
            "ORDER BY action_id"
        )
    ]
    assert [r[0] for r in rows] == [f"a{n}" for n in range(1, 10)]  # once each, replay or not
    assert rows[-1] == ("a9", "u-b", "k2", "close", "refused",
                        "只有好差评办公室可以这样做 / only the office may do this")  # fmt: skip
    assert rows[0][3:5] == ("verified", "accepted")


INTERVIEW_DB = "haochaping_interview"


def test_a_department_last_two_months_running_is_listed_for_an_interview(chdb_db: Chdb) -> None:
    current = chdb_db.rows("SELECT currentDatabase()")[0][0]  # the module's fixtures set one
    db = migrated(chdb_db, INTERVIEW_DB)
    db.execute(f"USE {current}")
    columns = ("evaluation_id", "transaction_id", "service_code", "department_code",
               "region_code", "channel", "level", "evaluated_at", "ingested_at")  # fmt: skip
    # bad reviews of 20 per department and month: D3 worst in March and April, D2 in May;
    # D4 has only 5 evaluations, all bad: too few to be ranked
    bad = {("2024-03", "D1"): 1, ("2024-03", "D2"): 2, ("2024-03", "D3"): 6,
           ("2024-04", "D1"): 0, ("2024-04", "D2"): 3, ("2024-04", "D3"): 5,
           ("2024-05", "D1"): 2, ("2024-05", "D2"): 9, ("2024-05", "D3"): 1}  # fmt: skip
    rows = []
    for (month, dept), bad_count in bad.items():
        for n in range(20):
            at = sh(f"{month}-10 10:{n:02d}:00")
            level = 1 if n < bad_count else 5
            rows.append((f"{dept}-{month}-{n}", f"T{dept}{month}{n}", "S1", dept, "310101",
                         "web", level, at, at))  # fmt: skip
    rows += [(f"D4-{n}", f"TD4{n}", "S1", "D4", "310101", "web", 1, sh("2024-04-10 10:00:00"),
              sh("2024-04-10 10:00:00")) for n in range(5)]  # fmt: skip
    db.insert(f"{INTERVIEW_DB}.ratings", columns, rows)
    found = db.rows(
        f"SELECT department_code, toString(second_month), first_rate, second_rate "
        f"FROM {INTERVIEW_DB}.interview_list"
    )
    assert [tuple(r) for r in found] == [("D3", "2024-04-01", 0.7, 0.75)]


def test_open_deadlines_from_the_case_state(cases_db: Chdb) -> None:
    def epoch(text: str) -> int:
        return int(sh(text).timestamp())

    found = [
        tuple(r) for r in cases_db.rows(queries.OPEN_DEADLINES, {"department": "", "limit": 10})
    ]
    # k1 was called back, k3 closed on appeal, k5 never opened
    assert found == [
        ("k4", "rectification", "overdue", epoch("2024-03-19 10:00:00"), "D2",
         epoch("2024-03-05 10:00:00")),
        ("k6", "callback", "due_soon", epoch("2024-04-03 10:00:00"), "D1",
         epoch("2024-04-02 10:00:00")),
    ]  # fmt: skip


# ---------------------------------------------------------------- public cells (014)
# The third-party evaluators' view: ended days only, no cell under 10 evaluations, and no cell
# whose difference with the published ones shows a smaller group. 1 March: D1 has 15 = S1 12
# (published) + S2 3 (hidden), so D1 would show S2: withheld; D2 = S3 20; D3 = S4 4; the day's
# 39 are published, since the departments withheld hold 19. 2 March: D2 = S3 10 (two source
# partitions, one replayed), D4 = S5 2, so the day's 12 would show D4: withheld. Minute and
# hall windows, and a day that has not ended, are never published.

PUBLIC_DB = "haochaping_public_cells"
NAMES_COLUMNS = ("day", "department_code", "service_code", "department_name", "service_name",
                 "seen_at")  # fmt: skip
DAY3 = sh("2024-03-03 00:00:00")


def day_cell(dimension: str, key: str, start: datetime, levels: tuple[int, ...],
             partition: int = 0, version: int = 1) -> tuple[Any, ...]:  # fmt: skip
    end = datetime.fromtimestamp(start.timestamp() + 86_400, CHINA)
    return (dimension, key, "1d", start, end, partition, version, *levels)


def public_partials(today: datetime) -> list[tuple[Any, ...]]:
    return [
        day_cell("service", "S1", DAY1, (1, 1, 0, 0, 10)),
        day_cell("service", "S2", DAY1, (3, 0, 0, 0, 0)),
        day_cell("department", "D1", DAY1, (4, 1, 0, 0, 10)),
        day_cell("service", "S3", DAY1, (0, 0, 0, 5, 15)),
        day_cell("department", "D2", DAY1, (0, 0, 0, 5, 15)),
        day_cell("service", "S4", DAY1, (0, 0, 4, 0, 0)),
        day_cell("department", "D3", DAY1, (0, 0, 4, 0, 0)),
        day_cell("channel", "web", DAY1, (4, 1, 0, 5, 15)),
        day_cell("channel", "counter", DAY1, (0, 0, 4, 0, 10)),
        day_cell("hall", "H1", DAY1, (0, 0, 4, 0, 10)),
        ("department", "D2", "1m", DAY1, sh("2024-03-01 00:01:00"), 0, 1, 0, 0, 0, 0, 12),
        day_cell("service", "S3", DAY2, (0, 0, 0, 0, 6), 0, 1),
        day_cell("service", "S3", DAY2, (2, 0, 0, 0, 2), 1, 3),
        day_cell("service", "S3", DAY2, (1, 0, 0, 0, 0), 1, 2),  # an older version, replayed
        day_cell("department", "D2", DAY2, (0, 0, 0, 0, 6), 0, 1),
        day_cell("department", "D2", DAY2, (2, 0, 0, 0, 2), 1, 3),
        day_cell("service", "S5", DAY2, (0, 0, 0, 0, 2)),
        day_cell("department", "D4", DAY2, (0, 0, 0, 0, 2)),
        day_cell("channel", "web", DAY2, (2, 0, 0, 0, 10)),
        day_cell("service", "S3", today, (0, 0, 0, 0, 50)),
        day_cell("department", "D2", today, (0, 0, 0, 0, 50)),
        day_cell("channel", "web", today, (0, 0, 0, 0, 50)),
    ]


def public_names(today: datetime) -> list[tuple[Any, ...]]:
    owners = [(DAY1, "D1", "S1"), (DAY1, "D1", "S2"), (DAY1, "D2", "S3"), (DAY1, "D3", "S4"),
              (DAY2, "D2", "S3"), (DAY2, "D4", "S5"), (today, "D2", "S3")]  # fmt: skip
    return [(day.date(), d, s, "", "", day) for day, d, s in owners]


def insert_public(insert: Insert, database: str = "") -> None:
    today = datetime.now(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    prefix = f"{database}." if database else ""
    insert(f"{prefix}satisfaction_partials", PARTIALS_COLUMNS, public_partials(today))
    insert(f"{prefix}names_daily", NAMES_COLUMNS, public_names(today))


PUBLISHED = [
    ("2024-03-01", "all", "", 39, 34, 5),
    ("2024-03-01", "department", "D2", 20, 20, 0),
    ("2024-03-01", "service", "S1", 12, 10, 2),
    ("2024-03-01", "service", "S3", 20, 20, 0),
    ("2024-03-02", "department", "D2", 10, 8, 2),
    ("2024-03-02", "service", "S3", 10, 8, 2),
]


def check_public(rows: Rows, view: str = "public_satisfaction_daily") -> list[tuple[Any, ...]]:
    query = f"SELECT day, dimension, key, total, good, bad FROM {view} ORDER BY day, dimension, key"
    result = [tuple(plain(list(r))) for r in rows(query)]
    assert result == PUBLISHED
    return result


@pytest.fixture(scope="module")
def public_db(chdb_db: Chdb) -> Iterator[Chdb]:
    insert_public(migrated(chdb_db, PUBLIC_DB).insert, PUBLIC_DB)
    yield chdb_db


def test_public_cells_are_ended_days_of_ten_or_more_that_differencing_cannot_split(
    public_db: Chdb,
) -> None:
    check_public(public_db.rows, f"{PUBLIC_DB}.public_satisfaction_daily")


# --- 办件 and 评价率 (issue 28, migration 015): the same dataset and checks on 18.16 in
# tests/integration/test_analyst_views.py

COVERAGE_DB = "haochaping_coverage"
TRANSACTION_COLUMNS = ("transaction_id", "service_code", "department_code", "region_code",
                       "channel", "hall_code", "window_code", "staff_id", "completed_at",
                       "ingested_at")  # fmt: skip
T5 = ("T5", "S3", "D2", "310104", "app", "H9", "", "", sh("2024-03-02 15:00:00"),
      sh("2024-03-02 15:00:01"))  # fmt: skip
TRANSACTIONS = [
    ("T1", "S1", "D1", "310101", "counter", "H1", "W1", "A", sh("2024-03-01 09:50:00"),
     sh("2024-03-01 09:50:01")),
    ("T2", "S1", "D1", "310101", "counter", "H1", "W1", "A", sh("2024-03-01 11:00:00"),
     sh("2024-03-01 11:00:01")),
    # 23:50 in Shanghai (15:50 UTC): a March 1st 办件, evaluated before its record came
    ("T3", "S1", "D1", "310101", "counter", "H1", "W2", "B", sh("2024-03-01 23:50:00"),
     sh("2024-03-02 08:00:00")),
    ("T4", "S2", "D1", "310104", "web", "", "", "", sh("2024-03-02 00:10:00"),
     sh("2024-03-02 00:10:01")),
    T5,
    T5,  # replayed
    # and sent again with a correction: its hall was H2, not H9
    (*T5[:5], "H2", "", "", T5[8], sh("2024-03-03 09:00:00")),
]  # fmt: skip
COVERAGE_RATINGS_COLUMNS = ("evaluation_id", "transaction_id", "evaluation_round",
                            "service_code", "department_code", "region_code", "channel", "level",
                            "evaluated_at", "ingested_at")  # fmt: skip
COVERAGE_RATINGS = [
    ("e1", "T1", 1, "S1", "D1", "310101", "counter", 5, sh("2024-03-01 09:55:00"),
     sh("2024-03-01 09:55:01")),
    ("e3", "T3", 1, "S1", "D1", "310101", "counter", 4, sh("2024-03-01 23:55:00"),
     sh("2024-03-01 23:55:01")),
    # T4 rated, then followed up (追评): one evaluated 办件
    ("e4", "T4", 1, "S2", "D1", "310104", "web", 1, sh("2024-03-02 08:00:00"),
     sh("2024-03-02 08:00:01")),
    ("e4b", "T4", 2, "S2", "D1", "310104", "web", 3, sh("2024-03-09 08:00:00"),
     sh("2024-03-09 08:00:01")),
    # without a 办件: one names a transaction never reported, one names none
    ("e9", "T9", 1, "S1", "D1", "310101", "qrcode", 2, sh("2024-03-01 12:00:00"),
     sh("2024-03-01 12:00:01")),
    ("e10", "", 1, "S1", "D1", "310101", "web", 5, sh("2024-03-01 13:00:00"),
     sh("2024-03-01 13:00:01")),
]  # fmt: skip


INVITATION_COLUMNS = ("transaction_id", "service_code", "department_code", "region_code",
                      "channel", "completed_at", "due_at", "invited_at")  # fmt: skip
INVITED_T2 = ("T2", "S1", "D1", "310101", "counter", sh("2024-03-01 11:00:00"),
              sh("2024-03-04 11:00:00"), sh("2024-03-04 11:00:03"))  # fmt: skip
INVITATIONS = [
    INVITED_T2,
    INVITED_T2,  # sent again after a crash: one invitation
    # T4: invited, then rated (e4 came later in this story): counts as rated
    ("T4", "S2", "D1", "310104", "web", sh("2024-03-02 00:10:00"), sh("2024-03-05 00:10:00"),
     sh("2024-03-05 00:10:02")),
]  # fmt: skip

DEFAULT_COLUMNS = ("transaction_id", "service_code", "department_code", "region_code",
                   "channel", "hall_code", "window_code", "level", "completed_at",
                   "defaulted_at")  # fmt: skip
DEFAULTED_T2 = ("T2", "S1", "D1", "310101", "counter", "H1", "W1", 3, sh("2024-03-01 11:00:00"),
                sh("2024-03-08 11:00:02"))  # fmt: skip
DEFAULT_RATINGS = [
    DEFAULTED_T2,
    DEFAULTED_T2,  # sent again after a crash: one default rating
    # T4 rated by default, then its late evaluation came: counted as evaluated, not here
    ("T4", "S2", "D1", "310104", "web", "", "", 3, sh("2024-03-02 00:10:00"),
     sh("2024-03-09 00:10:02")),
]  # fmt: skip


def insert_coverage(insert: Insert, database: str = "") -> None:
    prefix = f"{database}." if database else ""
    insert(f"{prefix}transactions", TRANSACTION_COLUMNS, TRANSACTIONS)
    insert(f"{prefix}ratings", COVERAGE_RATINGS_COLUMNS, COVERAGE_RATINGS)
    insert(f"{prefix}invitations", INVITATION_COLUMNS, INVITATIONS)
    insert(f"{prefix}default_ratings", DEFAULT_COLUMNS, DEFAULT_RATINGS)


def check_coverage(rows: Rows, database: str = "") -> None:
    prefix = f"{database}." if database else ""
    daily = rows(
        "SELECT toString(day), department_code, service_code, hall_code, window_code, "
        f"sum(transactions), sum(evaluated) FROM {prefix}coverage_daily "
        "GROUP BY day, department_code, service_code, hall_code, window_code"
    )
    # sorted here: 18.16 reads ORDER BY 1 as a constant, not as the first column
    assert sorted(tuple(plain(row)) for row in daily) == [
        ("2024-03-01", "D1", "S1", "H1", "W1", 2, 1),
        ("2024-03-01", "D1", "S1", "H1", "W2", 1, 1),
        ("2024-03-02", "D1", "S2", "", "", 1, 1),
        ("2024-03-02", "D2", "S3", "H2", "", 1, 0),  # once, with its correction
    ]
    monthly = rows(
        f"SELECT toString(month), sum(transactions), sum(evaluated) FROM {prefix}coverage_monthly "
        "GROUP BY month"
    )
    assert [tuple(plain(row)) for row in monthly] == [("2024-03-01", 5, 3)]
    without = rows(
        f"SELECT evaluation_id, transaction_id FROM {prefix}evaluations_without_transaction "
    )
    assert sorted(tuple(row) for row in without) == [("e10", ""), ("e9", "T9")]
    response = rows(
        f"SELECT toString(day), service_code, invited, rated_after "
        f"FROM {prefix}invitation_response_daily"
    )
    assert sorted(tuple(plain(row)) for row in response) == [
        ("2024-03-04", "S1", 1, 0),
        ("2024-03-05", "S2", 1, 1),
    ]
    defaulted = rows(
        f"SELECT toString(day), service_code, window_code, defaulted "
        f"FROM {prefix}default_ratings_daily"
    )
    assert [tuple(plain(row)) for row in defaulted] == [("2024-03-01", "S1", "W1", 1)]
    # a default rating is not an evaluation: T2 stays unevaluated in coverage_daily
    assert sorted(tuple(plain(row)) for row in daily)[0][-1] == 1
    if not database:  # the report's queries name the tables unqualified: the current database
        check_coverage_report(rows)


def check_coverage_report(rows: Rows) -> None:
    """`haochaping coverage` and the coverage page's queries (reports/coverage.py)."""
    from reports.coverage import coverage

    found = coverage(
        rows, since=date(2024, 3, 1), until=date(2024, 3, 6), by="hall",
        min_transactions=1, limit=10, horizon_days=15,
    )  # fmt: skip
    assert (found.transactions, found.evaluated) == (5, 3)
    assert [(p, t, e) for p, t, e, _ in found.lowest] == [("H2", 1, 0), ("H1", 3, 2)]
    assert [p for p, *_ in found.unevaluated] == ["H2"]
    assert (found.invited, found.rated_after_invitation) == (2, 1)
    assert found.no_transaction_id == 1
    assert found.defaulted == 1
    # issue 28's screening signal: e9 names a 办件 never reported (e10 names none: the
    # worker's own no_transaction flag is for that)
    from reports.suspects import without_transaction

    unmatched = without_transaction(rows, channels=("qrcode", "web"), horizon_days=15, limit=10)
    assert [row[0] for row in unmatched] == ["e9"]
    assert list(unmatched[0][1]) == ["unknown_transaction"]
    assert without_transaction(rows, channels=("counter",), horizon_days=15, limit=10) == []


@pytest.fixture(scope="module")
def coverage_db(chdb_db: Chdb) -> Iterator[Chdb]:
    insert_coverage(migrated(chdb_db, COVERAGE_DB).insert, COVERAGE_DB)
    yield chdb_db


def test_evaluation_rates_count_each_transaction_once_whatever_the_order(coverage_db: Chdb) -> None:
    check_coverage(coverage_db.rows, COVERAGE_DB)
    coverage_db.execute(f"USE {COVERAGE_DB}")
    try:
        check_coverage_report(coverage_db.rows)
    finally:
        coverage_db.execute("USE haochaping")


def test_no_evaluation_is_said_to_lack_its_transaction_before_the_feed_starts(
    chdb_db: Chdb,
) -> None:
    from reports.suspects import without_transaction

    database = "haochaping_feed"
    migrated(chdb_db, database).insert(
        f"{database}.ratings", COVERAGE_RATINGS_COLUMNS, COVERAGE_RATINGS[-2:]
    )
    chdb_db.execute(f"USE {database}")
    try:
        find = lambda: without_transaction(  # noqa: E731
            chdb_db.rows, channels=("qrcode", "web"), horizon_days=15, limit=10
        )
        assert find() == []  # e9 names T9, but no 办件 has come yet at all
        chdb_db.insert(f"{database}.transactions", TRANSACTION_COLUMNS, TRANSACTIONS[:1])
        assert [row[0] for row in find()] == ["e9"]
    finally:
        chdb_db.execute("USE haochaping")
