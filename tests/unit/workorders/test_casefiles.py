"""What the case page offers and how it counts days (workorders/casefiles.py): the actions the
worker's rules would accept from this user now, rebuilt from the landed events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams.cases.deadlines import WorkingCalendar
from workorders.casefiles import case_of, events_of_case, offered, working_days_left

OPENED = int(datetime(2026, 11, 9, 2, 0, tzinfo=UTC).timestamp())  # Monday 10:00 Shanghai
NONE: tuple[Any, ...] = ("", -1, -1, "", "", "")


def row(event: str, minutes: int, department: str = "D1", *action: Any) -> tuple[Any, ...]:
    at = OPENED + 60 * minutes
    opened = event == "opened"
    return (event, at, department, "x", "S1" if opened else "", 1 if opened else 0,
            at - 600 if opened else 0, *(action or NONE))  # fmt: skip


def reader(rows: list[tuple[Any, ...]]) -> Any:
    return lambda sql, params: rows


def test_a_fresh_case_offers_the_department_its_steps_and_the_office_its_own() -> None:
    case = case_of(reader([row("opened", 0)]), "E1", WorkingCalendar())
    assert case is not None
    assert offered(case, "department", ("D1",)) == [
        "request_reroute", "verify", "call_back", "appeal",
    ]  # fmt: skip
    assert offered(case, "office", ()) == ["route", "close"]
    assert offered(case, "department", ("D9",)) == []
    assert offered(case, "analyst", ()) == []


def test_after_a_true_verification_the_rectification_is_offered() -> None:
    verified = row("verified", 5, "D1", "a1", 1, 1, "attitude", "", "")
    case = case_of(reader([row("opened", 0), verified]), "E1", WorkingCalendar())
    assert case is not None and case.verification is not None
    assert "rectify" in offered(case, "department", ("D1",))
    assert "verify" not in offered(case, "department", ("D1",))


def test_a_routed_case_belongs_to_the_department_it_went_to() -> None:
    rows = [row("opened", 0), row("routed", 5, "D2", "a1", -1, -1, "", "", "")]
    case = case_of(reader(rows), "E1", WorkingCalendar())
    assert case is not None and case.responsible_department == "D2"
    assert offered(case, "department", ("D1",)) == []
    assert "verify" in offered(case, "department", ("D2",))


def test_no_events_no_case() -> None:
    assert case_of(reader([]), "E1", WorkingCalendar()) is None


def test_working_days_left_skip_the_weekend_and_count_late_days() -> None:
    calendar = WorkingCalendar()
    friday = datetime(2026, 11, 13, 4, 0, tzinfo=UTC)  # Friday noon in Shanghai
    monday_due = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)  # the end of Tuesday 17 (China)
    assert working_days_left(monday_due, friday, calendar) == 2  # Monday, Tuesday
    assert working_days_left(friday, friday.replace(hour=3), calendar) == 0
    tuesday = datetime(2026, 11, 17, 4, 0, tzinfo=UTC)
    assert working_days_left(datetime(2026, 11, 12, 16, 0, tzinfo=UTC), tuesday, calendar) == -2


def test_events_of_one_second_come_in_the_order_of_the_case_steps() -> None:
    """ClickHouse orders a tie by event name: rectification_rated before rectified. The
    history and the rebuilt case must not (seen in CI: a handler who did both in a second)."""
    rectified = row("rectified", 9, "D1", "a3", -1, -1, "", "", "")
    rated = row("rectification_rated", 9, "D1", "a4", -1, -1, "", "", "satisfied")
    as_clickhouse_sorts = [row("opened", 0), rated, rectified]
    found = events_of_case(reader(as_clickhouse_sorts), "E1")
    assert [r[0] for r in found] == ["opened", "rectified", "rectification_rated"]
