"""What `haochaping suspects` shows: flagged evaluations by department, hall window or staff
member, with their evidence, and the departments whose 好评率 is implausibly perfect.

Queries only (run on 18.16 and on a current ClickHouse alike); the command renders them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]
By = Literal["department", "window", "staff"]
Status = Literal["pending", "confirmed", "cleared", "all"]

COLUMN: Final[dict[str, str]] = {
    "department": "department_code",
    "window": "window_code",
    "staff": "staff_id",
}
# a department is reported when a day without a bad review is this unlikely by luck
PERFECT_P_VALUE: Final = 0.001

_STATUS = "AND (%(status)s = 'all' OR status = %(status)s)"

SUMMARY: Final = """
SELECT
    {column} AS place,
    count() AS evaluations,
    countIf(level >= 3) AS good,
    countIf(level <= 2) AS bad,
    countIf(status = 'confirmed') AS confirmed,
    countIf(status = 'cleared') AS cleared,
    round(max(score), 2) AS top_score,
    arraySort(groupUniqArrayArray(reasons)) AS reasons
FROM suspect_reviews
WHERE evaluated_at >= toDateTime(%(since)s) AND {column} != '' {status}
GROUP BY place
ORDER BY evaluations DESC, place
LIMIT %(limit)s
"""

EVIDENCE: Final = """
SELECT
    evaluation_id,
    evaluated_at,
    department_code,
    window_code,
    staff_id,
    level,
    round(score, 2) AS score,
    reasons,
    evidence,
    status
FROM suspect_reviews
WHERE evaluated_at >= toDateTime(%(since)s) {status}
ORDER BY score DESC, evaluated_at DESC, evaluation_id
LIMIT %(limit)s
"""

PERFECT: Final = """
SELECT day, department_code, total, round(peer_bad_rate, 4) AS peer_bad_rate, p_value
FROM suspect_departments_daily
WHERE day >= toDate(toDateTime(%(since)s)) AND p_value < %(p)s
ORDER BY p_value, day, department_code
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class Suspects:
    by: str
    summary: list[tuple[Any, ...]]
    evidence: list[tuple[Any, ...]]
    perfect: list[tuple[Any, ...]]


def suspects(
    execute: Execute,
    *,
    days: int,
    by: By = "department",
    status: Status = "pending",
    limit: int = 20,
    now: datetime | None = None,
) -> Suspects:
    since = int(((now or datetime.now()) - timedelta(days=days)).timestamp())
    params = {"since": since, "status": status, "limit": limit, "p": PERFECT_P_VALUE}
    column = COLUMN[by]
    return Suspects(
        by=by,
        summary=execute(SUMMARY.format(column=column, status=_STATUS), params),
        evidence=execute(EVIDENCE.format(status=_STATUS), params),
        perfect=execute(PERFECT, params),
    )
