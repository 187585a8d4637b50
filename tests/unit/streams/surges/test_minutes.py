import json
from typing import Any

from streams.surges.minutes import MinuteMerger

START = 1_764_300_000 - 1_764_300_000 % 60


def partial(
    partition: int,
    version: int,
    levels: list[int],
    *,
    start: int = START,
    key: str = "D1",
    dimension: str = "department",
) -> dict[str, Any]:
    return {
        "dimension": dimension,
        "key": key,
        "window": "1m",
        "start": start,
        "end": start + 60,
        "partition": partition,
        "version": version,
        "levels": levels,
    }


def test_newest_version_per_partition_summed_over_partitions() -> None:
    merger = MinuteMerger(grace_s=30)
    assert merger.add(partial(0, 5, [1, 0, 0, 0, 4]))
    assert merger.add(partial(0, 9, [2, 0, 0, 0, 6]))
    assert not merger.add(partial(0, 7, [1, 0, 0, 0, 5]))  # older, e.g. replayed
    assert merger.add(partial(1, 3, [0, 1, 0, 1, 1]))
    assert merger.complete() == []  # event time has not moved past the minute yet
    merger.add(partial(0, 10, [0, 0, 0, 0, 1], start=START + 120))
    assert merger.complete() == []  # partition 1 has not: it holds the clock back
    merger.add(partial(1, 4, [0, 0, 0, 0, 1], start=START + 120))
    [minute] = merger.complete()
    assert (minute.dimension, minute.window_start) == ("department", START)
    assert minute.counts == {"D1": (11, 3)}


def test_a_minute_is_handed_over_once_and_late_partials_are_ignored_without_second_looks() -> None:
    merger = MinuteMerger(grace_s=10, second_looks=0)
    merger.add(partial(0, 1, [1, 0, 0, 0, 0]))
    merger.add(partial(0, 2, [0, 0, 0, 0, 1], start=START + 60))
    assert [m.window_start for m in merger.complete()] == [START]
    assert not merger.add(partial(1, 1, [5, 0, 0, 0, 0]))  # too late for a judged minute
    assert merger.complete() == []


def test_late_partials_of_a_judged_minute_bring_a_second_look_once_they_settle() -> None:
    merger = MinuteMerger(grace_s=10, recheck_s=600, second_looks=2)
    t = START + 200  # arrival clock
    merger.add(partial(0, 1, [1, 0, 0, 0, 0]), at=t)
    merger.add(partial(0, 1, [0, 0, 0, 0, 3], key="D2"), at=t)
    merger.add(partial(0, 2, [0, 0, 0, 0, 1], start=START + 60), at=t)
    [first] = merger.complete()
    assert first.changed is None and first.counts == {"D1": (1, 1), "D2": (3, 0)}
    # a late partition's counts for the judged minute: kept, judged again once settled
    assert merger.add(partial(1, 1, [5, 0, 0, 0, 0]), at=t + 1)
    assert merger.complete() == []  # not settled: more may be on their way
    assert merger.add(partial(1, 2, [7, 0, 0, 0, 0]), at=t + 5)
    assert not merger.add(partial(1, 2, [7, 0, 0, 0, 0]), at=t + 6)  # a replay
    merger.add(partial(0, 3, [0, 0, 0, 0, 1], start=START + 60), at=t + 15)
    [second] = merger.complete()
    assert second.window_start == START and second.changed == frozenset({"D1"})
    # every key of the minute, so the false-alarm control covers the same family
    assert second.counts == {"D1": (8, 8), "D2": (3, 0)}
    assert merger.complete() == []
    # a third look, then no more
    merger.add(partial(1, 3, [9, 0, 0, 0, 0], key="D2"), at=t + 20)
    merger.add(partial(0, 4, [0, 0, 0, 0, 1], start=START + 60), at=t + 40)
    [third] = merger.complete()
    assert third.changed == frozenset({"D2"}) and third.counts["D2"] == (12, 9)
    merger.add(partial(1, 4, [10, 0, 0, 0, 0], key="D2"), at=t + 41)
    merger.add(partial(0, 5, [0, 0, 0, 0, 1], start=START + 60), at=t + 60)
    assert merger.complete() == []


def test_late_partials_that_trickle_in_are_judged_once_they_stop_not_on_the_first_ones() -> None:
    """A judged minute whose evaluations all come 3 minutes late, read 5 s at a time: its
    second look waits until they stop (the first ones alone were too few to judge)."""
    merger = MinuteMerger(grace_s=15, recheck_s=600, second_looks=2)
    t = START + 240
    merger.add(partial(0, 1, [0, 0, 0, 0, 1], key="D2"), at=t)
    merger.add(partial(0, 1, [0, 0, 0, 0, 1], start=START + 180), at=t)
    [first] = merger.complete()
    assert first.changed is None
    for step in range(12):  # a bad review every 5 s for a minute
        merger.add(partial(1, step + 1, [step + 1, 0, 0, 0, 0]), at=t + 5 * step)
        assert merger.complete() == [], step  # still coming
    merger.add(partial(0, 2, [0, 0, 0, 0, 2], start=START + 180), at=t + 70)
    [second] = merger.complete()
    assert second.changed == frozenset({"D1"}) and second.counts["D1"] == (12, 12)


def test_a_minute_changed_without_pause_still_gets_its_look_after_a_minute_and_the_grace() -> None:
    merger = MinuteMerger(grace_s=15, recheck_s=600, second_looks=2)
    t = START + 240
    merger.add(partial(0, 1, [0, 0, 0, 0, 1]), at=t)
    merger.add(partial(0, 1, [0, 0, 0, 0, 1], start=START + 180), at=t)
    [first] = merger.complete()
    assert first.window_start == START and first.changed is None
    looks = []
    for step in range(40):  # a change every 5 s for over 3 minutes
        merger.add(partial(1, step + 1, [step + 1, 0, 0, 0, 0]), at=t + 5 * step)
        looks += [(5 * step, m.counts["D1"][1]) for m in merger.complete() if m.changed]
    # the first change came at t: looks at t + 75 and, after the next first change, 75 s later
    assert looks == [(75, 16), (155, 32)]


def test_a_judged_minute_is_dropped_once_the_recheck_horizon_has_passed() -> None:
    merger = MinuteMerger(grace_s=10, recheck_s=150)
    merger.add(partial(0, 1, [1, 0, 0, 0, 0]), at=START)
    merger.add(partial(0, 1, [0, 0, 0, 0, 1], start=START + 60), at=START)
    merger.complete()
    merger.add(partial(0, 1, [0, 0, 0, 0, 1], start=START + 180), at=START + 1)
    assert [m.window_start for m in merger.complete()] == [START + 60]
    assert not merger.add(partial(1, 1, [5, 0, 0, 0, 0]), at=START + 2)  # past the horizon
    assert not any(str(START) in name for name in merger.to_state()["pending"])
    assert merger.to_state()["reviews"].keys() == {f"department|{START + 60}"}


def test_state_round_trip_keeps_pending_minutes() -> None:
    merger = MinuteMerger(grace_s=10)
    merger.add(partial(0, 1, [1, 0, 0, 0, 3]))
    restored = MinuteMerger.from_state(merger.to_state())
    restored.add(partial(0, 2, [0, 0, 0, 0, 1], start=START + 60))
    [minute] = restored.complete()
    assert minute.counts == {"D1": (4, 1)}


def test_explanations_merge_the_bad_review_breakdowns() -> None:
    merger = MinuteMerger(grace_s=10)
    for partition in (0, 1):
        entry = partial(partition, 1, [2, 0, 0, 0, 0])
        entry["bad_reviews"] = {
            "services": {"S1": 2},
            "channels": {"web": 2},
            "halls": {},
            "windows": {},
            "tags": {"110": 2},
            "comments": ["登录不上"],
        }
        merger.add(entry)
    for partition in (0, 1):
        merger.add(partial(partition, 2, [0, 0, 0, 0, 1], start=START + 60))
    [minute] = merger.complete()
    explanation = minute.explanations["D1"]
    assert explanation.top_tags == [("110", 4)]
    assert explanation.top_services == [("S1", 4)]


def clocked(partition: int, version: int, clock: int, *, start: int = START) -> dict[str, Any]:
    return {**partial(partition, version, [0, 0, 0, 0, 1], start=start), "clock": clock}


def test_the_clock_is_the_oldest_of_the_partitions_that_send() -> None:
    merger = MinuteMerger(grace_s=30, idle_s=60)
    merger.add(clocked(0, 1, START + 10), at=START + 10)
    merger.add(clocked(1, 1, START + 5), at=START + 10)
    # partition 0's clock runs far ahead: the watermark is partition 1's
    merger.add(clocked(0, 2, START + 600, start=START + 540), at=START + 20)
    assert merger.complete() == []
    assert merger.watermark == START + 5
    merger.add(clocked(1, 2, START + 95, start=START + 60), at=START + 95)
    assert [m.window_start for m in merger.complete()] == [START]
    assert merger.watermark == START + 95


def test_an_idle_partition_stops_holding_the_clock_back() -> None:
    merger = MinuteMerger(grace_s=30, idle_s=60)
    merger.add(clocked(0, 1, START + 10), at=START + 10)
    merger.add(clocked(1, 1, START + 10), at=START + 10)
    merger.add(clocked(0, 2, START + 100, start=START + 60), at=START + 70)
    assert merger.complete() == []  # partition 1 sent 60 s ago: still active
    assert set(merger.active_sources()) == {"0", "1"}
    merger.add(clocked(0, 3, START + 101, start=START + 60), at=START + 71)
    assert set(merger.active_sources()) == {"0"}
    assert [m.window_start for m in merger.complete()] == [START]
    # when it sends again it holds the clock back again, which never goes back
    merger.add(clocked(1, 2, START + 80, start=START + 60), at=START + 72)
    assert merger.advance() == START + 101


def test_a_partial_without_a_clock_counts_with_its_window_end() -> None:
    """Partials written before the clock was sent with them (the rule before)."""
    merger = MinuteMerger(grace_s=30)
    merger.add(partial(0, 1, [1, 0, 0, 0, 0]))
    merger.add(partial(0, 2, [0, 0, 0, 0, 1], start=START + 60))
    assert [m.window_start for m in merger.complete()] == [START]


def test_a_state_saved_before_the_source_clocks_still_loads() -> None:
    """Format 1: no idle_s, sources or now; its watermark and pending minutes are kept."""
    old = {
        "format": 1,
        "grace_s": 30,
        "pending": {"department|D1|" + str(START): {"0": partial(0, 7, [3, 0, 0, 0, 2])}},
        "judged": {"department": START - 60},
        "watermark": START + 20,
    }
    merger = MinuteMerger.from_state(old)
    assert (merger.grace_s, merger.idle_s, merger.watermark) == (30, 60, START + 20)
    assert not merger.add(partial(0, 1, [1, 0, 0, 0, 0], start=START - 60))  # judged already
    merger.add(clocked(0, 8, START + 95, start=START + 60), at=START + 95)
    [minute] = merger.complete()
    assert (minute.window_start, minute.counts) == (START, {"D1": (5, 3)})
    saved = merger.to_state()
    assert saved["format"] == 4 and saved["sources"] == {"0": [START + 95, START + 95]}
    again = MinuteMerger.from_state(saved, idle_s=120)
    assert again.idle_s == 120 and again.active_sources() == {"0": START + 95}


def clocked_partial(
    partition: int, version: int, levels: list[int], clock: int, **kw: Any
) -> dict[str, Any]:
    return {**partial(partition, version, levels, **kw), "clock": clock}


def test_a_minute_in_progress_gets_an_early_look_at_each_mark_then_its_final_one() -> None:
    merger = MinuteMerger(grace_s=15, early_every_s=20)
    merger.add(clocked_partial(0, 1, [2, 0, 0, 0, 3], START + 10))
    assert merger.complete() == []  # 10 s into the minute: no mark passed yet
    merger.add(clocked_partial(0, 2, [4, 0, 0, 0, 5], START + 25))
    [early] = merger.complete()
    assert early.early and early.window_start == START and early.counts == {"D1": (9, 4)}
    assert merger.complete() == []  # once per mark
    merger.add(clocked_partial(0, 3, [4, 0, 0, 0, 9], START + 70))  # passes 40 and 60 at once
    [early] = merger.complete()
    assert early.early and early.counts == {"D1": (13, 4)}
    merger.add(clocked_partial(0, 1, [0, 0, 0, 0, 1], START + 75, start=START + 60))
    [final] = merger.complete()
    assert not final.early and final.counts == {"D1": (13, 4)}
    restored = MinuteMerger.from_state(merger.to_state())
    assert restored.early_every_s == 20 and restored.complete() == []


def test_a_worker_catching_up_settles_a_second_look_by_event_time() -> None:
    """Partials of a backlog arrive within a second: event time tells they have settled."""
    merger = MinuteMerger(grace_s=15, recheck_s=600)
    t = START + 3600
    merger.add(clocked_partial(0, 1, [0, 0, 0, 0, 4], START + 30), at=t)
    merger.add(clocked_partial(0, 1, [0, 0, 0, 0, 1], START + 80, start=START + 60), at=t)
    [first] = merger.complete()
    assert first.window_start == START and first.changed is None
    assert merger.add(clocked_partial(1, 1, [6, 0, 0, 0, 0], START + 85), at=t)
    assert merger.complete() == []
    merger.add(clocked_partial(0, 2, [0, 0, 0, 0, 2], START + 101, start=START + 60), at=t)
    merger.add(clocked_partial(1, 2, [0, 0, 0, 0, 1], START + 100, start=START + 60), at=t)
    [second] = merger.complete()  # the clock moved 20 s (80 -> 100) with no new change
    assert second.changed == frozenset({"D1"}) and second.counts == {"D1": (10, 6)}


def test_partials_travel_in_bundles_and_single_ones_still_read() -> None:
    from streams.surges.minutes import PARTIALS_PER_RECORD, bundle_partials, unbundle_partials

    partials = [{"key": f"D{i}", "version": i} for i in range(PARTIALS_PER_RECORD + 1)]
    records = bundle_partials(partials)
    assert len(records) == 2  # one record per PARTIALS_PER_RECORD, not one per partial
    assert unbundle_partials(json.loads(r) for r in records) == partials
    # a record of one partial, written before bundles, is taken as it is
    assert unbundle_partials([{"key": "D1"}, {"partials": [{"key": "D2"}]}]) == [
        {"key": "D1"},
        {"key": "D2"},
    ]
    assert bundle_partials([]) == []
