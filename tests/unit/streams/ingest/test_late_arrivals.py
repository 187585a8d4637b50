"""Two horizons in the ingest step: a late evaluation counts in its day (not in a minute), one
beyond the long horizon in no window; days keep their state until the horizon has passed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.simulation import Simulator
from runtime.settings import Settings
from schemas.windows import window_states
from streams.ingest.step import REPLAY_MARGIN_S, IngestStep
from streams.pipeline import StepStates, build_steps
from streams.records import Record
from streams.testing import ListOutbox

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai, a Thursday
# 1 h short horizon, 30 days long horizon; one partition: no record is sent home
SETTINGS = Settings(demo_mode=True, topic_partitions=1)
DEPARTMENT = "D-LATE"


def evaluations(count: int, age: timedelta, seed: int = 5) -> list[dict[str, Any]]:
    simulator = Simulator(seed=seed, followup_rate=0.0)
    out = []
    for i in range(count):
        e = simulator.evaluation(NOW - age - timedelta(seconds=i), open_halls=True)
        e["department_code"] = DEPARTMENT
        out.append(e)
    return out


def records(
    values: list[dict[str, Any]], first_offset: int = 0, at: datetime = NOW
) -> list[Record]:
    return [
        Record("ratings.raw", 0, first_offset + i, at.timestamp(), None, json.dumps(v).encode())
        for i, v in enumerate(values)
    ]


class Written(dict[str, Any]):
    """A state that remembers what was written: in the worker each write is a record on the
    state's changelog, which for windows is satisfaction.windows, what the sink lands."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.written.append(key)
        super().__setitem__(key, value)


def build() -> tuple[IngestStep, StepStates, ListOutbox]:
    outbox = ListOutbox()
    states = StepStates(Written(), {}, {}, {})
    steps = build_steps(SETTINGS, secret=b"s" * 32, outbox=outbox, states=states)
    return steps.ingest, states, outbox


def totals(states: StepStates, window: str) -> int:
    return sum(
        sum(entry["levels"])
        for value in states.windows.values()
        for entry in window_states(value)
        if (entry["dimension"], entry["key"], entry["window"]) == ("department", DEPARTMENT, window)
    )


def valid(outbox: ListOutbox) -> list[dict[str, Any]]:
    return [json.loads(s.value or b"") for s in outbox.sent if s.topic == "ratings.valid"]


def test_six_hundred_two_hour_old_evaluations_count_in_their_day() -> None:
    # the new user: 600 evaluations of one department, all two hours old
    step, states, outbox = build()
    report = step.process(records(evaluations(600, timedelta(hours=2))))
    assert sum(report.accepted.values()) == 600 and report.late == 600
    assert report.beyond_horizon == 0
    assert totals(states, "1d") == 600
    assert totals(states, "1m") == 0  # minutes keep the short horizon (surge detection)
    landed = valid(outbox)
    assert all(e["late"] and not e["beyond_horizon"] for e in landed)
    minutes = [s for s in outbox.sent if s.topic.endswith("-surge-minutes")]
    assert minutes == []  # nothing reaches the surge detector


def test_beyond_the_long_horizon_counts_in_no_window_and_opens_no_case() -> None:
    step, states, outbox = build()
    old = evaluations(20, timedelta(days=31))
    for e in old:
        e["level"], e["tags"] = 1, []
    report = step.process(records(old))
    assert sum(report.accepted.values()) == 20 and report.beyond_horizon == 20
    assert states.windows == {}
    assert all(e["late"] and e["beyond_horizon"] for e in valid(outbox))
    assert not [s for s in outbox.sent if s.topic == SETTINGS.topic_cases]


def test_a_late_evaluation_reemits_its_days_partial_with_a_higher_version() -> None:
    step, states, _ = build()
    on_time = evaluations(5, timedelta(days=3, minutes=1))  # three days ago, then on time
    step.process(records(on_time, at=NOW - timedelta(days=3)))
    day_name = next(n for n in states.windows if f"|{DEPARTMENT}|1d|" in n)
    first = dict(states.windows[day_name])
    assert isinstance(states.windows, Written)
    states.windows.written.clear()
    # today, an SMS answer to that day arrives: the day ended long ago, its horizon has not
    step.process(records(evaluations(1, timedelta(days=3), seed=9), first_offset=5))
    # written once more: re-emitted on the day's changelog (satisfaction.windows)
    assert states.windows.written.count(day_name) == 1
    assert sum(states.windows[day_name]["levels"]) == sum(first["levels"]) + 1
    assert states.windows[day_name]["version"] == 5 > first["version"]


def test_a_day_is_dropped_once_its_horizon_has_passed_and_not_before() -> None:
    step, states, _ = build()
    step.process(records(evaluations(3, timedelta(hours=2))))
    day_names = {n for n in states.windows if "|1d|" in n}
    assert day_names
    start = min(int(n.rsplit("|", 1)[1]) for n in day_names)
    day_end = datetime.fromtimestamp(start + 86_400, UTC)
    horizon = timedelta(days=SETTINGS.late_horizon_days, seconds=REPLAY_MARGIN_S)
    # the clock of expiry is the newest record time of the partition
    step.watermarks[0] = (day_end + horizon).timestamp()
    step.expire()
    assert day_names <= set(states.windows)
    step.watermarks[0] = (day_end + horizon).timestamp() + 1
    step.expire()
    assert not day_names & set(states.windows)


def test_a_crash_and_replay_of_late_arrivals_leaves_the_same_state() -> None:
    step, states, outbox = build()
    batch = records(
        evaluations(50, timedelta(seconds=5))
        + evaluations(50, timedelta(hours=5), seed=6)
        + evaluations(50, timedelta(days=2), seed=7)
        + evaluations(10, timedelta(days=40), seed=8)
    )
    step.process(batch[:80])
    step.process(batch[80:])
    before = json.dumps(states.windows, sort_keys=True)
    # a new worker from the durable state re-reads everything since the last commit
    again = build_steps(SETTINGS, secret=b"s" * 32, outbox=outbox, states=states).ingest
    report = again.process(batch[60:])
    assert report.replayed == 90  # the 10 beyond the horizon are counted nowhere anyway
    assert json.dumps(states.windows, sort_keys=True) == before
    assert totals(states, "1d") == 150 and totals(states, "1m") == 50
