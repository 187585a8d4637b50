from runtime.watchdog import StallDetector


def test_new_input_that_waits_with_no_batch_is_a_stall() -> None:
    detector = StallDetector(stall_s=60)
    assert not detector.stalled({0: 10}, last_batch_at=0, now=100)  # first look: a baseline
    assert not detector.stalled({0: 50}, last_batch_at=0, now=110)  # input arrived
    assert not detector.stalled({0: 50}, last_batch_at=0, now=160)  # waited 50 s
    assert detector.stalled({0: 50}, last_batch_at=0, now=171)  # waited 61 s


def test_processing_after_the_input_arrived_is_no_stall() -> None:
    detector = StallDetector(stall_s=60)
    detector.stalled({0: 10}, last_batch_at=0, now=100)
    detector.stalled({0: 50}, last_batch_at=0, now=110)
    assert not detector.stalled({0: 50}, last_batch_at=115, now=200)
    assert not detector.stalled({0: 50}, last_batch_at=115, now=400)  # idle, nothing waits


def test_a_quiet_topic_is_no_stall() -> None:
    detector = StallDetector(stall_s=60)
    for now in range(0, 1000, 10):
        assert not detector.stalled({0: 10, 1: 7}, last_batch_at=0, now=now)


def test_recovery_and_rebalances_reset_the_clock() -> None:
    detector = StallDetector(stall_s=60)
    detector.stalled({0: 10}, last_batch_at=0, now=100)
    detector.stalled({0: 50}, last_batch_at=0, now=110)
    detector.pause()
    assert not detector.stalled({0: 50}, last_batch_at=0, now=200)  # no new input since
    assert not detector.stalled({0: 60}, last_batch_at=0, now=210)
    assert detector.stalled({0: 60}, last_batch_at=0, now=271)


def test_a_backlog_present_at_start_that_never_moves_is_a_stall() -> None:
    detector = StallDetector(stall_s=60)
    committed = {0: 0}
    assert not detector.stalled({0: 50}, last_batch_at=0, now=100, positions=committed)
    assert not detector.stalled({0: 50}, last_batch_at=0, now=150, positions=committed)
    assert detector.stalled({0: 50}, last_batch_at=0, now=161, positions=committed)


def test_a_backlog_being_worked_off_is_no_stall() -> None:
    detector = StallDetector(stall_s=60)
    for now in range(100, 1000, 10):
        # a batch lands every 10 s while the backlog stays (input keeps coming)
        assert not detector.stalled(
            {0: now * 10}, last_batch_at=now - 5, now=now, positions={0: now}
        )


def test_nothing_waiting_is_no_stall_however_long_since_the_last_batch() -> None:
    detector = StallDetector(stall_s=60)
    for now in range(100, 1000, 10):
        assert not detector.stalled(
            {0: 50, 1: 3}, last_batch_at=0, now=now, positions={0: 50, 1: 3}
        )


def test_a_pause_longer_than_its_bound_is_a_stall() -> None:
    detector = StallDetector(stall_s=60, pause_bound_s=120)
    assert not detector.pause(now=100)
    assert not detector.pause(now=200)
    assert detector.pause(now=221)
    detector.stalled({0: 1}, last_batch_at=0, now=230)  # the rebalance ended
    assert not detector.pause(now=240)  # a new pause starts its own clock
