"""Issue 18: surge detection that one wrong clock cannot blind.

Through the worker's steps in memory (streams/testing.py): a hall rating pad whose clock runs
4 minutes fast (inside the accepted skew) must not move the surge clock, and a partition of
ratings.raw that falls silent must not stop it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import pytest
from prometheus_client import REGISTRY

from runtime.settings import Settings
from schemas.codes import Channel
from streams.testing import InMemoryPipeline
from tests import surge_traffic
from tests.surge_traffic import (
    AFTER_MIN,
    FAST_S,
    STEADY_MIN,
    SURGE_MIN,
    SURGING,
    Message,
    bad_and_total,
    delayed,
)

CST = timezone(timedelta(hours=8))
DAY = datetime(2026, 11, 26, 9, 30, tzinfo=CST)  # a Thursday, halls open
SETTINGS = Settings(demo_mode=True, topic_partitions=2, allowed_lateness_s=7 * 86_400)


@cache
def traffic(surge: bool) -> list[Message]:
    return surge_traffic.traffic(DAY, surge)


@cache
def fast_pad() -> list[Message]:
    return surge_traffic.pad(DAY, STEADY_MIN + SURGE_MIN + AFTER_MIN)


def run(
    messages: list[Message],
    partition_of: Callable[[int], int | None] = lambda minute: None,
    every_s: int = 60,
) -> InMemoryPipeline:
    """Each ``every_s``'s messages sent at its end, then processed, as test_pipeline does
    with minutes; ``partition_of(minute number)`` pins the partition they go to (None: their
    key's)."""
    pipeline = InMemoryPipeline(SETTINGS)
    batches: dict[int, list[tuple[bytes | None, bytes]]] = {}
    for at, key, value in sorted(messages, key=lambda m: m[0]):
        batches.setdefault(int(at // every_s), []).append((key, value))
    first = min(batches) * every_s // 60
    for batch in sorted(batches):
        pipeline.send_raw(
            batches[batch],
            at=batch * every_s + every_s - 1,
            partition=partition_of(batch * every_s // 60 - first),
        )
        pipeline.run()
    return pipeline


def alerts(pipeline: InMemoryPipeline, dimension: str = "department") -> list[dict[str, Any]]:
    return [a for a in pipeline.values(SETTINGS.topic_alerts) if a["dimension"] == dimension]


def surge_clock(pipeline: InMemoryPipeline) -> int:
    return int(pipeline.states.surge["0|merger"]["watermark"])


def drifted_ahead() -> float:
    return sum(
        REGISTRY.get_sample_value(
            "haochaping_clock_drift_total", {"channel": channel, "direction": "ahead"}
        )
        or 0.0
        for channel in Channel
    )


def test_a_pad_four_minutes_fast_does_not_blind_the_surge_of_another_department() -> None:
    messages = traffic(surge=True) + fast_pad()
    before = drifted_ahead()
    pipeline = run(messages)
    assert not pipeline.values(SETTINGS.topic_rejected)  # the pad is inside the clock skew
    # accepted, marked and counted: every one of the pad's evaluations, nothing else
    pad = [v for v in pipeline.values(SETTINGS.topic_valid) if v["clock_skew_s"] > 60]
    assert len(pad) == len(fast_pad()) and all(v["clock_skew_s"] <= FAST_S for v in pad)
    assert drifted_ahead() - before == len(fast_pad())
    last_sent = max(at for at, _, _ in messages)
    # the clock follows Kafka's time, not the pad's: never past the last record timestamp
    assert last_sent - 120 < surge_clock(pipeline) <= last_sent
    department = alerts(pipeline)
    assert {a["key"] for a in department} == {SURGING}
    assert len({a["alert_id"] for a in department}) == 1
    assert Counter(a["state"] for a in department)["opened"] == 1
    opened = next(a for a in department if a["state"] == "opened")
    window_start = datetime.fromisoformat(opened["window_start"])
    surge_start = DAY + timedelta(minutes=STEADY_MIN)
    assert surge_start <= window_start < surge_start + timedelta(minutes=2)
    # opened on an early look at its minute or on the whole minute: never on evaluations the
    # pad's clock pushed out of it as "late"
    bad, total = bad_and_total(messages, SURGING, window_start)
    assert opened["bad"] <= bad and opened["total"] <= total
    assert opened["bad"] / opened["total"] >= 0.2


def test_a_silent_partition_stops_holding_the_clock_after_the_idle_bound() -> None:
    """Both partitions of ratings.raw carry traffic for 10 minutes, then only partition 0
    does, the surge too: partition 1 is idle (HAOCHAPING_SURGE_IDLE_S) and the surge alerts."""
    pipeline = run(traffic(surge=True), partition_of=lambda minute: None if minute < 10 else 0)
    sources = pipeline.states.surge["0|merger"]["sources"]
    # what is pinned to partition 0 but keyed for 1 goes home through the rekeyed topic,
    # a source of its own (streams/ingest/rekey.py)
    assert set(sources) == {"0", "1", "10001"}
    assert sources["1"][0] < surge_clock(pipeline) - 10 * 60  # left behind, not waited for
    department = alerts(pipeline)
    assert {a["key"] for a in department} == {SURGING}
    assert Counter(a["state"] for a in department)["opened"] == 1


def test_steady_traffic_and_the_fast_pad_raise_no_alert() -> None:
    messages = traffic(surge=False) + fast_pad()
    pipeline = run(messages)
    assert pipeline.values(SETTINGS.topic_alerts) == []
    # the minutes were judged all along (the clock moved), not held back
    assert surge_clock(pipeline) > max(at for at, _, _ in messages) - 120


def test_a_surge_state_saved_before_the_source_clocks_loads_and_judges() -> None:
    """The merger record as workers before this change wrote it (format 1)."""
    pipeline = InMemoryPipeline(SETTINGS)
    start = int(DAY.timestamp())
    entry = {
        "dimension": "department",
        "key": SURGING,
        "window": "1m",
        "start": start,
        "end": start + 60,
        "partition": 0,
        "version": 7,
        "levels": [0, 0, 0, 0, 9],
    }
    pipeline.states.surge["0|merger"] = {
        "format": 1,
        "grace_s": 30,
        "judged": {"department": start - 60},
        "watermark": start + 10,
    }
    pipeline.states.surge[f"0|pending|department|{SURGING}|{start}"] = {"0": entry}
    steps = pipeline.steps
    later = {**entry, "start": start + 60, "end": start + 120, "version": 8, "clock": start + 95}
    steps.surges.process([later], at=start + 96)
    merger = pipeline.states.surge["0|merger"]
    assert merger["format"] == 4 and merger["watermark"] == start + 95
    assert merger["judged"]["department"] == start
    assert merger["sources"] == {"0": [start + 95, start + 96]}


def test_the_pending_partials_of_a_minute_are_one_record_and_load_back() -> None:
    """Issue 14: a record per minute, not one per key and minute (a write and a delete each)."""
    pipeline = InMemoryPipeline(SETTINGS)
    start = int(DAY.timestamp())
    partials = [
        {
            "dimension": dimension,
            "key": key,
            "window": "1m",
            "start": start,
            "end": start + 60,
            "partition": 0,
            "version": 7,
            "levels": [1, 0, 0, 0, 9],
            "clock": start + 20,
        }
        for dimension in ("department", "service")
        for key in ("K1", "K2", "K3")
    ]
    pipeline.steps.surges.process(partials, at=start + 21)
    pending = {k: v for k, v in pipeline.states.surge.items() if k.startswith("0|pending|")}
    assert list(pending) == [f"0|pending|minute|{start}|0/1"]
    assert len(pending[f"0|pending|minute|{start}|0/1"]) == 6
    saved = pipeline.states.surge["0|merger"]
    pipeline.crash()  # a new step from the durable state: the same partials pending
    pipeline.steps.surges.process([], at=start + 22)
    assert pipeline.states.surge["0|merger"]["watermark"] == saved["watermark"]
    reloaded = pipeline.steps.surges._merger
    assert reloaded is not None
    assert sorted(reloaded.to_state()["pending"]) == sorted(
        f"{d}|{k}|{start}" for d in ("department", "service") for k in ("K1", "K2", "K3")
    )


@pytest.mark.parametrize("every_s", [60, 5], ids=["read-a-minute-at-a-time", "read-every-5s"])
def test_a_surge_whose_evaluations_arrive_three_minutes_late_opens_one_alert_on_a_second_look(
    every_s: int,
) -> None:
    """Read 5 s at a time (a live worker), the late evaluations of a minute trickle in for a
    minute: its second look must wait for them (it once judged the first 15 s, then 30 s)."""
    messages = delayed(traffic(surge=True), SURGING, 180)
    pipeline = run(messages, every_s=every_s)
    department = alerts(pipeline)
    assert {a["key"] for a in department} == {SURGING}
    opened = [a for a in department if a["state"] == "opened"]
    assert len(opened) == 1 and len({a["alert_id"] for a in department}) == 1
    window_start = datetime.fromisoformat(opened[0]["window_start"])
    surge_start = DAY + timedelta(minutes=STEADY_MIN)
    assert surge_start <= window_start < surge_start + timedelta(minutes=2)
    # opened when the late evaluations were there, i.e. after the minute was first judged
    assert datetime.fromisoformat(opened[0]["at"]) >= window_start + timedelta(minutes=3)
    # on the whole minute, however the worker read it
    assert (opened[0]["bad"], opened[0]["total"]) == bad_and_total(messages, SURGING, window_start)
    # the surge's later minutes, seen quiet at first, did not resolve it early: it resolves
    # once, after the surge has ended
    resolved = [a for a in department if a["state"] == "resolved"]
    surge_end = surge_start + timedelta(minutes=SURGE_MIN)
    assert all(datetime.fromisoformat(a["window_start"]) >= surge_end for a in resolved)
    assert len(resolved) <= 1


def test_a_pad_ten_minutes_slow_neither_blinds_the_surge_nor_raises_an_alert_itself() -> None:
    slow = _shifted(fast_pad(), -FAST_S - 600)  # the fast pad's evaluations, 10 min behind
    pipeline = run(traffic(surge=True) + slow)
    assert not pipeline.values(SETTINGS.topic_rejected)
    department = alerts(pipeline)
    assert {a["key"] for a in department} == {SURGING}
    assert Counter(a["state"] for a in department)["opened"] == 1
    assert run(traffic(surge=False) + slow).values(SETTINGS.topic_alerts) == []


def _shifted(messages: list[Message], seconds: int) -> list[Message]:
    """The same evaluations with ``evaluated_at`` moved by ``seconds`` (a pad's wrong clock)."""
    out = []
    for at, key, value in messages:
        evaluation = json.loads(value)
        made = datetime.fromisoformat(evaluation["evaluated_at"]) + timedelta(seconds=seconds)
        evaluation["evaluated_at"] = made.isoformat()
        out.append((at, key, json.dumps(evaluation, ensure_ascii=False).encode()))
    return out


# --- issue 26: the surge clock goes on when traffic stops ------------------------------------


def burst(at: datetime, count: int = 12, every_s: float = 0.8) -> list[Message]:
    """``count`` very bad reviews of the surging department, one every ``every_s``."""
    simulator = surge_traffic.Simulator(seed=7, departments=surge_traffic.DEPARTMENTS)
    department = next(d for d in surge_traffic.DEPARTMENTS if d.code == SURGING)
    out: list[Message] = []
    for i in range(count):
        made = at + timedelta(seconds=i * every_s)
        evaluation = simulator.evaluation(made, department=department, level=1, followups=False)
        value = json.dumps(evaluation, ensure_ascii=False).encode()
        out.append((made.timestamp() + 1, surge_traffic.message_key(evaluation), value))
    return out


def steady_then(extra: list[Message], at: float) -> InMemoryPipeline:
    """Twenty steady minutes, then ``extra`` sent at broker time ``at``, then nothing."""
    pipeline = run([m for m in traffic(False) if m[0] < DAY.timestamp() + STEADY_MIN * 60])
    if extra:
        pipeline.send_raw([(key, value) for _, key, value in extra], at=at)
        pipeline.run()
    return pipeline


def beat_until(pipeline: InMemoryPipeline, start: float, until: float) -> list[tuple[float, dict]]:
    """Heartbeats every 5 s of wall time from ``start`` to ``until``, each followed by a
    run; the alert events each raised, with its wall time."""
    raised: list[tuple[float, dict[str, Any]]] = []
    at = start
    while at <= until:
        seen = len(alerts(pipeline))
        pipeline.heartbeat(at)
        pipeline.run()
        raised += [(at, alert) for alert in alerts(pipeline)[seen:]]
        at += 5
    return raised


def test_a_surge_in_the_last_seconds_of_traffic_alerts_when_traffic_stops() -> None:
    surge_at = DAY + timedelta(minutes=STEADY_MIN, seconds=5)
    sent = surge_at.timestamp() + 11
    pipeline = steady_then(burst(surge_at), sent)
    # nothing moves the clock past the burst: without heartbeats it would never be judged
    assert alerts(pipeline) == []
    assert surge_clock(pipeline) < surge_at.timestamp() + 15
    raised = beat_until(pipeline, sent + 5, sent + 600)
    opened = [(at, a) for at, a in raised if a["state"] == "opened"]
    assert [a["key"] for _, a in opened] == [SURGING], raised
    # within 90 s of its first bad review, by the wall clock the heartbeats carry
    assert opened[0][0] - surge_at.timestamp() <= 90
    # and with nothing after it, the alert resolves after its quiet minutes
    resolved = [a for _, a in raised if a["state"] == "resolved"]
    assert [a["alert_id"] for a in resolved] == [opened[0][1]["alert_id"]]


def test_steady_traffic_that_stops_raises_no_alert() -> None:
    pipeline = steady_then([], 0)
    last = max(m[0] for m in traffic(False) if m[0] < DAY.timestamp() + STEADY_MIN * 60)
    before = surge_clock(pipeline)
    assert beat_until(pipeline, last + 60, last + 900) == []
    # the clock went on with the wall clock, less the grace
    assert surge_clock(pipeline) > before + 600
    assert surge_clock(pipeline) <= last + 900 - SETTINGS.surge_grace_s


def test_heartbeats_never_move_the_clock_past_what_a_partition_can_still_send() -> None:
    """A partition whose records reach Kafka with timestamps an hour old (a producer whose
    clock is behind, or a replay) beats an hour behind the wall clock: its heartbeats move
    the surge clock no further than its own time plus the time since it was read."""
    pipeline = InMemoryPipeline(SETTINGS)
    made = DAY
    evaluation = surge_traffic.Simulator(seed=3, departments=surge_traffic.DEPARTMENTS).evaluation(
        made, followups=False
    )
    value = json.dumps(evaluation, ensure_ascii=False).encode()
    key = surge_traffic.message_key(evaluation)
    pipeline.send_raw([(key, value)], at=made.timestamp() + 1)
    read_at = made.timestamp() + 3600  # read an hour after its record time
    pipeline.clock = read_at
    pipeline.run()
    # the other partitions are read to their (empty) end: None, nothing read of them
    [clock] = [c for c in pipeline.heartbeat(read_at + 30).values() if c is not None]
    assert clock == int(made.timestamp() + 1 + 30)
    pipeline.run()
    assert surge_clock(pipeline) <= made.timestamp() + 31 - SETTINGS.surge_grace_s


def test_a_worker_restarted_in_the_quiet_goes_on_from_the_last_heartbeat() -> None:
    """After a restart nothing came, so the new process knows no partition's lag: its
    heartbeats say so (None), and the surge step goes on from each partition's last bound by
    the time passed since."""
    surge_at = DAY + timedelta(minutes=STEADY_MIN, seconds=5)
    sent = surge_at.timestamp() + 11
    pipeline = steady_then(burst(surge_at), sent)
    assert beat_until(pipeline, sent + 5, sent + 10) == []  # bounds set, nothing judged yet
    pipeline.crash()  # the worker restarts: the committed offsets are at the ends
    assert set(pipeline.heartbeat(sent + 15).values()) == {None}
    pipeline.run()
    raised = beat_until(pipeline, sent + 20, sent + 600)
    opened = [(at, a) for at, a in raised if a["state"] == "opened"]
    assert [a["key"] for _, a in opened] == [SURGING], raised
    assert opened[0][0] - surge_at.timestamp() <= 90
    assert [a["state"] for _, a in raised if a["key"] == SURGING][-1] == "resolved"
