"""The follow-up page (督办): case indicators per department and the open deadlines."""

from __future__ import annotations

import time

from reports import queries
from reports.pages.counts import rate
from reports.pages.names import (
    names,
)
from reports.pages.reading import Execute, Row, iso, range_row
from reports.ranges import Range


def case_indicators(execute: Execute, span: Range, *, department: str = "") -> list[Row]:
    """回访率, 整改率, 按期整改率 of the cases opened in the range, per department, worst
    (lowest on-time rectification, then call-back) first."""
    rows = []
    for dept, bad, called_back, rectified, on_time, appeals in execute(
        queries.CASE_INDICATORS,
        {"from_ts": span.start, "to_ts": span.end, "department": department},
    ):
        rows.append(
            {
                "department": dept,
                "bad_reviews": int(bad),
                "called_back": int(called_back),
                "rectified": int(rectified),
                "rectified_on_time": int(on_time),
                "appeals": int(appeals),
                "callback_rate": rate(int(called_back), int(bad)),
                "rectification_rate": rate(int(rectified), int(bad)),
                "on_time_rectification_rate": rate(int(on_time), int(bad)),
            }
        )
    rows.sort(
        key=lambda r: (
            r["on_time_rectification_rate"],
            r["callback_rate"],
            -r["bad_reviews"],
            r["department"],
        )
    )
    return rows


def open_deadlines(
    execute: Execute, *, department: str = "", now: int | None = None, limit: int = 500
) -> list[Row]:
    """Cases warned about (超期预警) whose step is still not done: overdue first."""
    moment = int(time.time()) if now is None else now
    out = []
    for case_id, deadline, kind, due, dept, opened in execute(
        queries.OPEN_DEADLINES, {"department": department, "limit": limit}
    ):
        overdue = kind == "overdue" or int(due) <= moment
        out.append(
            {
                "case_id": case_id,
                "department": dept,
                "deadline": deadline,
                "deadline_label": "回访" if deadline == "callback" else "整改",
                "status": "overdue" if overdue else "due_soon",
                "status_label": "超期" if overdue else "即将到期",
                "due_at": iso(int(due)),
                "opened_at": iso(int(opened)),
                "hours_late": round((moment - int(due)) / 3600, 1) if overdue else 0.0,
            }
        )
    out.sort(key=lambda r: (r["status"] != "overdue", r["due_at"], r["case_id"]))
    return out


def followup_page(execute: Execute, span: Range, *, now: int | None = None) -> Row:
    known = names(execute, span)
    deadlines = open_deadlines(execute, now=now)
    per_department: dict[str, Row] = {}
    for case in deadlines:
        row = per_department.setdefault(
            case["department"],
            {
                "department": case["department"],
                "name": known.department(case["department"]),
                "overdue": 0,
                "due_soon": 0,
            },
        )
        row[case["status"]] += 1
    for case in deadlines:
        case["name"] = known.department(case["department"])
    indicators = case_indicators(execute, span)
    for row in indicators:
        row["name"] = known.department(row["department"])
    return {
        "range": range_row(span),
        "departments": sorted(
            per_department.values(), key=lambda r: (-r["overdue"], -r["due_soon"], r["department"])
        ),
        "overdue": [c for c in deadlines if c["status"] == "overdue"],
        "due_soon": [c for c in deadlines if c["status"] == "due_soon"],
        "indicators": indicators,
    }
