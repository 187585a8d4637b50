"""The surge alerts page: each alert, what explains it, and the minutes around its onset."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reports import queries
from reports.pages.counts import Counts
from reports.pages.names import (
    Names,
    channel_name,
    hall_name,
    name_of,
    names,
    tag_name,
)
from reports.pages.rankings import RANKED_DIMENSIONS
from reports.pages.reading import Execute, Row, iso, range_row
from reports.ranges import Range
from runtime.clock import CHINA


def alert_rows(execute: Execute, span: Range, known: Names, *, limit: int = 100) -> list[Row]:
    rows = execute(
        queries.DASHBOARD_ALERTS, {"from_ts": span.start, "to_ts": span.end, "limit": limit}
    )
    out = []
    for (
        alert_id,
        dimension,
        key,
        status,
        opened_at,
        last_event_at,
        resolved_at,
        peak_bad,
        peak_total,
        expected,
        score,
        first_start,
        last_end,
        explanation,
    ) in rows:
        try:
            explained = json.loads(explanation) if explanation else {}
        except ValueError:
            explained = {}
        out.append(
            {
                "alert_id": alert_id,
                "dimension": dimension,
                "dimension_label": RANKED_DIMENSIONS.get(dimension, dimension),
                "key": key,
                "name": name_of(dimension, key, known),
                "department": (
                    key if dimension == "department" else known.service_department.get(key, "")
                ),
                "status": status,
                "status_label": "进行中" if status == "open" else "已结束",
                "open": status == "open",
                "opened_at": iso(opened_at),
                "last_event_at": iso(last_event_at),
                "resolved_at": iso(resolved_at) if status == "resolved" else None,
                "peak_bad": int(peak_bad),
                "peak_total": int(peak_total),
                "expected": round(float(expected), 2),
                "score": round(float(score), 2),
                "first_window_start": int(first_start),
                "last_window_end": int(last_end),
                "explanation": explained_row(explained, known),
            }
        )
    return out


def explained_row(explanation: dict[str, Any], known: Names) -> Row:
    def items(name: str, label: Callable[[str], str]) -> list[Row]:
        return [
            {
                "code": str(i.get("code", "")),
                "name": label(str(i.get("code", ""))),
                "count": i.get("count", 0),
            }
            for i in explanation.get(name, []) or []
            if isinstance(i, dict)
        ]

    return {
        "services": items("top_services", known.service),
        "channels": items("top_channels", channel_name),
        "halls": items("top_halls", hall_name),
        "tags": items("top_tags", tag_name),
        "comments": [str(c) for c in explanation.get("sample_comments", []) or []][:3],
    }


def alerts_page(execute: Execute, span: Range, *, around_min: int = 20) -> Row:
    """Open and recent alerts with their explanation, the counts of each judged minute, and
    the minutes around onset (bad and all evaluations of the key, from the minute windows)."""
    known = names(execute, span)
    alerts = alert_rows(execute, span, known)
    shown = alerts[:20]  # charts for the newest; the table lists them all
    events: dict[str, list[Row]] = defaultdict(list)
    if shown:
        for alert_id, state, bad, total, expected, score, start in execute(
            queries.ALERT_EVENTS, {"alert_ids": tuple(a["alert_id"] for a in shown)}
        ):
            events[alert_id].append(
                {
                    "state": state,
                    "bad": int(bad),
                    "total": int(total),
                    "expected": round(float(expected), 2),
                    "score": round(float(score), 2),
                    "minute": iso(int(start)),
                    "epoch": int(start),
                }
            )
    spans = [
        (alert["first_window_start"] - around_min * 60, alert["last_window_end"] + 10 * 60)
        for alert in shown
    ]
    around: dict[int, dict[int, Counts]] = defaultdict(dict)
    if shown:
        params: dict[str, Any] = {}
        for n, (alert, (start, end)) in enumerate(zip(shown, spans, strict=True)):
            params.update(
                {
                    f"dimension_{n}": alert["dimension"],
                    f"key_{n}": alert["key"],
                    f"from_{n}": start,
                    f"to_{n}": end,
                }
            )
        for n, minute, *levels in execute(queries.alert_minutes(len(shown)), params):
            around[int(n)].setdefault(int(minute), Counts()).add(levels)
    for n, (alert, (start, end)) in enumerate(zip(shown, spans, strict=True)):
        minutes = around.get(n, {})
        xs = list(range(start, end, 60))
        expected = {e["epoch"]: e["expected"] for e in events[alert["alert_id"]]}
        alert["events"] = events[alert["alert_id"]]
        alert["onset"] = {
            "labels": [datetime.fromtimestamp(x, CHINA).strftime("%H:%M") for x in xs],
            "bad_reviews": [minutes.get(x, Counts()).bad for x in xs],
            "evaluations": [minutes.get(x, Counts()).total for x in xs],
            "expected": [expected.get(x) for x in xs],
            "onset": datetime.fromtimestamp(alert["first_window_start"], CHINA).strftime("%H:%M"),
        }
    return {"range": range_row(span), "alerts": alerts}
