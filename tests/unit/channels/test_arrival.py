"""Arrival delays of the simulator: hours for SMS and hotline, seconds online, bursts of hall
pads; the same seed sends the same bytes."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from random import Random

from channels.arrival import ArrivalDelays
from channels.simulation import Simulator
from channels.simulation.messages import _channel_name

START = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # a Tuesday, 09:00 in Shanghai


def stream(count: int = 6000, seed: int = 3) -> list[tuple[datetime, dict]]:
    """(arrival clock, evaluation) of the valid messages, in the order they are sent."""
    simulator = Simulator(seed=seed)
    messages = list(
        simulator.stream(count, start=START, rate_per_s=2.0, rhythm=False, arrival_delays=True)
    )
    assert len(messages) == count
    return [(m.at, json.loads(m.value)) for m in messages if m.kind == "valid"]


def delays_by_channel(sent: list[tuple[datetime, dict]]) -> dict[str, list[float]]:
    # the arrival of a message is the latest clock seen so far: messages go out in order
    out: dict[str, list[float]] = defaultdict(list)
    arrival = START
    for _, ev in sent:
        evaluated = datetime.fromisoformat(ev["evaluated_at"])
        arrival = max(arrival, evaluated)
        out[_channel_name(ev["channel"])].append((arrival - evaluated).total_seconds())
    return out


def test_sms_and_hotline_arrive_hours_later_online_in_seconds() -> None:
    delays = delays_by_channel(stream())
    assert statistics.median(delays["sms"]) > 3600
    assert statistics.median(delays["hotline"]) > 2 * 3600
    assert max(delays["sms"]) <= 3 * 86_400 + 60
    for channel in ("web", "app", "qrcode"):
        assert statistics.median(delays[channel]) < 60, channel


def test_hall_pads_sync_their_queue_in_bursts() -> None:
    sent = stream(20_000, seed=5)
    runs, current, previous = [], 1, None
    for _, ev in sent:
        pad = (ev.get("hall_code"), ev.get("window_code")) if ev["channel"] == "counter" else None
        current = current + 1 if pad is not None and pad == previous else 1
        previous = pad
        runs.append(current)
    assert max(runs) >= 5  # several evaluations of one pad in a row: a sync after an outage


def test_the_delays_are_seeded() -> None:
    a = [m.value for m in Simulator(seed=9).stream(500, start=START, arrival_delays=True)]
    b = [m.value for m in Simulator(seed=9).stream(500, start=START, arrival_delays=True)]
    assert a == b
    plain = [m.value for m in Simulator(seed=9).stream(500, start=START)]
    assert plain != a  # without delays the stream is the one it always was


def test_a_burst_is_only_for_pads_and_covers_its_outage() -> None:
    delays = ArrivalDelays(Random(1), burst_rate=1.0)
    assert delays.burst("web") is None
    burst = delays.burst("counter")
    assert burst is not None and burst.size >= 2 and 900 <= burst.outage_s <= 6 * 3600
