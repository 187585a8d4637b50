from streams.stall import StallDetector


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
