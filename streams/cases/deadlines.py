"""Working-day deadlines of the 好差评 follow-up loop (回访 1 working day, 整改 15 working days).

Working days are the official ones: weekends and public holidays off, make-up working days
(调休, e.g. Saturday 2026-10-10) on, as published by the State Council and packaged by
``chinese-calendar``. That package only knows the years it was released for (1.11: 2004–2026)
and raises ``NotImplementedError`` for others; deadlines must still be computed then, so such a
date falls back to Monday–Friday minus ``extra_holidays`` plus ``extra_workdays`` (the operator
configures the new year's holidays once the State Council publishes them), and the fallback is
announced once per year in a log line and in ``haochaping_calendar_fallback_total{year}``.

The deadline rule (documented for departments, asserted by the tests):

* Days are counted in China time (UTC+8; China has no daylight saving since 1991, so a fixed
  offset is exact and needs no tz database).
* The day the case starts does not count (as for legal time limits: 期间开始之日不计算在内);
  the deadline is the END (24:00 China time) of the n-th working day after that day.
* A case started on a weekend or holiday therefore has the first working day after it as its
  day 1: a bad review on Saturday must be called back by the end of Monday.
* ``extra_holidays`` / ``extra_workdays`` also override chinese-calendar inside the years it
  knows: explicit operator configuration wins (e.g. a local holiday, or a late correction).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import chinese_calendar
from prometheus_client import Counter

from runtime.clock import CHINA

log = logging.getLogger("haochaping.deadlines")

# No run of non-working days is anywhere near this long; hitting it means a misconfiguration
# (e.g. a whole year in extra_holidays), which must fail loudly rather than loop for ages.
_MAX_SCAN_DAYS: Final = 400

calendar_fallback = Counter(
    "haochaping_calendar_fallback_total",
    "years for which a working calendar fell back to weekends plus the configured holidays "
    "because chinese-calendar has no data",
    ["year"],
)


class WorkingCalendar:
    """Official working days of mainland China, with a fallback for unknown years."""

    def __init__(
        self,
        extra_holidays: Iterable[date] = frozenset(),
        extra_workdays: Iterable[date] = frozenset(),
    ) -> None:
        self.extra_holidays: frozenset[date] = frozenset(extra_holidays)
        self.extra_workdays: frozenset[date] = frozenset(extra_workdays)
        both = self.extra_holidays & self.extra_workdays
        if both:
            raise ValueError(
                "dates both in extra_holidays and extra_workdays: "
                + ", ".join(sorted(d.isoformat() for d in both))
            )
        # Deadlines of thousands of cases ask about the same few hundred days.
        self._cache: dict[date, bool] = {}
        self.fallback_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        cached = self._cache.get(day)
        if cached is None:
            cached = self._cache[day] = self._is_workday(day)
        return cached

    def _is_workday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self._note_fallback(day.year)
            return day.weekday() < 5

    def _note_fallback(self, year: int) -> None:
        if year in self.fallback_years:
            return
        self.fallback_years.add(year)
        configured = sum(1 for d in self.extra_holidays | self.extra_workdays if d.year == year)
        log.warning(
            "chinese-calendar has no data for %d: working days of %d are Monday-Friday minus "
            "%d configured holidays/make-up days; upgrade chinese-calendar or configure %d's "
            "holidays and 调休 days",
            year,
            year,
            configured,
            year,
        )
        calendar_fallback.labels(year=str(year)).inc()

    def add_working_days(self, start: datetime, n: int) -> datetime:
        """End (24:00 China time, returned in UTC) of the n-th working day after the China-time
        day of ``start``; see the module docstring for the rule."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        day = start.astimezone(CHINA).date()
        counted = 0
        for _ in range(n * 7 + _MAX_SCAN_DAYS):
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
                if counted == n:
                    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA)
                    return end.astimezone(UTC)
        raise ValueError(f"no {n} working days found after {start.isoformat()}")


def due_soon_at(due: datetime, hours_before: int) -> datetime:
    """When a "due soon" warning falls due: ``hours_before`` wall-clock hours before ``due``.

    Wall-clock, not working, hours: the warning is a reminder and a reminder on a Sunday for a
    Monday deadline is still useful to whoever is on duty.
    """
    if due.tzinfo is None:
        raise ValueError("due must be timezone-aware")
    if hours_before < 0:
        raise ValueError(f"hours_before must not be negative, got {hours_before}")
    return (due - timedelta(hours=hours_before)).astimezone(UTC)
