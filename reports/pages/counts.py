"""Level counts, the rates computed from them, and series of them over a range.

Rates are recomputed from summed counts (a mean of daily rates would weigh a quiet day like a
busy one). 好评率 = levels 3..5 / all, 差评率 = levels 1..2 / all, as in docs/analyst-guide.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from reports import queries
from reports.pages.reading import Execute, Row
from reports.ranges import Range, bucket_label


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
