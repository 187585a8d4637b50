"""Migration 010 on a current ClickHouse (chdb): exclusions, raw and official rates, suspects
and the `haochaping suspects` queries; tests/integration/test_screening.py checks the official
rates on the 18.16 server through the real pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from reports import suspects as report
from sinks.migrate import load_migrations
from sinks.rows import CASE_EVENTS_COLUMNS, NO_ACTION, SUSPECTS_COLUMNS
from tests.unit.sinks.test_ddl_on_current_clickhouse import Chdb, sh

RATINGS_COLUMNS = (
    "evaluation_id",
    "department_code",
    "service_code",
    "channel",
    "region_code",
    "level",
    "window_code",
    "evaluated_at",
    "ingested_at",
)


def rating(eid: str, dept: str, level: int, at: str = "2024-03-01 10:00:00") -> tuple:
    return (eid, dept, "S1", "counter", "310101", level, "W1", sh(at), sh(at))


RATINGS = [
    rating("e1", "D1", 5),
    rating("e2", "D1", 5),
    rating("e3", "D1", 1),
    rating("e4", "D1", 2),
    *(rating(f"p{i}", "D2", 5) for i in range(30)),
]
NO = sh("1970-01-01 08:00:00")


def event(case_id: str, kind: str, at: str) -> tuple:
    return (case_id, kind, sh(at), "D1", "x", "", 0, NO, NO, NO, *NO_ACTION.values())


EVENTS = [
    event("e3", "appealed", "2024-03-02 09:00:00"),
    event("e3", "appeal_upheld", "2024-03-03 09:00:00"),
    event("e4", "appealed", "2024-03-02 09:00:00"),
    event("e4", "appeal_rejected", "2024-03-03 09:00:00"),
    event("e1", "suspect_confirmed", "2024-03-02 10:00:00"),
    event("e2", "suspect_confirmed", "2024-03-02 10:00:00"),
    event("e2", "suspect_cleared", "2024-03-02 11:00:00"),
]


def suspect(eid: str, version: int, reasons: list[str]) -> tuple:
    return (eid, version, reasons, 0.7, [f"{r}: why" for r in reasons], "D1", "S1", "counter",
            5, "H1", "W1", "ST1", "ev", "dev", "net", sh("2024-03-01 10:00:00"))  # fmt: skip


SUSPECTS = [
    suspect("e1", 1, ["window_burst"]),
    suspect("e1", 2, ["staff_burst", "window_burst"]),
    suspect("e2", 1, ["window_burst"]),
]


Rows = Callable[..., list[tuple[Any, ...]]]


def insert_dataset(insert: Callable[[str, tuple[str, ...], list[tuple]], None]) -> None:
    # everything twice: a replay must change no number
    for _ in range(2):
        insert("ratings", RATINGS_COLUMNS, RATINGS)
        insert("case_events", CASE_EVENTS_COLUMNS, EVENTS)
        insert("suspects", SUSPECTS_COLUMNS, SUSPECTS)


@pytest.fixture(scope="module")
def db() -> Iterator[Chdb]:
    chdb = Chdb()
    for migration in load_migrations():
        for statement in migration.statements():
            chdb.execute(statement)
    insert_dataset(chdb.insert)
    yield chdb
    chdb.close()


def check_exclusions_are_upheld_appeals_and_confirmed_suspects(query: Rows) -> None:
    rows = query("SELECT evaluation_id, appeal_upheld, suspect_confirmed FROM exclusions")
    assert sorted(rows) == [("e1", 0, 1), ("e3", 1, 0)]


def check_official_rates_leave_the_exclusions_out_and_raw_rates_keep_them(query: Rows) -> None:
    rows = query(
        "SELECT raw_total, raw_good, excluded, total, good, bad, raw_good_rate, good_rate "
        "FROM satisfaction_official_daily WHERE dimension = 'department' AND key = 'D1'"
    )
    assert rows == [(4, 2, 2, 2, 1, 1, 0.5, 0.5)]
    monthly = query(
        "SELECT raw_total, excluded, total, good FROM satisfaction_official_monthly "
        "WHERE dimension = 'department' AND key = 'D1'"
    )
    assert monthly == [(4, 2, 2, 1)]


def check_suspects_keep_their_newest_verdict_and_review(query: Rows) -> None:
    rows = query(
        "SELECT evaluation_id, reasons, status FROM suspect_reviews ORDER BY evaluation_id"
    )
    assert rows == [
        ("e1", ["staff_burst", "window_burst"], "confirmed"),
        ("e2", ["window_burst"], "cleared"),
    ]
    daily = query("SELECT reason, evaluations FROM suspects_daily ORDER BY reason")
    assert daily == [("staff_burst", 1), ("window_burst", 2)]


def check_a_perfect_department_gets_its_chance_by_luck(query: Rows) -> None:
    rows = query(
        "SELECT department_code, total, peer_bad_rate, p_value FROM suspect_departments_daily"
    )
    assert len(rows) == 1
    dept, total, peer, p = rows[0]
    assert (dept, total) == ("D2", 30)
    assert peer == pytest.approx(2 / 34)
    assert p == pytest.approx((1 - 2 / 34) ** 30)


def check_the_suspects_command_queries(query: Rows) -> None:
    found = report.suspects(
        lambda sql, p: query(sql, p),
        days=5,
        by="window",
        status="all",
        now=datetime.fromisoformat("2024-03-03T00:00:00+08:00"),
        channels=("counter", "qrcode", "web"),
        horizon_days=15,
    )
    assert [row[:6] for row in found.summary] == [("W1", 2, 2, 0, 1, 1)]
    assert [row[0] for row in found.evidence] == ["e1", "e2"]
    assert found.perfect == []  # p = 0.16: luck explains D2
    # no 办件 at all (the feed has not started): no evaluation is said to lack one
    assert found.without_transaction == []
    pending = report.suspects(
        lambda sql, p: query(sql, p),
        days=5,
        now=datetime.fromisoformat("2024-03-03T00:00:00+08:00"),
        channels=(),
        horizon_days=15,
    )
    assert pending.summary == [] and pending.evidence == []


CHECKS = (
    check_exclusions_are_upheld_appeals_and_confirmed_suspects,
    check_official_rates_leave_the_exclusions_out_and_raw_rates_keep_them,
    check_suspects_keep_their_newest_verdict_and_review,
    check_a_perfect_department_gets_its_chance_by_luck,
    check_the_suspects_command_queries,
)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_on_a_current_clickhouse(db: Chdb, check: Callable[[Rows], None]) -> None:
    check(db.rows)
