"""`haochaping reconcile` without the rendering: the worker's day windows against a recount of
`ratings FINAL`, per Shanghai day, department and service item (the view
`reconciliation_daily`, migration 006).

The official rankings read the day windows, so inside the long horizon they must agree
exactly. A day older than the horizon is reported but does not fail the check: its state was
dropped, and rows landed before migration 006 (when a late evaluation counted in no window)
may still differ there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from reports import queries
from runtime.clock import CHINA

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Difference:
    day: date
    dimension: str
    key: str
    window_total: int
    recount_total: int
    difference: int
    window_levels: tuple[int, ...]
    recount_levels: tuple[int, ...]
    in_horizon: bool


@dataclass(frozen=True)
class Reconciliation:
    first_day: date
    last_day: date
    horizon_start: date  # the first day still inside the long horizon
    compared: int  # day × dimension × key rows compared
    differing: int  # of them, those that differ (the listing may stop at a limit)
    differing_in_horizon: int  # of those, days inside the horizon: the check fails on them
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return self.differing_in_horizon == 0


def horizon_start(today: date, horizon_days: int) -> date:
    """The oldest Shanghai day an evaluation arriving today can still count in: one
    `horizon_days` old at the end of that day (a day is open while its evaluations may be)."""
    return today - timedelta(days=horizon_days)


def reconcile(
    execute: Execute,
    *,
    days: int,
    horizon_days: int,
    limit: int,
    today: date | None = None,
) -> Reconciliation:
    today = today or datetime.now(CHINA).date()
    first = today - timedelta(days=days - 1)
    start = horizon_start(today, horizon_days)
    params: dict[str, Any] = {
        "from_day": first.isoformat(),
        "to_day": today.isoformat(),
        "horizon_day": start.isoformat(),
        "limit": limit,
    }
    compared, differing, in_horizon = execute(queries.RECONCILED_ROWS, params)[0]
    differences = [
        Difference(
            row[0],
            row[1],
            row[2],
            int(row[3]),
            int(row[4]),
            int(row[5]),
            tuple(row[6]),
            tuple(row[7]),
            row[0] >= start,
        )
        for row in execute(queries.RECONCILIATION_DIFFERENCES, params)
    ]
    return Reconciliation(
        first, today, start, int(compared), int(differing or 0), int(in_horizon or 0), differences
    )
