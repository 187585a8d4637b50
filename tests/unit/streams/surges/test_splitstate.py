"""A large mapping as one record per entry, written where it changed."""

from __future__ import annotations

from typing import Any

from streams.surges.splitstate import SplitState


class RecordingState(dict[str, Any]):
    """A state mapping that records every write and delete, like a changelog."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, str]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.log.append(("set", key))
        super().__setitem__(key, value)

    def pop(self, key: str, default: Any = None) -> Any:
        self.log.append(("del", key))
        return super().pop(key, default)


def test_only_what_changed_is_written_and_what_went_is_deleted() -> None:
    state = RecordingState()
    split = SplitState(state, "0|keys|service|")
    assert split.write({"S1": {"h": [1]}, "S2": {"h": [2]}}) == 2
    state.log.clear()
    assert split.write({"S1": {"h": [1]}, "S3": {"h": [3]}}) == 2  # S3 new, S2 gone
    assert state.log == [("set", "0|keys|service|S3"), ("del", "0|keys|service|S2")]
    assert set(state) == {"0|keys|service|S1", "0|keys|service|S3"}


def test_after_a_recovery_it_reads_back_what_the_changelog_held() -> None:
    state = RecordingState()
    SplitState(state, "0|p|").write({"a|1": [1], "b|2": [2]})
    state["0|other"] = {"not": "ours"}
    fresh = SplitState(state, "0|p|")
    assert fresh.read() == {"a|1": [1], "b|2": [2]}
    state.log.clear()
    assert fresh.write({"a|1": [1], "b|2": [2]}) == 0  # nothing changed: nothing sent
    assert state.log == []


def test_the_surge_state_has_one_small_record_per_key() -> None:
    """20,000 keys of one dimension, judged over a few minutes: no record near 1 MB."""
    import json

    from runtime.settings import Settings
    from streams.pipeline import StepStates, build_steps
    from streams.testing import ListOutbox

    states = StepStates({}, {}, {}, {})
    steps = build_steps(
        Settings(demo_mode=True), secret=b"s" * 32, outbox=ListOutbox(), states=states
    )
    start = 1_764_300_000 - 1_764_300_000 % 60
    for minute in range(4):
        steps.surges.process(
            {
                "dimension": "service",
                "key": f"S{n}",
                "window": "1m",
                "start": start + 60 * minute,
                "end": start + 60 * minute + 60,
                "partition": 0,
                "version": minute,
                "levels": [0, 0, 1, 1, 3],
            }
            for n in range(20_000)
        )
    sizes = {name: len(json.dumps(value)) for name, value in states.surge.items()}
    assert sum(1 for name in sizes if name.startswith("0|keys|service|")) >= 20_000
    # a quarter of Kafka's 1 MB: pending partials are grouped per minute up to that (issue 14)
    assert max(sizes.values()) <= 256 * 1024, max(sizes.items(), key=lambda item: item[1])


def test_a_minute_of_long_bad_reviews_is_kept_in_records_well_under_the_limit() -> None:
    """Pending partials are grouped per minute (issue 14) by bytes, not by count: 200 keys
    whose partials carry three long comments from each of four partitions were 1.7 MB in one
    record, over Kafka's 1 MB."""
    import json

    from runtime.settings import Settings
    from streams.pipeline import StepStates, build_steps
    from streams.testing import ListOutbox

    settings = Settings(demo_mode=True)
    states = StepStates({}, {}, {}, {})
    steps = build_steps(settings, secret=b"s" * 32, outbox=ListOutbox(), states=states)
    start = 1_764_300_000 - 1_764_300_000 % 60
    comment = ("服务态度很差" * 34)[:200]
    steps.surges.process(
        [
            {
                "dimension": "service",
                "key": f"S{n:04d}",
                "window": "1m",
                "start": start,
                "end": start + 60,
                "partition": partition,
                "version": 10**9,
                "levels": [9, 1, 0, 0, 0],
                "clock": start + 20,
                "bad_reviews": {"services": {f"S{n:04d}": 10}, "comments": [comment] * 3},
            }
            for n in range(200)
            for partition in range(4)
        ],
        at=start + 21,
    )
    pending = {k: v for k, v in states.surge.items() if k.startswith("0|pending|")}
    assert sum(len(group) for group in pending.values()) == 200
    assert len(pending) > 1
    limit = settings.topic_max_message_bytes // 4
    assert (
        max(len(json.dumps(group, ensure_ascii=False).encode()) for group in pending.values())
        <= limit
    )
