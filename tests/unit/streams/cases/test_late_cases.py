"""Cases of bad reviews that arrive late, through the worker's steps in memory: the deadlines
count from the platform's receipt, and a step reported before the review came prevents every
warning of its deadline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.simulation import Simulator
from runtime.settings import Settings
from streams.testing import InMemoryPipeline

SETTINGS = Settings(demo_mode=True, topic_partitions=2)
EVALUATED = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
RECEIVED = EVALUATED + timedelta(days=8)  # Tuesday 17 November, 10:00


def bad_review(at: datetime, seed: int = 1) -> dict[str, Any]:
    return Simulator(seed=seed).evaluation(at, level=1, open_halls=True)


def department_event(
    pipe: InMemoryPipeline, case_id: str, kind: str, at: datetime, sent: datetime
) -> None:
    value = {"case_id": case_id, "event": kind, "at": at.isoformat(), "department_code": "D1"}
    pipe.log(SETTINGS.topic_cases).append(
        case_id.encode(), json.dumps(value).encode(), sent.timestamp(), None
    )


def move_clocks(pipe: InMemoryPipeline, at: datetime) -> None:
    # events of other cases move every partition's case clock (its newest event time)
    for n in range(16):
        department_event(pipe, f"clock-{at:%m%d%H}-{n}", "closed", at, at)


def warnings(pipe: InMemoryPipeline, case_id: str) -> list[tuple[str, str]]:
    return sorted(
        (w["deadline"], w["kind"])
        for w in pipe.values(SETTINGS.topic_case_warnings)
        if w["case_id"] == case_id
    )


def test_a_bad_review_eight_days_late_opens_a_case_that_is_not_yet_due() -> None:
    pipe = InMemoryPipeline(SETTINGS)
    review = bad_review(EVALUATED)
    move_clocks(pipe, RECEIVED - timedelta(minutes=1))
    pipe.send_raw(
        [(review["evaluation_id"].encode(), json.dumps(review).encode())], RECEIVED.timestamp()
    )
    pipe.run()
    opened = [e for e in pipe.values(SETTINGS.topic_cases) if e["event"] == "opened"]
    assert len(opened) == 1
    assert datetime.fromisoformat(opened[0]["at"]) == RECEIVED
    # 1 working day from its receipt: the end of Wednesday 18 November, China time
    assert datetime.fromisoformat(opened[0]["callback_due_at"]) == datetime(
        2026, 11, 18, 16, 0, tzinfo=UTC
    )
    assert warnings(pipe, review["evaluation_id"]) == []  # nothing raised at once
    move_clocks(pipe, datetime(2026, 11, 18, 9, 0, tzinfo=UTC))  # 17:00 on the last day
    pipe.run()
    assert warnings(pipe, review["evaluation_id"]) == [("callback", "due_soon")]
    move_clocks(pipe, datetime(2026, 11, 19, 0, 0, tzinfo=UTC))
    pipe.run()
    assert warnings(pipe, review["evaluation_id"]) == [
        ("callback", "due_soon"),
        ("callback", "overdue"),
    ]


def test_a_call_back_before_its_review_reached_the_worker_prevents_every_call_back_warning() -> (
    None
):
    pipe = InMemoryPipeline(SETTINGS)
    review = bad_review(EVALUATED, seed=2)
    case_id = review["evaluation_id"]
    called_back = EVALUATED + timedelta(hours=3)
    department_event(pipe, case_id, "called_back", called_back, called_back)
    pipe.run()
    # eight days of other cases' events pass before the review itself arrives
    for day in range(1, 9):
        move_clocks(pipe, EVALUATED + timedelta(days=day))
        pipe.run()
    pipe.send_raw([(case_id.encode(), json.dumps(review).encode())], RECEIVED.timestamp())
    pipe.run()
    for day in range(9, 40):  # a month on
        move_clocks(pipe, EVALUATED + timedelta(days=day))
        pipe.run()
    assert [w for w in warnings(pipe, case_id) if w[0] == "callback"] == []
    # the rectification deadline, never met, is still warned about
    assert ("rectification", "overdue") in warnings(pipe, case_id)


def test_with_no_traffic_at_all_the_case_clock_goes_on_with_the_wall_clock() -> None:
    """Issue 26: no event after the case opened, on any partition; the worker's look at the
    partitions' ends (read to the end) moves the case clock, and the deadlines warn."""
    pipe = InMemoryPipeline(SETTINGS)
    review = bad_review(RECEIVED, seed=3)
    pipe.send_raw(
        [(review["evaluation_id"].encode(), json.dumps(review).encode())], RECEIVED.timestamp()
    )
    pipe.run()
    case_id = review["evaluation_id"]
    pipe.heartbeat(datetime(2026, 11, 18, 8, 0, tzinfo=UTC).timestamp())  # 16:00, still early
    pipe.run()
    assert warnings(pipe, case_id) == []
    pipe.heartbeat(datetime(2026, 11, 18, 9, 0, tzinfo=UTC).timestamp())  # 17:00 on the last day
    pipe.run()
    assert warnings(pipe, case_id) == [("callback", "due_soon")]
    pipe.heartbeat(datetime(2026, 11, 19, 0, 0, tzinfo=UTC).timestamp())
    pipe.heartbeat(datetime(2026, 11, 19, 0, 0, tzinfo=UTC).timestamp())  # a repeat warns nothing
    pipe.run()
    assert warnings(pipe, case_id) == [("callback", "due_soon"), ("callback", "overdue")]


def test_an_event_not_read_yet_holds_its_partition_clock() -> None:
    """A partition with events still unread is not read to its end: its clock waits for them
    (a call-back in flight must not find its deadline already warned)."""
    pipe = InMemoryPipeline(SETTINGS)
    review = bad_review(RECEIVED, seed=4)
    case_id = review["evaluation_id"]
    pipe.send_raw([(case_id.encode(), json.dumps(review).encode())], RECEIVED.timestamp())
    pipe.run()
    late_at = datetime(2026, 11, 19, 0, 0, tzinfo=UTC)
    department_event(pipe, case_id, "called_back", RECEIVED + timedelta(hours=2), late_at)
    pipe.heartbeat(late_at.timestamp())  # before the agent read the call-back
    pipe.run()
    assert warnings(pipe, case_id) == []


def test_a_record_time_in_year_9999_is_rejected_with_a_reason() -> None:
    """Issue 26: the case's deadlines counted from it left the calendar (OverflowError in
    streams/cases/deadlines.py, contained as internal_error); such a time is a broken clock."""
    pipe = InMemoryPipeline(SETTINGS)
    at = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    review = {**bad_review(RECEIVED, seed=5), "evaluated_at": "9999-12-31T22:59:00+00:00"}
    pipe.send_raw([(review["evaluation_id"].encode(), json.dumps(review).encode())], at.timestamp())
    pipe.run()
    [rejected] = pipe.values(SETTINGS.topic_rejected)
    assert rejected["reason"] == "invalid_timestamp", rejected
    assert "producer's clock" in rejected["message"]
    assert pipe.values(SETTINGS.topic_cases) == []
