"""Traffic for the surge-clock tests (issue 18), in memory and through the real services.

Event time starts at ``start``; each message comes with the time Kafka gets it (its record
timestamp): two seconds after it was made, unless a scenario says otherwise.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from channels.simulation import Scenario, Simulator, message_key
from schemas.catalogue import synthetic_departments

RATE = 6.0  # evaluations per second of event time, all departments together
DEPARTMENTS = synthetic_departments(50)
SURGING = DEPARTMENTS[17].code
PAD_DEPARTMENT = DEPARTMENTS[3]
FAST_S = 240  # a pad 4 minutes fast: inside HAOCHAPING_CLOCK_SKEW_S (300)
STEADY_MIN, SURGE_MIN, AFTER_MIN = 20, 8, 6

Message = tuple[float, bytes | None, bytes]  # (broker time, key, value)


def _stream(
    simulator: Simulator, scenario: Scenario, start: datetime, minutes: int
) -> list[Message]:
    out = []
    for message in simulator.stream(
        int(minutes * 60 * RATE), scenario=scenario, start=start, rate_per_s=RATE, rhythm=False
    ):
        evaluated_at = datetime.fromisoformat(json.loads(message.value)["evaluated_at"])
        out.append((evaluated_at.timestamp() + 2, message.key, message.value))
    return out


def traffic(start: datetime, surge: bool, minutes_after: int = AFTER_MIN) -> list[Message]:
    """Steady minutes, then (with ``surge``) one department surging, then steady again."""
    middle = (
        Scenario(
            "surge",
            surge=True,
            surge_from=0.0,
            surge_department=SURGING,
            surge_bad_share=0.4,
            surge_traffic_factor=3.0,
        )
        if surge
        else Scenario("steady")
    )
    simulator = Simulator(
        seed=5, departments=DEPARTMENTS, bad_rate=0.01, pii_rate=0.0, followup_rate=0.0
    )
    return (
        _stream(simulator, Scenario("steady"), start, STEADY_MIN)
        + _stream(simulator, middle, start + timedelta(minutes=STEADY_MIN), SURGE_MIN)
        + _stream(
            simulator,
            Scenario("steady"),
            start + timedelta(minutes=STEADY_MIN + SURGE_MIN),
            minutes_after,
        )
    )


def surge_start(start: datetime) -> datetime:
    return start + timedelta(minutes=STEADY_MIN)


def pad(start: datetime, minutes: int, skew_s: int = FAST_S) -> list[Message]:
    """One hall pad of another department, a good evaluation every 20 s all along, its
    evaluated_at ``skew_s`` off; Kafka gets each a second after it is really made."""
    simulator = Simulator(seed=11, departments=DEPARTMENTS, pii_rate=0.0, followup_rate=0.0)
    out = []
    for second in range(5, minutes * 60, 20):
        at = start + timedelta(seconds=second)
        evaluation: dict[str, Any] = simulator.evaluation(
            at, department=PAD_DEPARTMENT, level=5, open_halls=True, followups=False
        )
        evaluation["evaluated_at"] = (at + timedelta(seconds=skew_s)).isoformat()
        evaluation["source"] = "pad-with-a-wrong-clock"
        value = json.dumps(evaluation, ensure_ascii=False).encode()
        out.append((at.timestamp() + 1, message_key(evaluation), value))
    return out


def delayed(messages: list[Message], department: str, delay_s: float) -> list[Message]:
    """The evaluations of ``department`` reach Kafka ``delay_s`` after they were made."""
    out = []
    for at, key, value in messages:
        if json.loads(value)["department_code"] == department:
            at += delay_s
        out.append((at, key, value))
    return out


def bad_and_total(messages: list[Message], department: str, start: datetime) -> tuple[int, int]:
    """Bad reviews and evaluations of ``department`` in the minute starting at ``start``."""
    values = [json.loads(v) for _, _, v in messages]
    minute = [
        v
        for v in values
        if v["department_code"] == department
        and start <= datetime.fromisoformat(v["evaluated_at"]) < start + timedelta(minutes=1)
    ]
    return sum(1 for v in minute if v["level"] <= 2), len(minute)
