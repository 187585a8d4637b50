import pytest

from streams.screening.signals import (
    combined_score,
    needs_transaction,
    over_limit,
    run_through,
    window_start,
)


def test_window_start_is_the_tumbling_window_of_the_span() -> None:
    assert window_start(3_661, 60) == 3_660
    assert window_start(3_661, 3600) == 3_600
    assert window_start(3_600, 3600) == 3_600


def test_over_limit_is_strictly_more() -> None:
    assert not over_limit(3, 3)
    assert over_limit(4, 3)


def test_a_run_is_the_chain_of_close_ratings_around_the_evaluation() -> None:
    ratings = [(0, "a"), (10, "b"), (20, "c"), (100, "d"), (105, "e")]
    run = run_through(ratings, "b", max_gap_s=15)
    assert run is not None
    assert run.members == ("a", "b", "c")
    assert (run.first_at, run.last_at) == (0, 20)
    run = run_through(ratings, "e", max_gap_s=15)
    assert run is not None and run.members == ("d", "e")
    assert run_through(ratings, "zz", max_gap_s=15) is None


def test_a_run_does_not_depend_on_arrival_order() -> None:
    ratings = [(20, "c"), (0, "a"), (10, "b")]
    run = run_through(ratings, "a", max_gap_s=10)
    assert run is not None and run.members == ("a", "b", "c")


def test_channels_that_evaluate_a_transaction_need_one() -> None:
    channels = frozenset({"counter", "sms"})
    assert needs_transaction("counter", False, channels)
    assert not needs_transaction("counter", True, channels)
    assert not needs_transaction("web", False, channels)


def test_scores_combine_without_passing_one() -> None:
    assert combined_score([]) == 0.0
    assert combined_score([0.5]) == 0.5
    assert combined_score([0.5, 0.5]) == 0.75
    assert combined_score([1.0, 0.7]) == 1.0


def test_upper_tail_is_the_binomial_tail() -> None:
    from math import comb

    from streams.screening.signals import upper_tail

    assert upper_tail(0, 10, 0.3) == 1.0
    assert upper_tail(11, 10, 0.3) == 0.0
    assert upper_tail(10, 10, 0.5) == pytest.approx(0.5**10)
    assert upper_tail(9, 10, 0.5) == pytest.approx((comb(10, 9) + 1) * 0.5**10)
    assert upper_tail(3, 10, 1.0) == 1.0


def test_expected_share_leans_on_peers_until_the_window_has_history() -> None:
    from streams.screening.signals import expected_share

    new = expected_share(0, 0, 80, 100, prior_weight=50)
    assert new == pytest.approx(81 / 102)
    old = expected_share(500, 1000, 80, 100, prior_weight=50)
    assert 0.5 < old < 0.52
