"""A simulated day through the worker's steps, in memory: ingest → windows → surge →
cases, with a holiday in it, and the same day again with a crash in the middle."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

from channels.simulation import Scenario, Simulator
from runtime.settings import Settings
from schemas.cases import CaseEvent
from schemas.catalogue import synthetic_departments
from schemas.windows import window_states
from streams.testing import InMemoryPipeline

CST = timezone(timedelta(hours=8))
# The last working day before National Day 2026: a bad review's call-back is due only after
# the week of holidays.
DAY = datetime(2026, 9, 30, 9, 30, tzinfo=CST)
RATE = 6.0
SETTINGS = Settings(demo_mode=True, topic_partitions=2, allowed_lateness_s=7 * 86_400)
DEPARTMENTS = synthetic_departments(100)
SURGING = DEPARTMENTS[17].code


@cache
def traffic() -> list[tuple[float, bytes | None, bytes]]:
    """(broker time, key, value): 40 steady minutes, a 10-minute surge, 10 quiet minutes."""
    simulator = Simulator(
        seed=5, departments=DEPARTMENTS, bad_rate=0.01, pii_rate=0.0, followup_rate=0.0
    )
    surge = Scenario(
        "surge",
        surge=True,
        surge_from=0.0,
        surge_department=SURGING,
        surge_bad_share=0.4,
        surge_traffic_factor=3.0,
    )
    out = []
    for offset_min, minutes, scenario in (
        (0, 40, Scenario("steady")),
        (40, 10, surge),
        (50, 10, Scenario("steady")),
    ):
        start = DAY + timedelta(minutes=offset_min)
        for message in simulator.stream(
            int(minutes * 60 * RATE), scenario=scenario, start=start, rate_per_s=RATE, rhythm=False
        ):
            evaluated_at = datetime.fromisoformat(json.loads(message.value)["evaluated_at"])
            out.append((evaluated_at.timestamp() + 2, message.key, message.value))
    return out


def case_events(bad_reviews: list[dict[str, Any]]) -> list[bytes]:
    """Half the surging department's cases are called back the same afternoon; then, on
    12 October, every case is routed again, which moves the case clock of every partition
    past the call-back deadline."""
    reviews = sorted(bad_reviews, key=lambda r: r["evaluation_id"])
    events = [("called_back", DAY.replace(hour=15), r) for r in reviews[::2]]
    events += [("routed", datetime(2026, 10, 12, 10, tzinfo=CST), r) for r in reviews]
    return [
        CaseEvent(
            case_id=review["evaluation_id"],
            event=kind,
            at=at,
            department_code=review["department_code"],
        ).to_json_bytes()
        for kind, at, review in events
    ]


@cache
def run_day(crash_after: int | None = None) -> InMemoryPipeline:
    pipeline = InMemoryPipeline(SETTINGS)
    by_minute: dict[int, list[tuple[bytes | None, bytes]]] = {}
    for at, key, value in traffic():
        by_minute.setdefault(int(at // 60), []).append((key, value))
    for number, minute in enumerate(sorted(by_minute), start=1):
        pipeline.send_raw(by_minute[minute], at=minute * 60 + 59)
        # the crash comes in the middle of the steady traffic
        pipeline.run(crash_after=crash_after if number == 30 else None)
    bad = [json.loads(v) for _, _, v in traffic() if json.loads(v)["level"] <= 2]
    cases_topic = pipeline.log(SETTINGS.topic_cases)
    for value in case_events(bad):
        cases_topic.append(json.loads(value)["case_id"].encode(), value, pipeline.clock, None)
    pipeline.run()
    return pipeline


def unique(values: list[dict[str, Any]], *fields: str) -> set[tuple[Any, ...]]:
    return {tuple(v[f] for f in fields) for v in values}


def test_a_day_with_a_surge_raises_one_department_alert_and_the_right_case_warnings() -> None:
    pipeline = run_day()
    alerts = pipeline.values(SETTINGS.topic_alerts)
    department = [a for a in alerts if a["dimension"] == "department"]
    assert {a["key"] for a in department} == {SURGING}
    assert len({a["alert_id"] for a in department}) == 1
    assert Counter(a["state"] for a in department)["opened"] == 1
    opened = next(a for a in department if a["state"] == "opened")
    surge_start = DAY + timedelta(minutes=40)
    assert (
        surge_start
        <= datetime.fromisoformat(opened["window_start"])
        < surge_start + timedelta(minutes=2)
    )
    assert {a["key"] for a in alerts if a["dimension"] == "service"} <= {
        s.code for s in DEPARTMENTS[17].services
    }

    bad = sorted(
        (json.loads(v) for _, _, v in traffic() if json.loads(v)["level"] <= 2),
        key=lambda r: r["evaluation_id"],
    )
    not_called_back = {r["evaluation_id"] for i, r in enumerate(bad) if i % 2 == 1}
    warnings = pipeline.values(SETTINGS.topic_case_warnings)
    assert unique(warnings, "case_id") == {(c,) for c in not_called_back}
    assert unique(warnings, "deadline", "kind") == {
        ("callback", "due_soon"),
        ("callback", "overdue"),
    }
    assert len(warnings) == 2 * len(not_called_back)  # each warning once
    # due after the National Day holidays, never on one of them
    due = {datetime.fromisoformat(w["due_at"]).astimezone(CST).date() for w in warnings}
    assert due == {datetime(2026, 10, 9).date()}, due


def test_a_crash_in_the_middle_and_its_replay_leave_the_same_numbers() -> None:
    clean, crashed = run_day(), run_day(crash_after=1)
    assert crashed.states.windows == clean.states.windows
    assert crashed.states.dedupe == clean.states.dedupe
    for topic, fields in (
        (SETTINGS.topic_alerts, ("alert_id", "state", "window_start")),
        (SETTINGS.topic_case_warnings, ("case_id", "deadline", "kind")),
        (SETTINGS.topic_valid, ("evaluation_id",)),
    ):
        # at-least-once: a replay may write a record twice, never a different one
        assert unique(crashed.values(topic), *fields) == unique(clean.values(topic), *fields)
    replayed = len(crashed.values(SETTINGS.topic_valid)) - len(clean.values(SETTINGS.topic_valid))
    assert replayed > 0  # the crash did cost a replay, so the test is not vacuous


def test_a_late_burst_from_hours_ago_opens_no_alert_and_counts_in_its_day_only() -> None:
    settings = Settings(demo_mode=True, topic_partitions=2)  # 1 h short horizon
    pipeline = InMemoryPipeline(settings)
    simulator = Simulator(
        seed=8, departments=DEPARTMENTS, bad_rate=0.01, pii_rate=0.0, followup_rate=0.0
    )

    def live(start: datetime, minutes: int) -> None:
        messages = simulator.stream(
            int(minutes * 60 * RATE), start=start, rate_per_s=RATE, rhythm=False
        )
        by_minute: dict[int, list[tuple[bytes | None, bytes]]] = {}
        for m in messages:
            at = datetime.fromisoformat(json.loads(m.value)["evaluated_at"]).timestamp() + 2
            by_minute.setdefault(int(at // 60), []).append((m.key, m.value))
        for minute in sorted(by_minute):
            pipeline.send_raw(by_minute[minute], at=minute * 60 + 59)
            pipeline.run()

    live(DAY, 30)
    # three hours later a hall's pad syncs: 150 bad reviews of one department, given within
    # two minutes at 09:50, arrive at once, in the middle of live traffic
    burst_at = DAY + timedelta(minutes=20)
    burst = [
        simulator.surge_evaluation(burst_at + timedelta(seconds=0.8 * i), SURGING)
        for i in range(150)
    ]
    arrival = DAY + timedelta(hours=3)
    pipeline.send_raw(
        [(b["evaluation_id"].encode(), json.dumps(b).encode()) for b in burst],
        at=arrival.timestamp(),
    )
    live(arrival, 10)

    alerts = pipeline.values(settings.topic_alerts)
    assert not [a for a in alerts if a["key"] == SURGING], alerts  # no alert for 09:50
    valid = {v["evaluation_id"]: v for v in pipeline.values(settings.topic_valid)}
    assert all(valid[b["evaluation_id"]]["late"] for b in burst)  # reported as late

    def counted(window: str, start: int) -> int:
        entries = [e for v in pipeline.states.windows.values() for e in window_states(v)]
        return sum(
            e["levels"][0] + e["levels"][1]
            for e in entries
            if e["dimension"] == "department"
            and e["key"] == SURGING
            and e["window"] == window
            and e["start"] == start
        )

    day_start = int(DAY.replace(hour=0, minute=0).timestamp())
    minute_start = int(burst_at.timestamp()) // 60 * 60
    assert counted("1d", day_start) >= 150  # the day has them (and the live bad reviews)
    assert counted("1m", minute_start) < 10  # the minute long past was not reopened
