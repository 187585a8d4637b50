"""`haochaping reconcile`'s decision: which differences fail the check (inside the horizon)."""

from __future__ import annotations

from datetime import date
from typing import Any

from reports import queries
from reports.reconcile import horizon_start, reconcile

TODAY = date(2026, 11, 28)


def fake(differences: list[tuple[Any, ...]]) -> Any:
    def execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        start = date.fromisoformat(params["horizon_day"])
        if sql == queries.RECONCILED_ROWS:
            inside = sum(1 for d in differences if d[0] >= start)
            return [(120, len(differences), inside)]
        assert sql == queries.RECONCILIATION_DIFFERENCES
        return differences[: params["limit"]]

    return execute


def row(day: date, difference: int) -> tuple[Any, ...]:
    return (day, "department", "D1", 10 + difference, 10, difference, [0, 0, 0, 0, 10 + difference],
            [0, 0, 0, 0, 10])  # fmt: skip


def test_the_horizon_starts_its_length_in_days_before_today() -> None:
    # an evaluation arriving today may be 30 days old: from 29 October on (Shanghai days)
    assert horizon_start(TODAY, 30) == date(2026, 10, 29)


def test_no_difference_passes() -> None:
    found = reconcile(fake([]), days=31, horizon_days=30, limit=100, today=TODAY)
    assert found.ok and found.compared == 120 and found.differences == []
    assert found.first_day == date(2026, 10, 29)


def test_a_difference_inside_the_horizon_fails_one_outside_is_only_reported() -> None:
    old, recent = date(2026, 10, 1), date(2026, 11, 27)
    found = reconcile(fake([row(old, -2)]), days=90, horizon_days=30, limit=100, today=TODAY)
    assert found.ok and [d.in_horizon for d in found.differences] == [False]
    found = reconcile(
        fake([row(old, -2), row(recent, 1)]), days=90, horizon_days=30, limit=100, today=TODAY
    )
    assert not found.ok and found.differing_in_horizon == 1
    assert [(d.day, d.difference, d.in_horizon) for d in found.differences] == [
        (old, -2, False),
        (recent, 1, True),
    ]


def test_differences_past_the_listing_limit_still_fail_the_check() -> None:
    rows = [row(date(2026, 10, 1), 1), row(date(2026, 11, 20), 1)]
    found = reconcile(fake(rows), days=90, horizon_days=30, limit=1, today=TODAY)
    assert len(found.differences) == 1 and not found.ok
