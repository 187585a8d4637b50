"""A department's page: its breakdowns, problems, recent bad reviews, alerts and cases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from reports import queries
from reports.pages.alerts import alert_rows
from reports.pages.counts import Counts, range_series, trend_of
from reports.pages.followup import case_indicators, open_deadlines
from reports.pages.names import (
    Names,
    channel_name,
    hall_name,
    names,
    tag_name,
)
from reports.pages.reading import Execute, Row, day_end, iso, range_row
from reports.problems import department_problems
from reports.ranges import Range

# the complaint themes read at most this many comments per query (`haochaping problems`
# reads 200,000; a page must answer in well under a second)
THEME_SAMPLE: Final = 20_000


def department_page(execute: Execute, span: Range, code: str, *, now: int | None = None) -> Row:
    known = names(execute, span)
    params = {"department": code, "from_ts": span.start, "to_ts": span.end}
    found = _breakdown(execute, params, known)
    trend = range_series(execute, span, "department", [code]).by_key.get(code, {})
    total = Counts()
    for counts in trend.values():
        total.add(counts.levels)
    bad = sum(c.bad for c in found.items.values())
    return {
        "range": range_row(span),
        "code": code,
        "name": known.department(code),
        "totals": total.as_row(),
        "trend": trend_of(span, trend),
        "services": _table(found.items, lambda s: found.item_names.get(s, "")),
        "halls": _table(found.halls, hall_name),
        "channels": _table(found.channels, channel_name),
        **_problems(execute, span, code, bad),
        "recent_bad": _recent_bad(execute, params),
        "alerts": _own_alerts(execute, span, code, known),
        "cases": case_indicators(execute, span, department=code),
        "deadlines": open_deadlines(execute, department=code, now=now),
    }


@dataclass
class Breakdown:
    items: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    halls: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    channels: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    item_names: dict[str, str] = field(default_factory=dict)


def _breakdown(execute: Execute, params: dict[str, Any], known: Names) -> Breakdown:
    found = Breakdown()
    for service, service_name, hall, channel, evaluations, bad in execute(
        queries.DEPARTMENT_BREAKDOWN, params
    ):
        levels = [int(bad), 0, int(evaluations) - int(bad), 0, 0]
        found.items[service].add(levels)
        found.channels[channel].add(levels)
        if hall:
            found.halls[hall].add(levels)
        found.item_names[service] = service_name or known.service(service)
    return found


def _table(found: dict[str, Counts], label: Callable[[str], str]) -> list[Row]:
    rows = []
    for key, counts in found.items():
        row = {"code": key, "name": label(key), **counts.as_row()}
        row.pop("mean_level")  # not kept per breakdown: bad / good only
        rows.append(row)
    rows.sort(key=lambda r: (r["good_rate"], -r["evaluations"], r["code"]))
    return rows


def _problems(execute: Execute, span: Range, code: str, bad: int) -> Row:
    """What `haochaping problems --department` finds for it (at least 3 bad reviews, the 8
    first tags and themes)."""
    finding = (
        department_problems(
            execute,
            {
                "from_ts": span.start,
                "to_ts": day_end(span.end - 1),
                "department": code,
                "service": "",
                "limit": THEME_SAMPLE,
            },
            top=8,
            min_docs=3,
        )
        if bad >= 3
        else None
    )
    return {
        "tags": [
            {"code": t, "name": tag_name(t), "bad_reviews": n}
            for t, n in (finding.tags if finding else [])
        ],
        "themes": [
            {
                "term": t.term,
                "bad_comments": t.bad_docs,
                "share": round(t.share_of_bad, 4),
                "lift": round(t.lift, 2),
                "example": t.example,
            }
            for t in (finding.themes if finding else [])
        ],
    }


def _recent_bad(execute: Execute, params: dict[str, Any]) -> list[Row]:
    return [
        {
            "evaluated_at": iso(at),
            "service_code": service,
            "service_name": service_name,
            "channel": channel_name(channel),
            "hall": hall_name(hall) or hall,
            "level": int(level),
            "tags": [f"{t} {tag_name(t)}" for t in tags],
            "comment": comment,
        }
        for at, service, service_name, channel, hall, level, tags, comment in execute(
            queries.DEPARTMENT_RECENT_BAD, {**params, "limit": 50}
        )
    ]


def _own_alerts(execute: Execute, span: Range, code: str, known: Names) -> list[Row]:
    """The alerts of the department and of its own service items."""
    own_services = {s for s, d in known.service_department.items() if d == code}
    return [
        a
        for a in alert_rows(execute, span, known)
        if (a["dimension"] == "department" and a["key"] == code)
        or (a["dimension"] == "service" and a["key"] in own_services)
    ]
