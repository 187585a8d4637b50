"""Working-day deadlines against the published 2026 calendar and the fallback for 2027.

2026 data in chinese-calendar 1.11 (checked against the State Council notice): Mid-Autumn
Fri 25 – Sun 27 September off; National Day Thu 1 – Wed 7 October off; make-up working days
Sunday 20 September and Saturday 10 October.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from runtime.clock import CHINA
from streams.cases.deadlines import WorkingCalendar, due_soon_at

CN = timezone(timedelta(hours=8))


def cn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN)


def end_of(y: int, m: int, d: int) -> datetime:
    """24:00 China time of that day, in UTC."""
    return (cn(y, m, d) + timedelta(days=1)).astimezone(UTC)


def fallback_count(year: int) -> float:
    return REGISTRY.get_sample_value("haochaping_calendar_fallback_total", {"year": str(year)}) or 0


def test_calendar_2026_holidays_and_make_up_days() -> None:
    cal = WorkingCalendar()
    assert not cal.is_workday(date(2026, 9, 25))  # Mid-Autumn, a Friday
    assert cal.is_workday(date(2026, 9, 20))  # make-up Sunday
    assert not cal.is_workday(date(2026, 10, 5))  # National Day week, a Monday
    assert cal.is_workday(date(2026, 10, 10))  # make-up Saturday
    assert not cal.is_workday(date(2026, 10, 11))


def test_bad_review_before_national_day() -> None:
    cal = WorkingCalendar()
    start = cn(2026, 9, 30, 10, 15)  # Wednesday, last working day before the holiday
    # Working days after 30 Sep: 8 Oct (1), 9 (2), Sat 10 (3, make-up), 12–16 (4–8),
    # 19–23 (9–13), 26 (14), 27 (15).
    assert cal.add_working_days(start, 1) == end_of(2026, 10, 8)
    assert cal.add_working_days(start, 1) == datetime(2026, 10, 8, 16, 0, tzinfo=UTC)
    assert cal.add_working_days(start, 3) == end_of(2026, 10, 10)
    assert cal.add_working_days(start, 15) == end_of(2026, 10, 27)
    assert cal.add_working_days(start, 15) == datetime(2026, 10, 27, 16, 0, tzinfo=UTC)


def test_day_is_the_china_day_of_start() -> None:
    cal = WorkingCalendar()
    # 23:59 China time on 30 Sep is still 30 Sep; given in UTC it must count the same.
    assert cal.add_working_days(datetime(2026, 9, 30, 15, 59, tzinfo=UTC), 1) == end_of(2026, 10, 8)
    # 00:30 China time on 1 Oct (16:30 UTC on 30 Sep) is a holiday: day 1 is 8 Oct as well.
    assert cal.add_working_days(datetime(2026, 9, 30, 16, 30, tzinfo=UTC), 1) == end_of(2026, 10, 8)


def test_started_on_a_holiday_counts_from_next_working_day() -> None:
    cal = WorkingCalendar()
    assert cal.add_working_days(cn(2026, 10, 3, 9), 1) == end_of(2026, 10, 8)
    assert cal.add_working_days(cn(2026, 10, 3, 9), 2) == end_of(2026, 10, 9)
    # Mid-Autumn: Thursday 24 Sep -> Monday 28 Sep.
    assert cal.add_working_days(cn(2026, 9, 24, 17), 1) == end_of(2026, 9, 28)
    # The make-up Saturday is day 1 after Friday 9 Oct.
    assert cal.add_working_days(cn(2026, 10, 9, 11), 1) == end_of(2026, 10, 10)


def test_fallback_for_2027_uses_weekends_and_configured_holidays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = fallback_count(2027)
    cal = WorkingCalendar(
        extra_holidays={date(2027, 1, 1), date(2027, 2, 8)},
        extra_workdays={date(2027, 2, 6)},  # a make-up Saturday
    )
    with caplog.at_level(logging.WARNING, logger="haochaping.deadlines"):
        # Thu 31 Dec 2026 (known) -> Fri 1 Jan 2027 configured holiday -> Mon 4 Jan.
        assert cal.add_working_days(cn(2026, 12, 31, 10), 1) == end_of(2027, 1, 4)
        # Fri 5 Feb -> Sat 6 (make-up, 1), Mon 8 (holiday), Tue 9 (2).
        assert cal.add_working_days(cn(2027, 2, 5, 10), 1) == end_of(2027, 2, 6)
        assert cal.add_working_days(cn(2027, 2, 5, 10), 2) == end_of(2027, 2, 9)
        # Many more 2027 lookups: still one warning and one count.
        assert cal.add_working_days(cn(2027, 3, 1), 200) > cn(2027, 12, 1)
    lines = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(lines) == 1
    assert "chinese-calendar has no data for 2027" in lines[0].getMessage()
    assert fallback_count(2027) == before + 1
    assert cal.fallback_years == {2027}


def test_fallback_without_configuration_is_plain_weekdays() -> None:
    cal = WorkingCalendar()
    assert cal.is_workday(date(2027, 1, 1))  # unknown holiday: configure it!
    assert not cal.is_workday(date(2027, 1, 2))
    assert cal.is_workday(date(2003, 1, 1))  # before the package's range, same fallback
    assert cal.fallback_years == {2027, 2003}


def test_configured_days_override_known_years() -> None:
    cal = WorkingCalendar(extra_holidays={date(2026, 10, 8)})
    assert cal.add_working_days(cn(2026, 9, 30, 10), 1) == end_of(2026, 10, 9)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="both"):
        WorkingCalendar(extra_holidays={date(2027, 1, 1)}, extra_workdays={date(2027, 1, 1)})
    cal = WorkingCalendar()
    with pytest.raises(ValueError, match="aware"):
        cal.add_working_days(datetime(2026, 9, 30, 10), 1)
    with pytest.raises(ValueError, match="at least 1"):
        cal.add_working_days(cn(2026, 9, 30), 0)
    with pytest.raises(ValueError, match="negative"):
        due_soon_at(end_of(2026, 10, 8), -1)
    with pytest.raises(ValueError, match="no 1 working days"):
        every_day = {date(2030, 1, 1) + timedelta(days=i) for i in range(800)}
        WorkingCalendar(extra_holidays=every_day).add_working_days(cn(2030, 1, 1), 1)


def test_due_soon_at() -> None:
    due = end_of(2026, 10, 8)
    assert due_soon_at(due, 8) == cn(2026, 10, 8, 16).astimezone(UTC)
    assert due_soon_at(due, 0) == due
    assert due_soon_at(due.astimezone(CHINA), 48).tzinfo is UTC
