"""The coverage page (评价率, issue 28): the places with the lowest 评价率 in a range, those with
办件 and no evaluation at all, and what the invitations brought."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from reports.coverage import LABELS, PERIOD, PLACE, Place, coverage
from reports.pages.names import name_of, names
from reports.pages.reading import Execute, Row, range_row
from reports.ranges import Range
from runtime.clock import CHINA

RATES = f"""
SELECT {{column}} AS code, sum(evaluated) / sum(transactions) AS rate
FROM coverage_daily
WHERE {PERIOD}
GROUP BY code
"""


def dates_of(span: Range) -> tuple[date, date]:
    """The Shanghai days of ``span``: the first, and the day after the last."""
    since = datetime.fromtimestamp(span.start, CHINA).date()
    return since, datetime.fromtimestamp(span.end - 1, CHINA).date() + timedelta(days=1)


def evaluation_rates(execute: Execute, span: Range, dimension: str) -> dict[str, float]:
    """评价率 per key of a ranked dimension in ``span`` (keys without 办件 are absent)."""
    since, until = dates_of(span)
    # a ranked dimension (department, service, hall) is a place of the coverage report
    query = RATES.format(column=PLACE[dimension])
    found = execute(query, {"since": since.isoformat(), "until": until.isoformat()})
    return {str(code): float(rate) for code, rate in found}


def coverage_page(
    execute: Execute,
    span: Range,
    by: str,
    *,
    min_transactions: int,
    horizon_days: int,
    limit: int = 200,
) -> dict[str, Any]:
    since, until = dates_of(span)
    found = coverage(
        execute,
        since=since,
        until=until,
        by=by,
        min_transactions=min_transactions,
        limit=limit,
        horizon_days=horizon_days,
    )
    known = names(execute, span)

    def rows(places: list[Place]) -> list[Row]:
        return [
            {
                "code": place,
                "name": name_of(by, place, known),
                "transactions": transactions,
                "evaluated": evaluated,
                "evaluation_rate": rate,
            }
            for place, transactions, evaluated, rate in places
        ]

    return {
        "range": range_row(span),
        "dimension": by,
        "dimension_label": LABELS[by],
        "min_total": min_transactions,
        "transactions": found.transactions,
        "evaluated": found.evaluated,
        "evaluation_rate": found.rate,
        "invited": found.invited,
        "rated_after_invitation": found.rated_after_invitation,
        "defaulted": found.defaulted,
        "without_transaction": found.unknown_transaction,
        "without_transaction_id": found.no_transaction_id,
        "waiting_for_transaction": found.waiting,
        "horizon_days": horizon_days,
        "lowest": rows(found.lowest),
        "unevaluated": rows(found.unevaluated),
    }
