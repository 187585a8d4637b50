"""The public page, for third-party evaluators: aggregates only, never a small count."""

from __future__ import annotations

from reports.pages.counts import Counts, range_series
from reports.pages.names import (
    CATALOGUE_DEPARTMENTS,
    Names,
)
from reports.pages.rankings import ranking
from reports.pages.reading import Execute, Row, range_row
from reports.ranges import Range


def public_page(execute: Execute, span: Range, *, min_total: int) -> Row:
    """What a third-party evaluator sees: aggregates only, read as the evaluator from the
    public database (no names from `ratings`: the catalogue's department names)."""
    known = Names(dict(CATALOGUE_DEPARTMENTS), {}, {})
    rows = ranking(execute, span, "department", min_total=min_total, limit=500, known=known)
    for row in rows:
        row.pop("trend_evaluations")
    total = Counts()
    for counts in range_series(execute, span, "channel").totals().values():
        total.add(counts.levels)
    return {"range": range_row(span), "totals": total.as_row(), "departments": rows}
