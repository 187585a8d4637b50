"""The dashboard's numbers without ClickHouse: the cache in front of it, rates and changes,
the ranking's order and minimum volume (tests/integration/test_dashboard.py has the rest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reports import queries
from reports.pages.counts import Counts, change
from reports.pages.rankings import ranking
from reports.pages.reading import Reader
from reports.ranges import parse
from runtime.clock import CHINA

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=CHINA)


def test_the_cache_spares_repeated_queries_until_it_expires() -> None:
    sent: list[str] = []
    clock = [0.0]

    def execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        sent.append(sql)
        return [(len(sent),)]

    read = Reader(execute, cache_s=10, clock=lambda: clock[0])
    assert read("SELECT 1", {"a": 1}) == [(1,)]
    assert read("SELECT 1", {"a": 1}) == [(1,)]
    assert read("SELECT 1", {"a": 2}) == [(2,)]
    clock[0] = 11
    assert read("SELECT 1", {"a": 1}) == [(3,)]
    # names change slowly: kept for minutes
    read(queries.DASHBOARD_NAMES, {})
    clock[0] = 200
    read(queries.DASHBOARD_NAMES, {})
    assert read.queries == 4
    uncached = Reader(execute, cache_s=0)
    uncached("SELECT 1", {})
    uncached("SELECT 1", {})
    assert uncached.queries == 2


def test_rates_and_changes() -> None:
    counts = Counts([1, 1, 0, 3, 5])
    row = counts.as_row()
    assert (row["evaluations"], row["bad_reviews"], row["good_rate"], row["bad_rate"]) == (
        10,
        2,
        0.8,
        0.2,
    )
    assert row["mean_level"] == 4.0
    assert Counts().as_row()["good_rate"] is None
    assert change(0.9, 0.95, points=True) == -0.05
    assert change(150, 100, points=False) == 0.5
    assert change(5, 0, points=False) is None
    assert change(None, 0.5, points=True) is None


def test_ranking_least_satisfied_first_above_the_minimum_volume() -> None:
    span = parse("7d", now=NOW)
    day = span.buckets()[-1]
    rows = {
        "A": [3, 0, 0, 0, 27],  # 90 %
        "B": [1, 0, 0, 0, 39],  # 97.5 %
        "C": [5, 0, 0, 0, 5],  # 50 %, but only 10 evaluations
    }

    def execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if sql == queries.WINDOW_SERIES:
            return [(key, day, *levels) for key, levels in rows.items()]
        return []

    found = ranking(execute, span, "department", min_total=20)
    assert [r["code"] for r in found] == ["A", "B"]
    assert found[0]["trend"] == [None] * 6 + [0.9]
    by_volume = ranking(execute, span, "department", min_total=1, sort="evaluations")
    assert [r["code"] for r in by_volume] == ["B", "A", "C"]
