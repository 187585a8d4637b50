"""What the dashboard shows, without the web: each page's numbers as plain, JSON-ready dicts,
read through the analyst queries of reports/queries.py (the same layer as `haochaping report`).

Rates are recomputed from summed counts (a mean of daily rates would weigh a quiet day like a
busy one). 好评率 = levels 3..5 / all, 差评率 = levels 1..2 / all, as in docs/analyst-guide.md.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from channels.catalogue import DEPARTMENTS, HALL_BY_CODE
from reports import queries
from reports.problems import department_problems
from reports.ranges import DAY, Range, bucket_label
from runtime.clock import CHINA
from schemas.codes import CHANNEL_LABELS, REVIEW_TAGS, Channel

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]
Row = dict[str, Any]

RANKED_DIMENSIONS: Final = {"department": "部门", "service": "事项", "hall": "大厅"}
SORTABLE: Final = ("good_rate", "bad_rate", "evaluations", "bad_reviews", "mean_level", "code")
# what the office asks about first: the least satisfied, then the most bad reviews
DEFAULT_ORDER: Final = {
    "good_rate": "asc",
    "bad_rate": "desc",
    "evaluations": "desc",
    "bad_reviews": "desc",
    "mean_level": "asc",
    "code": "asc",
}
# the complaint themes read at most this many comments per query (`haochaping problems`
# reads 200,000; a page must answer in well under a second)
THEME_SAMPLE: Final = 20_000
# queries whose answer changes slowly keep it longer than a page refresh
SLOW_QUERIES: Final = {queries.DASHBOARD_NAMES: 300.0, queries.PROBLEM_ALL_COMMENTS: 600.0}


class Reader:
    """``execute`` with a short-lived cache: several people looking at one page, or one page
    refreshed every 30 s, cost the analyst's quota one set of queries per ``cache_s``."""

    def __init__(
        self,
        execute: Execute,
        *,
        cache_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._execute = execute
        self._cache_s = cache_s
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, list[tuple[Any, ...]]]] = {}
        self.queries = 0  # sent to ClickHouse, for tests and the bench

    def __call__(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        ttl = SLOW_QUERIES.get(sql, self._cache_s) if self._cache_s > 0 else 0.0
        key = (sql, json.dumps(params, sort_keys=True, default=str))
        now = self._clock()
        if ttl > 0:
            hit = self._cache.get(key)
            if hit and hit[0] > now:
                return hit[1]
        rows = list(self._execute(sql, params))
        self.queries += 1
        if ttl > 0:
            if len(self._cache) > 2000:  # stale entries of ranges nobody looks at any more
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[key] = (now + ttl, rows)
        return rows


# ---- counting -------------------------------------------------------------------------


@dataclass
class Counts:
    levels: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])

    def add(self, levels: Iterable[int]) -> None:
        for i, n in enumerate(levels):
            self.levels[i] += int(n)

    @property
    def total(self) -> int:
        return sum(self.levels)

    @property
    def bad(self) -> int:
        return self.levels[0] + self.levels[1]

    @property
    def good(self) -> int:
        return self.total - self.bad

    def as_row(self) -> Row:
        total = self.total
        return {
            "evaluations": total,
            "good_reviews": self.good,
            "bad_reviews": self.bad,
            "good_rate": rate(self.good, total),
            "bad_rate": rate(self.bad, total),
            "mean_level": (
                round(sum((i + 1) * n for i, n in enumerate(self.levels)) / total, 2)
                if total
                else None
            ),
        }


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def change(current: float | None, previous: float | None, *, points: bool) -> float | None:
    """Against the previous range: percentage points for a rate, relative for a count."""
    if current is None or previous is None:
        return None
    if points:
        return round(current - previous, 4)
    return round((current - previous) / previous, 4) if previous else None


@dataclass
class Series:
    """Level counts per key and bucket of one dimension over a range."""

    by_key: dict[str, dict[int, Counts]]

    def totals(self) -> dict[str, Counts]:
        out: dict[str, Counts] = {}
        for key, buckets in self.by_key.items():
            total = out[key] = Counts()
            for counts in buckets.values():
                total.add(counts.levels)
        return out

    def overall(self) -> dict[int, Counts]:
        out: dict[int, Counts] = defaultdict(Counts)
        for buckets in self.by_key.values():
            for bucket, counts in buckets.items():
                out[bucket].add(counts.levels)
        return out


def series(
    execute: Execute,
    dimension: str,
    window: str,
    start: int,
    end: int,
    step: int,
    keys: Iterable[str] | None = None,
) -> Series:
    params: dict[str, Any] = {
        "dimension": dimension,
        "window": window,
        "from_ts": start,
        "to_ts": end,
        "step": step,
    }
    sql = queries.WINDOW_SERIES
    if keys is not None:
        params["keys"] = tuple(sorted(keys))
        if not params["keys"]:
            return Series({})
        sql = queries.WINDOW_SERIES_OF_KEYS
    by_key: dict[str, dict[int, Counts]] = defaultdict(dict)
    for key, bucket, *levels in execute(sql, params):
        counts = by_key[key].setdefault(int(bucket), Counts())
        counts.add(levels)
    return Series(dict(by_key))


def range_series(
    execute: Execute, span: Range, dimension: str, keys: Iterable[str] | None = None
) -> Series:
    return series(execute, dimension, span.window, span.start, span.end, span.step, keys)


def trend_of(span: Range, buckets: dict[int, Counts]) -> Row:
    """Every bucket of the range (empty ones as 0 and no rate), labelled for a chart."""
    xs = span.buckets()
    rows = [buckets.get(b, Counts()) for b in xs]
    return {
        "buckets": xs,
        "labels": [bucket_label(b, span.step) for b in xs],
        "evaluations": [c.total for c in rows],
        "bad_reviews": [c.bad for c in rows],
        "good_rate": [rate(c.good, c.total) for c in rows],
        "bad_rate": [rate(c.bad, c.total) for c in rows],
    }


# ---- names ----------------------------------------------------------------------------


@dataclass
class Names:
    departments: dict[str, str]
    services: dict[str, str]
    service_department: dict[str, str]

    def department(self, code: str) -> str:
        return self.departments.get(code, "")

    def service(self, code: str) -> str:
        return self.services.get(code, "")


CATALOGUE_DEPARTMENTS: Final = {d.code: d.name for d in DEPARTMENTS}


def day_end(epoch: int) -> int:
    """The next Shanghai midnight after ``epoch``: a cache key that holds for the day."""
    return epoch - (epoch + 8 * 3600) % DAY + DAY


def names(execute: Execute, span: Range) -> Names:
    departments = dict(CATALOGUE_DEPARTMENTS)
    services: dict[str, str] = {}
    service_department: dict[str, str] = {}
    rows = execute(queries.DASHBOARD_NAMES, {"from_ts": span.start, "to_ts": day_end(span.end - 1)})
    for dept, dept_name, service, service_name in rows:
        if dept_name:
            departments[dept] = dept_name
        services[service] = service_name or services.get(service, "")
        service_department[service] = dept
    return Names(departments, services, service_department)


def hall_name(code: str) -> str:
    hall = HALL_BY_CODE.get(code)
    return hall.name if hall else ""


def channel_name(code: str) -> str:
    try:
        return CHANNEL_LABELS[Channel(code)]
    except ValueError:
        return code


def tag_name(code: str) -> str:
    tag = REVIEW_TAGS.get(code)
    return tag.label if tag else (code or "(无标签)")


def name_of(dimension: str, code: str, known: Names) -> str:
    if dimension == "department":
        return known.department(code)
    if dimension == "service":
        return known.service(code)
    if dimension == "hall":
        return hall_name(code)
    if dimension == "channel":
        return channel_name(code)
    return ""


# ---- pages ----------------------------------------------------------------------------


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


def range_row(span: Range) -> Row:
    return {
        "kind": span.kind,
        "month": span.month,
        "label": span.label,
        "start": iso(span.start),
        "end": iso(span.end),
        "previous_start": iso(span.prev_start),
        "previous_end": iso(span.prev_end),
        "step": "hour" if span.step == 3600 else "day",
    }


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, CHINA).isoformat(timespec="seconds")


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
            "onset": datetime.fromtimestamp(alert["first_window_start"], CHINA).strftime(
                "%H:%M"
            ),
        }
    return {"range": range_row(span), "alerts": alerts}


def department_page(execute: Execute, span: Range, code: str, *, now: int | None = None) -> Row:
    known = names(execute, span)
    params = {"department": code, "from_ts": span.start, "to_ts": span.end}
    items: dict[str, Counts] = defaultdict(Counts)
    halls: dict[str, Counts] = defaultdict(Counts)
    channels: dict[str, Counts] = defaultdict(Counts)
    item_names: dict[str, str] = {}
    for service, service_name, hall, channel, evaluations, bad in execute(
        queries.DEPARTMENT_BREAKDOWN, params
    ):
        levels = [int(bad), 0, int(evaluations) - int(bad), 0, 0]
        items[service].add(levels)
        channels[channel].add(levels)
        if hall:
            halls[hall].add(levels)
        item_names[service] = service_name or known.service(service)

    def table(found: dict[str, Counts], label: Callable[[str], str]) -> list[Row]:
        rows = []
        for key, counts in found.items():
            row = {"code": key, "name": label(key), **counts.as_row()}
            row.pop("mean_level")  # not kept per breakdown: bad / good only
            rows.append(row)
        rows.sort(key=lambda r: (r["good_rate"], -r["evaluations"], r["code"]))
        return rows

    trend = range_series(execute, span, "department", [code]).by_key.get(code, {})
    total = Counts()
    for counts in trend.values():
        total.add(counts.levels)
    # what `haochaping problems --department` finds for it (at least 3 bad reviews, the
    # 8 first tags and themes), its evaluations counted by the breakdown above
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
        if sum(c.bad for c in items.values()) >= 3
        else None
    )
    recent = [
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
    own_services = {s for s, d in known.service_department.items() if d == code}
    alerts = [
        a
        for a in alert_rows(execute, span, known)
        if (a["dimension"] == "department" and a["key"] == code)
        or (a["dimension"] == "service" and a["key"] in own_services)
    ]
    return {
        "range": range_row(span),
        "code": code,
        "name": known.department(code),
        "totals": total.as_row(),
        "trend": trend_of(span, trend),
        "services": table(items, lambda s: item_names.get(s, "")),
        "halls": table(halls, hall_name),
        "channels": table(channels, channel_name),
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
        "recent_bad": recent,
        "alerts": alerts,
        "cases": case_indicators(execute, span, department=code),
        "deadlines": open_deadlines(execute, department=code, now=now),
    }


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
