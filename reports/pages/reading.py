"""Reading ClickHouse for the pages: a cached reader, and the range as the pages show it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from reports import queries
from reports.ranges import DAY, Range
from runtime.clock import CHINA

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]


Row = dict[str, Any]


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


def day_end(epoch: int) -> int:
    """The next Shanghai midnight after ``epoch``: a cache key that holds for the day."""
    return epoch - (epoch + 8 * 3600) % DAY + DAY
