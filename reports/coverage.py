"""What `haochaping coverage` shows (issue 28): 评价率 (evaluated 办件 per 办件) by service item,
department, channel, hall, window or staff member, lowest first, those with 办件 but no
evaluation at all among them; and the first-round evaluations whose 办件 never came.

Queries only, on the views of migration 015 (run on 18.16 and on a current ClickHouse alike).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]

# what a place is, per --by: a window is named with its hall (codes repeat across halls)
PLACE: Final[dict[str, str]] = {
    "service": "service_code",
    "department": "department_code",
    "channel": "channel",
    "hall": "hall_code",
    "window": "concat(hall_code, '/', window_code)",
    "staff": "staff_id",
}
# where the place must be known: a web or app 办件 has no hall, window or staff
_KNOWN: Final[dict[str, str]] = {
    "hall": "hall_code != ''",
    "window": "window_code != ''",
    "staff": "staff_id != ''",
}

LOWEST: Final = """
SELECT place, transactions, evaluated, evaluated / transactions AS rate
FROM
(
    SELECT {place} AS place, sum(transactions) AS transactions, sum(evaluated) AS evaluated
    FROM coverage_daily
    WHERE day >= toDate(%(since)s) AND {known}
    GROUP BY place
)
WHERE transactions >= %(min_transactions)s
ORDER BY rate, transactions DESC, place
LIMIT %(limit)s
"""

TOTALS: Final = """
SELECT sum(transactions), sum(evaluated)
FROM coverage_daily
WHERE day >= toDate(%(since)s)
"""

# evaluations of the period whose 办件 is unknown: past the horizon they are counted apart as
# without a transaction; younger ones may still see theirs arrive
WITHOUT: Final = """
SELECT
    countIf(days_since >= %(horizon)s AND transaction_id != '') AS unknown_transaction,
    countIf(transaction_id = '') AS no_transaction_id,
    countIf(days_since < %(horizon)s AND transaction_id != '') AS waiting
FROM evaluations_without_transaction
WHERE toDate(evaluated_at) >= toDate(%(since)s)
"""


@dataclass(frozen=True)
class Coverage:
    since: date
    transactions: int
    evaluated: int
    lowest: list[tuple[str, int, int, float]]  # place, 办件, evaluated, 评价率
    unknown_transaction: int  # past the horizon, naming a 办件 never reported
    no_transaction_id: int
    waiting: int  # within the horizon: their 办件 may still come

    @property
    def rate(self) -> float | None:
        return self.evaluated / self.transactions if self.transactions else None


def coverage(
    execute: Execute,
    *,
    today: date,
    days: int,
    by: str,
    min_transactions: int,
    limit: int,
    horizon_days: int,
) -> Coverage:
    since = today - timedelta(days=days - 1)
    params = {
        "since": since.isoformat(),
        "min_transactions": min_transactions,
        "limit": limit,
        "horizon": horizon_days,
    }
    query = LOWEST.format(place=PLACE[by], known=_KNOWN.get(by, "1"))
    lowest = [(str(p), int(t), int(e), float(r)) for p, t, e, r in execute(query, params)]
    total, rated = execute(TOTALS, params)[0]
    unknown, no_id, waiting = execute(WITHOUT, params)[0]
    return Coverage(
        since, int(total or 0), int(rated or 0), lowest, int(unknown), int(no_id), int(waiting)
    )
