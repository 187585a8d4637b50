"""`haochaping report` without the rendering (a summary; the dashboard's overview page is
reports/pages/overview.py): what landed, what was rejected, the surge
alerts, and the satisfaction rankings of a period, read from ClickHouse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reports import queries
from runtime.clock import CHINA

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]
Rows = list[tuple[Any, ...]]
RANKED = ("department", "service")


@dataclass
class Summary:
    names: dict[str, str]  # department and service codes → names
    landed: Rows  # channel, department, department name, evaluations, bad
    rejected: Rows  # reason, messages
    alerts: Rows  # alert id, status, opened at, peak bad, score
    rankings: dict[str, Rows]  # dimension → code, total, good, bad, rates, mean level
    miskeyed: Rows  # channel, evaluations, of them mis-keyed, share


def period_start(days: int) -> int:
    """The first second of the period: `days` Shanghai calendar days, today included."""
    today = datetime.now(CHINA).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((today - timedelta(days=days - 1)).timestamp())


def summary(execute: Execute, *, days: int, min_total: int, limit: int) -> Summary:
    since = period_start(days)
    names: dict[str, str] = {}
    for dept, dept_name, service, service_name in execute(queries.NAMES, {"since": since}):
        names[dept] = dept_name
        names[service] = service_name
    rankings = {
        dimension: execute(
            queries.RANKING,
            {"dimension": dimension, "since": since, "min_total": min_total, "limit": limit},
        )
        for dimension in RANKED
    }
    return Summary(
        names,
        execute(queries.LANDED_BY_CHANNEL_AND_DEPARTMENT, {"limit": limit}),
        execute(queries.REJECTED_BY_REASON, {}),
        execute(queries.RECENT_ALERTS, {"limit": limit}),
        rankings,
        execute(queries.MISKEYED_BY_CHANNEL, {"since": since}),
    )
