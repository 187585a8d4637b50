import json
from typing import Any

from schemas.windows import WindowCounts, window_states
from streams.ingest.counts import WindowAggregator, bundle_key, parse_entry_key

MINUTE_START = 1_764_300_000 - 1_764_300_000 % 60


def add(
    agg: WindowAggregator,
    offset: int,
    level: int,
    *,
    second: int = 5,
    partition: int = 0,
    service: str = "S1",
    department: str = "D1",
) -> bool:
    return agg.add(
        partition=partition,
        offset=offset,
        event_epoch=MINUTE_START + second,
        level=level,
        keys={"service": service, "department": department, "channel": "web", "region": "310101"},
    )


def minute(
    state: dict[str, dict[str, Any]], dimension: str, key: str, partition: int = 0
) -> WindowCounts:
    bundle = state[bundle_key(partition, dimension, MINUTE_START)]
    return WindowCounts.from_state(next(e for e in window_states(bundle) if e["key"] == key))


def test_counts_every_dimension_in_minute_and_day_windows() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    for offset, level in enumerate([5, 5, 4, 2, 1]):
        add(agg, offset, level)
    agg.drain()
    service = minute(state, "service", "S1")
    assert (service.total, service.good, service.bad) == (5, 3, 2)
    assert service.version == 4
    assert service.bad_rate == 0.4
    assert service.mean_level == (5 + 5 + 4 + 2 + 1) / 5
    assert {parse_entry_key(k)[1] for k in state} == {"service", "department", "channel", "region"}
    assert {parse_entry_key(k)[3] for k in state} == {"1m", "1d"}


def test_a_replayed_batch_changes_nothing() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    for offset in range(10):
        add(agg, offset, 5 if offset % 3 else 1)
    agg.drain()
    before = json.loads(json.dumps(state))
    # the worker crashed after writing state but before committing offset 4: 4..9 come again
    replay = WindowAggregator(state)
    assert not any(add(replay, offset, 5 if offset % 3 else 1) for offset in range(4, 10))
    replay.drain()
    assert state == before


def test_partitions_are_counted_apart_and_sum_to_the_whole() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    add(agg, 0, 5, partition=0)
    add(agg, 0, 1, partition=1)
    add(agg, 1, 2, partition=1)
    agg.drain()
    parts = [minute(state, "department", "D1", p) for p in (0, 1)]
    assert sum(p.total for p in parts) == 3
    assert sum(p.bad for p in parts) == 2


def test_an_unfinished_batch_does_not_touch_the_durable_state() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    add(agg, 0, 5)
    agg.drain()
    snapshot = json.dumps(state, sort_keys=True)
    add(agg, 1, 1)  # no drain: the batch failed half-way
    add(agg, 2, 1, service="S2")
    assert json.dumps(state, sort_keys=True) == snapshot


def test_closed_windows_are_found_per_partition() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state, {"1m": 3600})
    add(agg, 0, 5, partition=0)
    add(agg, 0, 5, partition=1)
    agg.drain()
    closed = agg.closed_entries(0, watermark=MINUTE_START + 60 + 3600 + 1)
    assert closed and all(k.startswith("0|") and "|1m|" in k for k in closed)


def test_minute_windows_of_departments_and_services_explain_their_bad_reviews() -> None:
    from streams.ingest.counts import BadReview

    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    review = BadReview("S1", "web", None, None, ("110", "113"), "系统一直登录不上")
    for offset in range(5):
        agg.add(
            partition=0,
            offset=offset,
            event_epoch=MINUTE_START + 1,
            level=1,
            keys={"service": "S1", "department": "D1", "channel": "web", "region": "310101"},
            bad_review=review,
        )
    agg.drain()
    detail = state[bundle_key(0, "department", MINUTE_START)]["entries"]["D1"]["bad_reviews"]
    assert detail["tags"] == {"110": 5, "113": 5}
    assert detail["channels"] == {"web": 5}
    assert len(detail["comments"]) == 3
    assert "bad_reviews" not in state[bundle_key(0, "channel", MINUTE_START)]["entries"]["web"]
    assert "bad_reviews" not in state[next(k for k in state if "|department|D1|1d|" in k)]


def test_expiry_passes_over_state_it_did_not_write() -> None:
    # recovery brings back whatever is on the windows changelog, a contract topic others
    # may write to (seen: a worker's expiry timer crashed on a key "0|x")
    state: dict[str, Any] = {"0|x": {"no": "window"}, "0|department|D1|1m|nope": {}}
    agg = WindowAggregator(state)
    add(agg, 0, 5)
    agg.drain()
    closed = agg.closed_entries(0, MINUTE_START + 10 * 86_400)
    assert "0|x" not in closed and "0|department|D1|1m|nope" not in closed
    assert bundle_key(0, "department", MINUTE_START) in closed


def test_expiry_returns_each_closed_entry_once_as_windows_close_over_time() -> None:
    state: dict[str, Any] = {}
    agg = WindowAggregator(state)
    closed: list[str] = []
    for minute in range(0, 600, 7):  # evaluations spread over ten hours, expiry every round
        agg.add(
            partition=0,
            offset=minute,
            event_epoch=MINUTE_START + minute * 60,
            level=4,
            keys={"service": "S1", "department": "D1", "channel": "web", "region": "310101"},
        )
        agg.drain()
        for name in agg.closed_entries(0, MINUTE_START + minute * 60):
            closed.append(name)
            agg.forget(name)
    # the oracle: a minute closes an hour after its end, the day window not yet
    expected = {n for n in closed if "|1m|" in n}
    assert len(closed) == len(set(closed)) == len(expected)
    assert all(int(n.rsplit("|", 1)[1]) + 60 + 3600 <= MINUTE_START + 593 * 60 for n in closed)
    assert not any("|1d|" in n for n in closed)


DAY = 86_400
HORIZON = 30 * DAY


def day_end() -> int:
    from streams.windows import shanghai_day_window

    return shanghai_day_window(MINUTE_START)[1]


def test_minutes_close_after_the_short_horizon_and_days_after_the_long_one() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state, {"1m": 3600, "1d": HORIZON})
    add(agg, 0, 5)
    agg.drain()
    closed = agg.closed_entries(0, MINUTE_START + 60 + 3600 + 1)
    assert closed and all("|1m|" in name for name in closed)
    for name in closed:
        agg.forget(name)
    # a day long over, but within the horizon: still there
    assert agg.closed_entries(0, day_end() + HORIZON) == []
    assert all("|1d|" in name for name in state)
    closed = agg.closed_entries(0, day_end() + HORIZON + 1)
    assert sorted(closed) == sorted(state)  # the horizon passed: the day goes


def test_the_close_index_rebuilt_from_state_knows_each_windows_horizon() -> None:
    state: dict[str, dict[str, Any]] = {}
    first = WindowAggregator(state, {"1m": 3600, "1d": HORIZON})
    add(first, 0, 5)
    first.drain()
    restarted = WindowAggregator(state, {"1m": 3600, "1d": HORIZON})  # a new owner, after a crash
    assert all("|1m|" in n for n in restarted.closed_entries(0, MINUTE_START + 7 * DAY))
    assert restarted.closed_entries(0, day_end() + HORIZON) == []
    assert restarted.closed_entries(0, day_end() + HORIZON + 1)


def test_a_late_evaluation_counts_in_its_day_only_and_replays_leave_it_once() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    add(agg, 0, 5)
    agg.drain()
    assert agg.add(
        partition=0,
        offset=1,
        event_epoch=MINUTE_START + 5,
        level=1,
        keys={"department": "D1"},
        windows=("1d",),
    )
    changed = agg.drain()
    assert [name for name in changed] == [f"0|department|D1|1d|{day_end() - DAY}"]
    day = WindowCounts.from_state(changed[f"0|department|D1|1d|{day_end() - DAY}"])
    assert (day.level_1, day.level_5, day.version) == (1, 1, 1)
    assert minute(state, "department", "D1").level_1 == 0
    # the same message again (a replay): nothing changes, nothing is re-emitted
    assert not agg.add(
        partition=0,
        offset=1,
        event_epoch=MINUTE_START + 5,
        level=1,
        keys={"department": "D1"},
        windows=("1d",),
    )
    assert agg.drain() == {}


def test_a_minute_is_one_record_per_dimension_holding_every_key() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    for offset, service in enumerate(["S1", "S2", "S3", "S2"]):
        add(agg, offset, 5 if offset else 1, service=service)
    changed = agg.drain()
    minute_records = [name for name in state if "|1m|" in name]
    assert sorted(minute_records) == sorted(
        bundle_key(0, d, MINUTE_START) for d in ("service", "department", "channel", "region")
    )
    services = state[bundle_key(0, "service", MINUTE_START)]["entries"]
    assert {k: (e["levels"], e["version"]) for k, e in services.items()} == {
        "S1": ([1, 0, 0, 0, 0], 0),
        "S2": ([0, 0, 0, 0, 2], 3),
        "S3": ([0, 0, 0, 0, 1], 2),
    }
    # what a batch reports as changed stays one entry per key, with its window's fields
    s2 = changed[f"0|service|S2|1m|{MINUTE_START}"]
    assert (s2["dimension"], s2["key"], s2["window"], s2["start"]) == (
        "service",
        "S2",
        "1m",
        MINUTE_START,
    )
    assert s2["levels"] == [0, 0, 0, 0, 2] and s2["partition"] == 0


def test_a_batch_reports_only_the_minute_entries_it_changed() -> None:
    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    add(agg, 0, 5, service="S1")
    agg.drain()
    add(agg, 1, 5, service="S2")
    changed = agg.drain()
    minutes = {name for name in changed if "|service|" in name and "|1m|" in name}
    assert minutes == {f"0|service|S2|1m|{MINUTE_START}"}
    assert set(state[bundle_key(0, "service", MINUTE_START)]["entries"]) == {"S1", "S2"}


def test_a_minute_counted_before_bundles_goes_on_in_its_single_entry() -> None:
    # state recovered from a changelog written before minute bundles (an upgrade mid-minute)
    legacy = f"0|service|S1|1m|{MINUTE_START}"
    state: dict[str, dict[str, Any]] = {
        legacy: {
            "dimension": "service",
            "key": "S1",
            "window": "1m",
            "start": MINUTE_START,
            "end": MINUTE_START + 60,
            "partition": 0,
            "version": 7,
            "levels": [1, 0, 0, 0, 2],
        }
    }
    agg = WindowAggregator(state)
    add(agg, 7, 5, department="D9")  # offset 7 was counted: the service skips it
    add(agg, 8, 5)
    changed = agg.drain()
    counts = WindowCounts.from_state(state[legacy])
    assert (counts.total, counts.version) == (4, 8)
    assert changed[legacy]["levels"] == [1, 0, 0, 0, 3]
    assert bundle_key(0, "service", MINUTE_START) not in state  # S1 stays on its own


def test_keys_beyond_a_full_bundle_have_a_record_each() -> None:
    from streams.ingest.counts import BUNDLE_KEYS

    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    services = [f"S{n}" for n in range(BUNDLE_KEYS + 2)]
    for offset, service in enumerate(services):
        add(agg, offset, 4, service=service)
    agg.drain()
    for offset, service in enumerate(services):  # again: each goes on where it is
        add(agg, 1000 + offset, 2, service=service)
    changed = agg.drain()
    bundle = state[bundle_key(0, "service", MINUTE_START)]["entries"]
    alone = [name for name in state if "|service|" in name and "|1m|" in name and "||" not in name]
    assert len(bundle) == BUNDLE_KEYS and len(alone) == 2
    counted = {
        e["key"]: e["levels"]
        for v in state.values()
        for e in window_states(v)
        if e["dimension"] == "service" and e["window"] == "1m"
    }
    assert counted == {service: [0, 1, 0, 1, 0] for service in services}
    assert sum(1 for name in changed if "|service|" in name and "|1m|" in name) == len(services)
    # replayed: nothing changes, nothing is written
    before = json.dumps(state, sort_keys=True)
    for offset, service in enumerate(services):
        add(agg, 1000 + offset, 2, service=service)
    assert agg.drain() == {}
    assert json.dumps(state, sort_keys=True) == before


def test_a_bundle_lands_as_a_row_per_key() -> None:
    from sinks.rows import window_rows

    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state)
    for offset, service in enumerate(["S1", "S2"]):
        add(agg, offset, 2, service=service)
    agg.drain()
    rows = window_rows(json.dumps(state[bundle_key(0, "service", MINUTE_START)]).encode())
    assert sorted((r[0], r[1], r[2], r[5], r[6], r[8]) for r in rows) == [
        ("service", "S1", "1m", 0, 0, 1),
        ("service", "S2", "1m", 0, 1, 1),
    ]
    day = next(name for name in state if "|service|S1|1d|" in name)
    assert len(window_rows(json.dumps(state[day]).encode())) == 1


def test_a_bundle_past_its_bytes_moves_its_largest_entries_out_keeping_every_count() -> None:
    import pydantic_core

    from streams.ingest.counts import BadReview

    state: dict[str, dict[str, Any]] = {}
    agg = WindowAggregator(state, bundle_bytes=8_000)
    comment = "办事大厅排队时间太长，窗口工作人员态度很差" * 8  # 168 characters, 3 bytes each
    offset = 0
    for _ in range(2):  # two rounds: the second comment of each bad key overflows
        for n in range(40):
            review = BadReview(f"S{n}", "hall", "H1", "W1", ("110",), comment) if n < 8 else None
            agg.add(
                partition=0,
                offset=offset,
                event_epoch=MINUTE_START + 1,
                level=1 if review else 5,
                keys={"service": f"S{n}", "department": "D1", "channel": "hall"},
                bad_review=review,
            )
            offset += 1
        changed = agg.drain()
        bundle = state[bundle_key(0, "service", MINUTE_START)]
        assert len(pydantic_core.to_json(bundle)) <= 8_000
        assert {n for n in changed if "|service|" in n and "|1m|" in n} == {
            f"0|service|S{n}|1m|{MINUTE_START}" for n in range(40)
        }
    # the second comment of each of the 8 bad keys took the bundle past 8,000 bytes
    alone = {n for n in state if n.startswith("0|service|S") and "|1m|" in n}
    assert alone and not alone & {f"0|service|{k}|1m|{MINUTE_START}" for k in bundle["entries"]}
    counts = {
        e["key"]: sum(e["levels"])
        for v in state.values()
        for e in window_states(v)
        if e["dimension"] == "service" and e["window"] == "1m"
    }
    assert counts == {f"S{n}": 2 for n in range(40)}
    # the moved entries close with their minute like the bundle
    closed = agg.closed_entries(0, MINUTE_START + 60 + 3600 + 1)
    assert alone <= set(closed) and bundle_key(0, "service", MINUTE_START) in closed
    restarted = WindowAggregator(state, bundle_bytes=8_000)
    assert alone <= set(restarted.closed_entries(0, MINUTE_START + 60 + 3600 + 1))
