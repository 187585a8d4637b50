"""The public page, for third-party evaluators: the published cells only (migration 014), read
as the evaluator from the public database. Ended Shanghai days per department and service item,
no cell under 10 evaluations (the view withholds them, whatever a visitor asks for), and the
catalogue's names, never a name as a channel sent it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Final

from reports.pages.counts import Counts, trend_of
from reports.pages.reading import Execute, Row, range_row
from reports.ranges import DAY, Range
from runtime.clock import CHINA
from schemas.catalogue import DEPARTMENT_NAMES, SERVICE_NAMES

PUBLISHED_CELLS: Final = """
SELECT day, dimension, key, level_1, level_2, level_3, level_4, level_5
FROM public_satisfaction_daily
WHERE day >= toDate(%(first_day)s) AND day < toDate(%(end_day)s)
"""
# what the view withholds (sinks/migrations/014_public_cells.sql), said on the page
MIN_GROUP: Final = 10
_NAMES: Final = {"department": DEPARTMENT_NAMES, "service": SERVICE_NAMES}


def public_page(execute: Execute, span: Range, *, min_total: int) -> Row:
    """Totals, departments and service items over the published days of ``span``; a key is
    listed with at least ``min_total`` evaluations in them."""
    first = datetime.fromtimestamp(span.start, CHINA).date()
    end = (datetime.fromtimestamp(span.end - 1, CHINA) + timedelta(days=1)).date()
    cells = execute(PUBLISHED_CELLS, {"first_day": first.isoformat(), "end_day": end.isoformat()})
    by_key: dict[tuple[str, str], dict[int, Counts]] = defaultdict(dict)
    for day, dimension, key, *levels in cells:
        at = int(datetime(day.year, day.month, day.day, tzinfo=CHINA).timestamp())
        by_key[dimension, key].setdefault(at, Counts()).add(levels)
    total = Counts()
    for counts in by_key.pop(("all", ""), {}).values():
        total.add(counts.levels)
    return {
        "range": range_row(span),
        "totals": total.as_row(),
        "days": sorted({day.isoformat() for day, *_ in cells}),
        "min_group": MIN_GROUP,
        "departments": _ranked(span, by_key, "department", min_total),
        "services": _ranked(span, by_key, "service", min_total),
    }


def _ranked(
    span: Range, by_key: dict[tuple[str, str], dict[int, Counts]], dimension: str, min_total: int
) -> list[Row]:
    """The keys of ``dimension``, least satisfied first, each with its daily trend."""
    rows = []
    for (dim, code), days in by_key.items():
        if dim != dimension:
            continue
        counts = Counts()
        for day in days.values():
            counts.add(day.levels)
        if counts.total < min_total:
            continue
        trend = trend_of(_daily(span), days)
        name = _NAMES[dimension].get(code, "")
        rows.append({"code": code, "name": name, **counts.as_row(), "trend": trend["good_rate"]})
    rows.sort(key=lambda r: (r["good_rate"], -r["bad_reviews"], r["code"]))
    return rows


def _daily(span: Range) -> Range:
    """``span`` with day buckets (today's page has hourly ones; its cells are days)."""
    if span.step == DAY:
        return span
    return Range("7d", span.start, span.end, span.prev_start, span.prev_end)
