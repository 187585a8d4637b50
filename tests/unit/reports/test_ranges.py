from __future__ import annotations

from datetime import datetime

import pytest

from reports.ranges import DAY, HOUR, RangeError, months_of, parse
from runtime.clock import CHINA

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=CHINA)


def at(*args: int) -> int:
    return int(datetime(*args, tzinfo=CHINA).timestamp())  # type: ignore[misc]


def test_today_is_hourly_and_compared_with_yesterday_up_to_the_same_time() -> None:
    span = parse("today", now=NOW)
    assert (span.start, span.end) == (at(2026, 3, 10), int(NOW.timestamp()))
    assert (span.prev_start, span.prev_end) == (span.start - DAY, span.end - DAY)
    assert (span.step, span.window) == (HOUR, "1m")
    assert len(span.buckets()) == 15  # 00:00 .. 14:00


def test_seven_and_thirty_days_are_whole_shanghai_days_today_included() -> None:
    week = parse("7d", now=NOW)
    assert (week.start, week.end) == (at(2026, 3, 4), at(2026, 3, 11))
    assert (week.prev_start, week.prev_end) == (at(2026, 2, 25), at(2026, 3, 4))
    assert (week.step, week.window, len(week.buckets())) == (DAY, "1d", 7)
    assert len(parse("30d", now=NOW).buckets()) == 30


def test_a_month_and_its_previous_month() -> None:
    january = parse("month", "2026-01", now=NOW)
    assert (january.start, january.end) == (at(2026, 1, 1), at(2026, 2, 1))
    assert (january.prev_start, january.prev_end) == (at(2025, 12, 1), at(2026, 1, 1))
    assert january.query() == {"range": "month", "month": "2026-01"}
    assert parse("month", None, now=NOW).month == "2026-03"
    assert months_of(parse("30d", now=NOW)) == ["2026-02-01", "2026-03-01"]


@pytest.mark.parametrize(
    ("kind", "month", "words"),
    [
        ("yesterday", None, "range='yesterday'"),
        ("month", "2026-13", "month='2026-13'"),
        ("month", "26-01", "month='26-01'"),
        ("month", "2026-04", "2026-04"),  # the future
        ("month", "1999-12", "1999-12"),
        ("month", "٢٠٢٦-٠١", "month='٢٠٢٦-٠١'"),  # \\d and int() take Arabic-Indic digits
        ("month", "2026-01\n", "month='2026-01\\\\n'"),  # $ matches before a newline
    ],
)
def test_what_the_picker_cannot_mean_is_refused_readably(
    kind: str, month: str | None, words: str
) -> None:
    with pytest.raises(RangeError, match=words):
        parse(kind, month, now=NOW)
