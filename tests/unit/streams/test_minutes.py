from typing import Any

from streams.minutes import MinuteMerger

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
    [minute] = merger.complete()
    assert (minute.dimension, minute.window_start) == ("department", START)
    assert minute.counts == {"D1": (11, 3)}


def test_a_minute_is_handed_over_once_and_late_partials_are_ignored() -> None:
    merger = MinuteMerger(grace_s=10)
    merger.add(partial(0, 1, [1, 0, 0, 0, 0]))
    merger.add(partial(0, 2, [0, 0, 0, 0, 1], start=START + 60))
    assert [m.window_start for m in merger.complete()] == [START]
    assert not merger.add(partial(1, 1, [5, 0, 0, 0, 0]))  # too late for a judged minute
    assert merger.complete() == []


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
    merger.add(partial(0, 2, [0, 0, 0, 0, 1], start=START + 60))
    [minute] = merger.complete()
    explanation = minute.explanations["D1"]
    assert explanation.top_tags == [("110", 4)]
    assert explanation.top_services == [("S1", 4)]
