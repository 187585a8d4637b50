"""Crash and replay of minute bundles, judged as ClickHouse judges them (issue 14).

A worker writes a batch's window records and may die after any prefix of them reached the
changelog; it then restarts from that changelog and the last committed offset. Every record
that became durable lands in ClickHouse, where the highest version per (key, minute) wins.
Random runs with small bundles (few keys, few bytes, long comments) must end with exactly the
counts of the evaluations sent, whatever the crashes, moves out of full bundles and expiry.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from schemas.windows import window_states
from streams.ingest import counts as aggregate
from streams.ingest.counts import BadReview, WindowAggregator

MINUTE_START = 1_764_300_000 - 1_764_300_000 % 60


class Changelog(dict[str, Any]):
    """A state whose writes are kept in order, as the changelog topic keeps them."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, str | None]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.log.append((key, json.dumps(value)))

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.log.append((key, None))


def recovered(log: list[tuple[str, str | None]]) -> Changelog:
    state = Changelog()
    for key, value in log:
        if value is None:
            dict.pop(state, key, None)
        else:
            dict.__setitem__(state, key, json.loads(value))
    state.log = list(log)
    return state


def landed(log: list[tuple[str, str | None]]) -> Counter[tuple[str, int, int]]:
    newest: dict[tuple[str, int], tuple[int, list[int]]] = {}
    for _, value in log:
        if value is None:
            continue
        for entry in window_states(json.loads(value)):
            where = (entry["key"], entry["start"])
            if where not in newest or entry["version"] > newest[where][0]:
                newest[where] = (entry["version"], entry["levels"])
    counts: Counter[tuple[str, int, int]] = Counter()
    for (key, start), (_, levels) in newest.items():
        for level, count in enumerate(levels, 1):
            if count:
                counts[(key, start, level)] += count
    return counts


def run(seed: int) -> tuple[Counter[tuple[str, int, int]], Counter[tuple[str, int, int]], int]:
    """One random run: (counts sent, counts landed, records expired more than once)."""
    rng = random.Random(seed)
    events = sorted(
        (MINUTE_START + rng.randrange(0, 600), rng.randint(1, 5), f"S{rng.randrange(12)}")
        for _ in range(300)
    )
    sent = Counter((key, at - at % 60, level) for at, level, key in events)
    limit = rng.choice([300, 700, 1500])
    state = Changelog()
    windows = WindowAggregator(state, {"1m": 60}, bundle_bytes=limit)
    committed, expired = 0, Counter[str]()
    while committed < len(events):
        batch = list(enumerate(events))[committed : committed + rng.randint(1, 40)]
        for offset, (at, level, key) in batch:
            comment = "差评原因很长" * rng.randint(1, 20)
            review = BadReview(key, "hall", "H1", "W1", ("110",), comment) if level <= 2 else None
            windows.add(
                partition=0,
                offset=offset,
                event_epoch=at,
                level=level,
                keys={"service": key},
                windows=("1m",),
                bad_review=review,
            )
        before = len(state.log)
        windows.drain()
        if rng.random() < 0.5:  # died after a prefix of the batch's records
            written = state.log[before:]
            state = recovered(state.log[:before] + written[: rng.randint(0, len(written))])
            windows = WindowAggregator(state, {"1m": 60}, bundle_bytes=limit)
            continue
        committed += len(batch)
        if rng.random() < 0.2:
            windows.forget_partition(0)  # a rebalance: the close index is rebuilt
        watermark = events[min(committed, len(events) - 1)][0] - 130
        for name in windows.closed_entries(0, watermark):
            expired[name] += 1
            windows.forget(name)
    return sent, landed(state.log), sum(1 for times in expired.values() if times > 1)


def test_crashes_between_a_batchs_records_never_change_the_landed_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Bundles of at most 6 keys and a few hundred bytes, so that keys move out of full ones
    # all the time. 200 runs: a bundle's copy of a moved key written back over its own
    # record (found while writing this) failed about 1 run in 30.
    monkeypatch.setattr(aggregate, "BUNDLE_KEYS", 6)
    failed = []
    for seed in range(200):
        sent, counted, twice = run(seed)
        if counted != sent or twice:
            failed.append((seed, dict(counted - sent), dict(sent - counted), twice))
    assert not failed, failed[:3]
