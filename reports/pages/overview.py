"""The overview page: the range's key figures against the previous range, and its trend."""

from __future__ import annotations

from reports.pages.alerts import alert_rows
from reports.pages.counts import Counts, change, range_series, rate, series, trend_of
from reports.pages.names import (
    channel_name,
    names,
)
from reports.pages.reading import Execute, Row, range_row
from reports.ranges import Range


def kpis(current: Counts, previous: Counts) -> Row:
    now, before = current.as_row(), previous.as_row()
    out = {}
    for name, points in (
        ("evaluations", False),
        ("good_rate", True),
        ("bad_rate", True),
        ("bad_reviews", False),
    ):
        out[name] = {
            "value": now[name],
            "previous": before[name],
            "change": change(now[name], before[name], points=points),
        }
    return out


def overview(execute: Execute, span: Range) -> Row:
    """Totals against the previous range, the trend, the share by channel, open alerts. Every
    evaluation has exactly one channel, so the channel dimension's windows are the total."""
    current = range_series(execute, span, "channel")
    # the previous range of today is yesterday up to this time of day: minute windows
    window = span.window if span.kind == "today" else "1d"
    previous = series(execute, "channel", window, span.prev_start, span.prev_end, span.step)
    by_channel = current.totals()
    total = Counts()
    for counts in by_channel.values():
        total.add(counts.levels)
    before = Counts()
    for counts in previous.totals().values():
        before.add(counts.levels)
    channels = sorted(
        (
            {
                "code": code,
                "name": channel_name(code),
                **counts.as_row(),
                "share": rate(counts.total, total.total),
            }
            for code, counts in by_channel.items()
        ),
        key=lambda r: (-r["evaluations"], r["code"]),
    )
    return {
        "range": range_row(span),
        "kpis": kpis(total, before),
        "trend": trend_of(span, current.overall()),
        "channels": channels,
        "alerts": [a for a in alert_rows(execute, span, names(execute, span)) if a["open"]],
    }
