"""The time ranges of the dashboard's picker, as Shanghai calendar spans. Pure: no I/O.

A range is half-open, [start, end) in epoch seconds. "today" ends now (its trend is hourly),
the others are whole Shanghai days (their trend is daily). The previous range, which every
change is measured against, has the same length just before it; for today that is yesterday
up to the same time of day, so that a morning is not compared with a whole day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from runtime.clock import CHINA

HOUR: Final = 3600
DAY: Final = 86_400
KINDS: Final = ("today", "7d", "30d", "month")
LABELS: Final = {"today": "今天", "7d": "近7天", "30d": "近30天", "month": "月份"}
# ASCII digits only (\d also takes "٢٠٢٦"), and the whole text (``$`` allows a newline)
_MONTH: Final = re.compile(r"([0-9]{4})-([0-9]{2})")
EARLIEST_MONTH: Final = date(2000, 1, 1)


class RangeError(ValueError):
    """A range the picker cannot mean; its text is shown to the user as it is."""


@dataclass(frozen=True)
class Range:
    kind: str
    start: int
    end: int
    prev_start: int
    prev_end: int
    month: str = ""  # YYYY-MM for kind "month"

    @property
    def step(self) -> int:
        """Width of a trend bucket: an hour for today, a day otherwise."""
        return HOUR if self.kind == "today" else DAY

    @property
    def window(self) -> str:
        """The worker's windows the trend is summed from: minutes for hours, days for days."""
        return "1m" if self.kind == "today" else "1d"

    @property
    def label(self) -> str:
        return f"{self.month} 月" if self.kind == "month" else LABELS[self.kind]

    def buckets(self) -> list[int]:
        """Every bucket start of the trend, also those without evaluations."""
        first = self.start - (self.start + 8 * HOUR) % self.step
        return list(range(first, self.end, self.step))

    def query(self) -> dict[str, str]:
        """The URL parameters that mean this range (every link keeps them)."""
        return {"range": self.kind, "month": self.month} if self.month else {"range": self.kind}


def _midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=CHINA).timestamp())


def _month_start(year: int, month: int) -> date:
    return date(year, month, 1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _prev_month(first: date) -> date:
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def parse(kind: str | None, month: str | None = None, *, now: datetime | None = None) -> Range:
    """The range a URL names: ``range`` = today | 7d | 30d | month (with ``month`` =
    YYYY-MM, default this month). Raises RangeError with a readable message otherwise."""
    moment = (now or datetime.now(CHINA)).astimezone(CHINA)
    today = moment.date()
    kind = kind or "today"
    if kind not in KINDS:
        raise RangeError(f"未知的时间范围 range={kind!r}：可选 today、7d、30d、month")
    if kind == "today":
        start, end = _midnight(today), int(moment.timestamp())
        return Range(kind, start, end, start - DAY, end - DAY)
    if kind in ("7d", "30d"):
        days = 7 if kind == "7d" else 30
        end = _midnight(today + timedelta(days=1))
        start = _midnight(today - timedelta(days=days - 1))
        return Range(kind, start, end, start - days * DAY, start)
    if not month:
        first = today.replace(day=1)
    else:
        found = _MONTH.fullmatch(month)
        if not found or not 1 <= int(found[2]) <= 12:
            raise RangeError(f"月份 month={month!r} 不是 YYYY-MM 格式的月份")
        first = _month_start(int(found[1]), int(found[2]))
    if first < EARLIEST_MONTH or first > today.replace(day=1):
        raise RangeError(f"月份 {first:%Y-%m} 不在 2000-01 到本月之间")
    start, end = _midnight(first), _midnight(_next_month(first))
    return Range(kind, start, end, _midnight(_prev_month(first)), start, month=f"{first:%Y-%m}")


def bucket_label(epoch: int, step: int) -> str:
    moment = datetime.fromtimestamp(epoch, CHINA)
    return f"{moment:%H:00}" if step == HOUR else f"{moment:%m-%d}"


def months_of(span: Range) -> list[str]:
    """The calendar months (YYYY-MM-01) a range touches, for the monthly case indicators."""
    first = datetime.fromtimestamp(span.start, CHINA).date().replace(day=1)
    last = datetime.fromtimestamp(max(span.start, span.end - 1), CHINA).date().replace(day=1)
    months = []
    while first <= last:
        months.append(f"{first:%Y-%m-%d}")
        first = _next_month(first)
    return months
