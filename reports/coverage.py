"""评价率 (evaluated 办件 per 办件, issue 28) for `haochaping coverage` and the dashboard's
coverage page: by service item, department, channel, hall, window or staff member, lowest
first; the places with 办件 and no evaluation at all; the first-round evaluations whose
办件 never came; and the default ratings (默认评价, when that setting is on), counted apart.

Queries only, on the views of migrations 015, 016 and 017 (run on 18.16 and on a current ClickHouse
alike); the command and the page render them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]
Place = tuple[str, int, int, float]  # place, 办件, evaluated, 评价率

# what a place is, per dimension: a window is named with its hall (codes repeat across halls)
PLACE: Final[dict[str, str]] = {
    "service": "service_code",
    "department": "department_code",
    "channel": "channel",
    "hall": "hall_code",
    "window": "concat(hall_code, '/', window_code)",
    "staff": "staff_id",
}
LABELS: Final[dict[str, str]] = {
    "service": "服务事项",
    "department": "部门",
    "channel": "渠道",
    "hall": "服务大厅",
    "window": "窗口",
    "staff": "工作人员",
}
# where the place must be known: a web or app 办件 has no hall, window or staff
_KNOWN: Final[dict[str, str]] = {
    "hall": "hall_code != ''",
    "window": "window_code != ''",
    "staff": "staff_id != ''",
}
PERIOD: Final = "day >= toDate(%(since)s) AND day < toDate(%(until)s)"

PLACES: Final = """
SELECT place, transactions, evaluated, evaluated / transactions AS rate
FROM
(
    SELECT {place} AS place, sum(transactions) AS transactions, sum(evaluated) AS evaluated
    FROM coverage_daily
    WHERE {period} AND {known}
    GROUP BY place
)
WHERE transactions >= %(min_transactions)s {unevaluated}
ORDER BY rate, transactions DESC, place
LIMIT %(limit)s
"""

TOTALS: Final = f"""
SELECT sum(transactions), sum(evaluated)
FROM coverage_daily
WHERE {PERIOD}
"""

# evaluations of the period whose 办件 is unknown: past the horizon they are counted apart as
# without a transaction; younger ones may still see theirs arrive
WITHOUT: Final = """
SELECT
    countIf(days_since >= %(horizon)s AND transaction_id != '') AS unknown_transaction,
    countIf(transaction_id = '') AS no_transaction_id,
    countIf(days_since < %(horizon)s AND transaction_id != '') AS waiting
FROM evaluations_without_transaction
WHERE toDate(evaluated_at) >= toDate(%(since)s) AND toDate(evaluated_at) < toDate(%(until)s)
"""

INVITED: Final = f"""
SELECT sum(invited), sum(rated_after)
FROM invitation_response_daily
WHERE {PERIOD}
"""

# 默认评价: never in 评价率's numerator, never in 好评率
DEFAULTED: Final = f"""
SELECT sum(defaulted)
FROM default_ratings_daily
WHERE {PERIOD}
"""



@dataclass(frozen=True)
class Coverage:
    since: date
    until: date  # exclusive
    by: str
    transactions: int
    evaluated: int
    lowest: list[Place]  # with at least min_transactions 办件
    unevaluated: list[Place]  # 办件 and no evaluation at all, most 办件 first
    unknown_transaction: int  # past the horizon, naming a 办件 never reported
    no_transaction_id: int
    waiting: int  # within the horizon: their 办件 may still come
    invited: int  # 主动邀评 sent in the period
    rated_after_invitation: int
    defaulted: int = 0  # 默认评价 of the period's 办件 (off unless set), not evaluations

    @property
    def rate(self) -> float | None:
        return self.evaluated / self.transactions if self.transactions else None


def coverage(
    execute: Execute,
    *,
    since: date,
    until: date,
    by: str,
    min_transactions: int,
    limit: int,
    horizon_days: int,
) -> Coverage:
    params: dict[str, Any] = {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "min_transactions": min_transactions,
        "limit": limit,
        "horizon": horizon_days,
    }
    lowest = _places(execute, by, params, unevaluated=False)
    unevaluated = _places(execute, by, {**params, "min_transactions": 1}, unevaluated=True)
    total, rated = execute(TOTALS, params)[0]
    unknown, no_id, waiting = execute(WITHOUT, params)[0]
    invited, after = execute(INVITED, params)[0]
    defaulted = execute(DEFAULTED, params)[0][0]
    return Coverage(
        since,
        until,
        by,
        int(total or 0),
        int(rated or 0),
        lowest,
        unevaluated,
        int(unknown or 0),
        int(no_id or 0),
        int(waiting or 0),
        int(invited or 0),
        int(after or 0),
        int(defaulted or 0),
    )


def _places(execute: Execute, by: str, params: dict[str, Any], *, unevaluated: bool) -> list[Place]:
    query = PLACES.format(
        place=PLACE[by],
        period=PERIOD,
        known=_KNOWN.get(by, "1"),
        unevaluated="AND evaluated = 0" if unevaluated else "",
    )
    return [(str(p), int(t), int(e), float(r)) for p, t, e, r in execute(query, params)]
