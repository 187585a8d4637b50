"""Events per key in a sliding window (runtime/sliding.py), on a clock the test moves."""

from __future__ import annotations

from runtime.sliding import SlidingCounts


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_events_leave_the_window_and_say_when() -> None:
    clock = Clock()
    counts = SlidingCounts(60.0, clock)
    counts.add("a")
    clock.now += 20
    counts.add("a")
    assert counts.count("a") == 2 and counts.count("b") == 0
    assert counts.wait("a") == 40.0 and counts.wait("b") == 0.0
    clock.now += 40  # the first is exactly a window old: out
    assert counts.count("a") == 1
    counts.forget("a")
    assert counts.count("a") == 0


def test_idle_keys_are_forgotten_beyond_the_bound() -> None:
    clock = Clock()
    counts = SlidingCounts(60.0, clock, max_keys=3)
    for key in "abc":
        counts.add(key)
    clock.now += 61
    counts.add("d")
    counts.add("e")  # over the bound: a, b and c are idle and go
    assert set(counts._times) == {"d", "e"}


def test_reading_a_key_never_adds_it() -> None:
    counts = SlidingCounts(60.0, Clock(), max_keys=3)
    for n in range(100):  # sign-ins that only ask whether an address is blocked
        assert counts.count(f"10.0.0.{n}") == 0 and counts.wait(f"10.0.0.{n}") == 0.0
    assert counts._times == {}
