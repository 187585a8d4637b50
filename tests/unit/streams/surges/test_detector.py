"""Surge detection, fed minute by minute with simulated department traffic.

The scenarios sample binomial bad counts with fixed seeds. With the default ``alpha`` of 1e-4
per minute, a two-hour run of 200 departments has a false-alarm probability of at most
120 * 1e-4 = 1.2% by the Bonferroni bound (measured: no false alarm in 240 such runs, one in
200 runs at doubled traffic), so "no alert at all" is the expected outcome, not a lucky seed.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from fractions import Fraction

import pytest

from streams.surges.detector import (
    Judgement,
    MinuteCounts,
    SurgeConfig,
    SurgeDetector,
    betabinom_logsf,
    binom_logsf,
)

T0 = 1_764_300_000 - 1_764_300_000 % 60
BASE_RATE = 0.01


def binomial(rng: random.Random, n: int, p: float) -> int:
    """Binomial sample by geometric skips: O(successes), fast for 1% rates."""
    if p <= 0:
        return 0
    log_q = math.log1p(-p)
    count, position = 0, -1
    while True:
        position += int(math.log(1.0 - rng.random()) / log_q) + 1
        if position >= n:
            return count
        count += 1


def department_sizes(rng: random.Random, n: int = 200) -> dict[str, int]:
    # Typical evaluations per minute of a department: 5..60.
    return {f"D{i:03d}": rng.randint(5, 60) for i in range(n)}


Rate = Callable[[str, int], tuple[float, float]]


def simulate(
    detector: SurgeDetector,
    seed: int,
    minutes: int,
    rate: Rate | None = None,
    scale: int = 1,
    start_minute: int = 0,
    sizes: dict[str, int] | None = None,
) -> list[dict[str, Judgement]]:
    """Feed ``minutes`` minutes; ``rate(key, minute)`` -> (traffic multiplier, bad rate);
    ``sizes`` overrides some departments' evaluations per minute."""
    rng = random.Random(seed)
    sizes = {**department_sizes(rng), **(sizes or {})}
    judged = []
    for minute in range(start_minute, start_minute + minutes):
        counts = {}
        for key, size in sizes.items():
            multiplier, bad_rate = rate(key, minute) if rate else (1.0, BASE_RATE)
            total = int(rng.randint(max(1, size // 2), size + size // 2) * scale * multiplier)
            counts[key] = MinuteCounts(total, binomial(rng, total, bad_rate))
        judged.append(detector.judge_minute(T0 + 60 * minute, counts))
    return judged


def anomalies(judged: list[dict[str, Judgement]]) -> list[Judgement]:
    return [j for minute in judged for j in minute.values() if j.anomalous]


# -- exact tails ---------------------------------------------------------------------------------


def exact_binom_sf(k: int, n: int, p: Fraction) -> Fraction:
    return sum((math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1)), Fraction(0))


def exact_betabinom_sf(k: int, n: int, a: Fraction, b: Fraction) -> Fraction:
    def pmf(j: int) -> Fraction:
        num = Fraction(math.comb(n, j))
        for i in range(j):
            num *= a + i
        for i in range(n - j):
            num *= b + i
        den = Fraction(1)
        for i in range(n):
            den *= a + b + i
        return num / den

    return sum((pmf(j) for j in range(k, n + 1)), Fraction(0))


def log_of(value: Fraction) -> float:
    # Fractions far below the float range still have exact logs via numerator/denominator.
    return math.log(value.numerator) - math.log(value.denominator)


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (0, 10, "1/100"),
        (1, 3, "1/100"),
        (5, 60, "1/100"),
        (18, 60, "1/100"),
        (60, 60, "1/100"),
        (1, 200, "1/100"),  # below the mean: the complement branch
        (2, 200, "1/100"),
        (30, 100, "3/10"),
        (45, 100, "3/10"),
        (150, 400, "1/2"),
        (61, 61, "1/1000"),  # p-value about 1e-183
    ],
)
def test_binom_logsf_is_exact(k: int, n: int, p: str) -> None:
    exact = exact_binom_sf(k, n, Fraction(p))
    assert binom_logsf(k, n, float(Fraction(p))) == pytest.approx(
        log_of(exact), rel=1e-9, abs=1e-12
    )


@pytest.mark.parametrize(
    ("k", "n", "a", "b"),
    [
        (1, 3, "6", "394"),
        (5, 40, "6", "394"),
        (8, 110, "5", "1078"),
        (1, 100, "6", "394"),  # below the mean
        (30, 30, "6", "394"),
        (4, 50, "1/4", "999"),  # a < 1: not log-concave at 0
        (20, 50, "1/4", "999"),
    ],
)
def test_betabinom_logsf_is_exact(k: int, n: int, a: str, b: str) -> None:
    exact = exact_betabinom_sf(k, n, Fraction(a), Fraction(b))
    got = betabinom_logsf(k, n, float(Fraction(a)), float(Fraction(b)))
    assert got == pytest.approx(log_of(exact), rel=1e-9, abs=1e-12)


def test_tails_edge_cases() -> None:
    assert binom_logsf(0, 0, 0.1) == 0.0
    assert binom_logsf(3, 2, 0.1) == -math.inf
    assert binom_logsf(1, 5, 0.0) == -math.inf
    assert binom_logsf(5, 5, 1.0) == 0.0
    assert betabinom_logsf(0, 10, 2.0, 50.0) == 0.0
    assert betabinom_logsf(11, 10, 2.0, 50.0) == -math.inf


def test_betabinom_becomes_the_binomial_with_a_long_history() -> None:
    rate, weight = 0.01, 1e9
    assert betabinom_logsf(8, 60, rate * weight, (1 - rate) * weight) == pytest.approx(
        binom_logsf(8, 60, rate), rel=1e-6
    )


# -- scenarios -----------------------------------------------------------------------------------


def test_two_hours_of_steady_traffic_raise_no_alert() -> None:
    detector = SurgeDetector()
    judged = simulate(detector, seed=7, minutes=120)
    assert anomalies(judged) == []
    # The test did run at full strength: ~200 keys per minute were eligible.
    last = judged[-1]
    assert len(last) == 200
    assert next(iter(last.values())).threshold == pytest.approx(1e-4 / 200, rel=0.05)


def test_doubled_traffic_at_the_usual_rate_raises_no_alert() -> None:
    detector = SurgeDetector()
    simulate(detector, seed=7, minutes=60)
    judged = simulate(detector, seed=8, minutes=60, scale=2, start_minute=60)
    assert anomalies(judged) == []


def test_more_traffic_alone_never_fires_however_large() -> None:
    detector = SurgeDetector()
    for minute in range(30):
        detector.judge_minute(T0 + 60 * minute, {"D1": (1000, 10)})
    # Ten times the traffic, exactly the usual rate: 100 bad reviews, none of them surprising.
    judged = detector.judge_minute(T0 + 60 * 30, {"D1": (10_000, 100)})["D1"]
    assert not judged.anomalous
    assert judged.p_value > 0.3


def surge_at(minute_from: int, key: str = "D017") -> Rate:
    def rate(k: str, minute: int) -> tuple[float, float]:
        if k == key and minute >= minute_from:
            return 2.0, 0.30
        return 1.0, BASE_RATE

    return rate


def test_surge_is_caught_within_two_minutes_and_nothing_else_fires() -> None:
    detector = SurgeDetector()
    judged = simulate(detector, seed=11, minutes=70, rate=surge_at(60))
    assert anomalies(judged[:60]) == []
    first = next(i for i in range(60, 70) if judged[i]["D017"].anomalous)
    assert first - 60 < 2
    hit = judged[first]["D017"]
    assert hit.bad >= 5 and hit.rate_ratio >= 3 and hit.score > 6
    assert {j.key for j in anomalies(judged)} == {"D017"}


def test_small_departments_are_caught_through_the_two_minute_window() -> None:
    # 5 evaluations a minute doubling to 10 at 30%: about 3 bad reviews a minute, below min_bad
    # on its own; the two-minute sum carries it.
    def rate(key: str, minute: int) -> tuple[float, float]:
        if key == "D000" and minute >= 60:
            return 2.0, 0.30
        return 1.0, BASE_RATE

    detector = SurgeDetector()
    judged = simulate(detector, seed=3, minutes=64, rate=rate, sizes={"D000": 5})
    caught = [judged[i]["D000"] for i in range(60, 64) if judged[i]["D000"].anomalous]
    assert caught
    assert any(j.minutes == 2 and j.window_start == j.window_end - 120 for j in caught)


def test_a_long_surge_does_not_teach_itself_normal() -> None:
    detector = SurgeDetector()
    simulate(detector, seed=11, minutes=60)
    before = detector.expected_rate("D017", T0 + 60 * 60)
    judged = simulate(detector, seed=12, minutes=30, rate=surge_at(60), start_minute=60)
    flagged = [m["D017"].anomalous for m in judged]
    assert sum(flagged) >= 28  # still anomalous half an hour in
    assert flagged[-5:] == [True] * 5
    after = detector.expected_rate("D017", T0 + 60 * 90)
    assert after == pytest.approx(before, rel=0.05)


def test_a_surge_that_ended_does_not_linger() -> None:
    detector = SurgeDetector()
    for minute in range(60):
        detector.judge_minute(T0 + 60 * minute, {"D1": (40, minute % 3 == 0)})
    surge = detector.judge_minute(T0 + 3600, {"D1": (40, 15)})["D1"]
    after = detector.judge_minute(T0 + 3660, {"D1": (40, 0)})["D1"]
    assert surge.anomalous
    assert not after.anomalous
    assert after.minutes == 1


def test_a_new_key_leans_on_the_prior() -> None:
    detector = SurgeDetector()
    simulate(detector, seed=5, minutes=30)
    pooled = detector.expected_rate("NEW", T0 + 60 * 30)
    assert 0.005 < pooled < 0.015  # learned from its peers, not the 1.5% guess
    counts = {"NEW": (3, 1), "NEW2": (10, 2), "NEW3": (12, 3)}
    judged = detector.judge_minute(T0 + 60 * 30, counts)
    assert not any(j.anomalous for j in judged.values())
    assert judged["NEW"].expected_rate == pytest.approx(pooled)
    # ...and its own history takes over as it accumulates.
    for minute in range(31, 200):
        detector.judge_minute(T0 + 60 * minute, {"NEW": (50, 2)})
    assert detector.expected_rate("NEW", T0 + 60 * 200) == pytest.approx(0.04, rel=0.2)


def test_a_new_key_on_an_empty_detector_uses_the_configured_prior() -> None:
    detector = SurgeDetector()
    judged = detector.judge_minute(T0, {"X": (3, 1)})["X"]
    assert judged.expected_rate == pytest.approx(0.015)
    assert not judged.anomalous
    assert judged.expected == pytest.approx(0.045)


def test_materiality_needs_min_bad_and_the_rate_ratio() -> None:
    config = SurgeConfig(min_bad=5)
    detector = SurgeDetector(config)
    for minute in range(60):
        detector.judge_minute(T0 + 60 * minute, {"D1": (10, minute % 10 == 0)})
    # 4 bad out of 4: wildly significant, but below min_bad.
    judged = detector.judge_minute(T0 + 3600, {"D1": (4, 4)})["D1"]
    assert judged.p_value < 1e-4 and not judged.anomalous

    big = SurgeDetector(SurgeConfig(min_rate_ratio=3.0))
    for minute in range(600):
        big.judge_minute(T0 + 60 * minute, {"D1": (100_000, 1000)})
    # 1.3% where 1.0% is usual: a p-value near zero, but not a surge anyone must act on.
    judged = big.judge_minute(T0 + 600 * 60, {"D1": (100_000, 1300)})["D1"]
    assert judged.score > 10 and not judged.anomalous


def test_benjamini_hochberg_gains_power_when_many_keys_surge_together() -> None:
    # 100 departments with a well-known 1% rate; then half of them get 6 bad out of 40 in the
    # same minute (an outage, say): each alone is not significant among 100 keys, together they
    # are far too many to be chance.
    flagged: dict[str, set[str]] = {}
    for correction in ("bonferroni", "bh"):
        detector = SurgeDetector(SurgeConfig(correction=correction))  # type: ignore[arg-type]
        keys = [f"D{i:03d}" for i in range(100)]
        for minute in range(60):
            detector.judge_minute(T0 + 60 * minute, {k: (100, 1) for k in keys})
        counts = {k: (40, 6 if i < 50 else 0) for i, k in enumerate(keys)}
        judged = detector.judge_minute(T0 + 3600, counts)
        flagged[correction] = {k for k, j in judged.items() if j.anomalous}
        assert all(j.p_value > 1e-4 / 100 for j in judged.values())
    assert flagged["bonferroni"] == set()
    assert flagged["bh"] == {f"D{i:03d}" for i in range(50)}


def test_state_round_trips_through_json_and_continues_identically() -> None:
    detector = SurgeDetector()
    simulate(detector, seed=21, minutes=40, rate=surge_at(35))
    state = json.loads(json.dumps(detector.to_state()))
    restored = SurgeDetector.from_state(SurgeConfig(), state)
    assert restored.to_state() == detector.to_state()
    original = simulate(detector, seed=22, minutes=10, start_minute=40, rate=surge_at(35))
    replayed = simulate(restored, seed=22, minutes=10, start_minute=40, rate=surge_at(35))
    assert original == replayed


def test_a_replayed_minute_is_judged_but_not_learned() -> None:
    detector = SurgeDetector()
    simulate(detector, seed=4, minutes=10)
    state = detector.to_state()
    detector.judge_minute(T0 + 60 * 9, {"D001": (30, 1), "D002": (20, 0)})
    detector.judge_minute(T0 + 60 * 3, {"D001": (30, 1)})
    assert detector.to_state() == state


def test_idle_keys_are_forgotten() -> None:
    detector = SurgeDetector(SurgeConfig(half_life_minutes=10))
    detector.judge_minute(T0, {"GONE": (20, 0), "STAYS": (20, 0)})
    for minute in range(1, 300):
        detector.judge_minute(T0 + 60 * minute, {"STAYS": (20, 0)})
    assert set(detector.keys()) == {"STAYS"}


def test_counts_are_checked() -> None:
    detector = SurgeDetector()
    with pytest.raises(ValueError, match="total, bad"):
        detector.judge_minute(T0, {"D1": (2, 5)})
    with pytest.raises(ValueError, match="aligned"):
        detector.judge_minute(T0 + 1, {"D1": (5, 2)})
    with pytest.raises(ValueError):
        SurgeConfig(alpha=0)


def test_keys_without_traffic_are_judged_quiet() -> None:
    detector = SurgeDetector()
    judged = detector.judge_minute(T0, {"D1": (0, 0), "D2": (10, 0)})
    assert not judged["D1"].anomalous and judged["D1"].p_value == 1.0
    assert "D1" not in set(detector.keys())


def test_a_second_look_judges_late_counts_against_the_same_family_and_learns_nothing() -> None:
    detector = SurgeDetector()
    simulate(detector, seed=5, minutes=120)
    minute = T0 + 60 * 120
    counts = {f"D{i:03d}": (30, 0) for i in range(200)}
    first = detector.judge_minute(minute, {**counts, "D017": (10, 0)})
    detector.judge_minute(minute + 60, counts)
    assert not first["D017"].anomalous
    before = detector.to_state()
    # the surge's evaluations came after the minute was judged
    again = detector.revise_minute(minute, {**counts, "D017": (40, 16)})
    assert again["D017"].anomalous and not any(
        j.anomalous for key, j in again.items() if key != "D017"
    )
    assert again["D017"].threshold == pytest.approx(first["D017"].threshold)
    after = detector.to_state()
    assert after["pooled"] == before["pooled"] and after["last_minute"] == before["last_minute"]
    # its record of the minute holds the revised counts and will never be learned
    assert [minute, 40, 16, 1] in after["keys"]["D017"]["r"]
    with pytest.raises(ValueError):
        detector.revise_minute(minute + 120, counts)


def test_an_early_look_is_stricter_learns_nothing_and_only_for_minutes_in_progress() -> None:
    detector = SurgeDetector()
    simulate(detector, seed=5, minutes=120)
    minute = T0 + 60 * 120
    counts = {f"D{i:03d}": (10, 0) for i in range(200)}
    before = detector.to_state()
    early = detector.judge_early(minute, {**counts, "D017": (12, 7)})
    assert early["D017"].anomalous
    assert early["D017"].threshold == pytest.approx(detector.config.early_alpha / 200)
    assert detector.to_state() == before
    # a borderline count passes the final test, not the early one
    final_threshold = detector.config.alpha / 200
    borderline = next(
        bad
        for bad in range(5, 30)
        if detector.judge_early(minute, {**counts, "D017": (30, bad)})["D017"].p_value
        < final_threshold
    )
    assert not detector.judge_early(minute, {**counts, "D017": (30, borderline)})["D017"].anomalous
    detector.judge_minute(minute, counts)
    with pytest.raises(ValueError):
        detector.judge_early(minute, counts)
