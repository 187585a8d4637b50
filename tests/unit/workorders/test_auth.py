"""Login throttling (workorders/auth.py): failures per user id and per address, in a window."""

from __future__ import annotations

from workorders.auth import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_pause_the_user_id_and_the_address_for_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=5, window_s=900, clock=clock)
    for _ in range(4):
        throttle.failed("user:li", "address:10.0.0.1")
    assert not throttle.blocked("user:li", "address:10.0.0.1")
    throttle.failed("user:li", "address:10.0.0.1")
    assert throttle.blocked("user:li")  # from any address
    assert throttle.blocked("user:wang", "address:10.0.0.1")  # any user from that address
    assert not throttle.blocked("user:wang", "address:10.0.0.2")
    clock.now = 901
    assert not throttle.blocked("user:li", "address:10.0.0.1")


def test_a_success_clears_the_user_ids_failures_not_the_addresss() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=2, window_s=60, clock=clock)
    throttle.failed("user:li", "address:a")
    throttle.succeeded("user:li")
    throttle.failed("user:li", "address:a")
    assert not throttle.blocked("user:li")
    assert throttle.blocked("address:a")
