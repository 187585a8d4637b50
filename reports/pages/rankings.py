"""The rankings page: departments, service items or halls by satisfaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from reports.pages.counts import range_series, trend_of
from reports.pages.coverage import evaluation_rates
from reports.pages.names import (
    Names,
    name_of,
    names,
)
from reports.pages.reading import Execute, Row
from reports.ranges import Range
from schemas.dimensions import SPEC_BY_NAME

# the dimensions a ranking can be by, with their labels (schemas/dimensions.py)
RANKED_DIMENSIONS: Final = {
    name: SPEC_BY_NAME[name].label_zh for name in ("department", "service", "hall")
}


SORTABLE: Final = (
    "good_rate",
    "bad_rate",
    "evaluations",
    "bad_reviews",
    "mean_level",
    "evaluation_rate",
    "code",
)


# what the office asks about first: the least satisfied, then the most bad reviews
DEFAULT_ORDER: Final = {
    "good_rate": "asc",
    "bad_rate": "desc",
    "evaluations": "desc",
    "bad_reviews": "desc",
    "mean_level": "asc",
    "evaluation_rate": "asc",
    "code": "asc",
}


def ranking(
    execute: Execute,
    span: Range,
    dimension: str,
    *,
    min_total: int,
    sort: str = "good_rate",
    order: str = "",
    limit: int = 50,
    keys: Iterable[str] | None = None,
    known: Names | None = None,
) -> list[Row]:
    """Keys of a dimension with at least ``min_total`` evaluations, least satisfied first by
    default, each with its trend (a sparkline's numbers)."""
    found = range_series(execute, span, dimension, keys)
    known = known or names(execute, span)
    rates = evaluation_rates(execute, span, dimension)
    rows = []
    for code, counts in found.totals().items():
        if counts.total < min_total:
            continue
        trend = trend_of(span, found.by_key[code])
        rows.append(
            {
                "code": code,
                "name": name_of(dimension, code, known),
                **counts.as_row(),
                # evaluated 办件 per 办件 (issue 28); None where no 办件 came
                "evaluation_rate": rates.get(code),
                "trend": trend["good_rate"],
                "trend_evaluations": trend["evaluations"],
            }
        )
    descending = (order or DEFAULT_ORDER[sort]) == "desc"

    def sort_key(row: Row) -> tuple[Any, ...]:
        value = row[sort]
        missing = value is None
        if isinstance(value, int | float) and descending:
            value = -value
        return (missing, value, -row["bad_rate"] if row["bad_rate"] else 0, row["code"])

    if sort == "code":
        rows.sort(key=lambda r: r["code"], reverse=descending)
    else:
        rows.sort(key=sort_key)
    return rows[:limit]
