"""The sink's watchdog decides from the broker's numbers, not from the stuck consumer's."""

from __future__ import annotations

import time

from kafka import TopicPartition

from runtime.poll_watchdog import Offsets, PollWatchdog

TP = TopicPartition("ratings.valid", 0)


class FakeProbe:
    def __init__(self) -> None:
        self.ends: Offsets = {TP: 0}
        self.positions: Offsets = {TP: 0}

    def read(self) -> tuple[Offsets, Offsets]:
        return dict(self.ends), dict(self.positions)


class FakeSink:
    def __init__(self) -> None:
        self.last_batch_at = time.monotonic()
        self.outage = False
        self.progress = 0


def watchdog(probe: FakeProbe, sink: FakeSink, stall_s: float) -> PollWatchdog:
    return PollWatchdog(probe, sink, stall_s=stall_s, on_stall=lambda: None)  # type: ignore[arg-type]


def test_records_waiting_with_nothing_landed_is_a_stall() -> None:
    probe, sink = FakeProbe(), FakeSink()
    dog = watchdog(probe, sink, stall_s=0.2)
    sink.last_batch_at -= 10
    probe.ends = {TP: 100}  # a backlog, and the committed offset stays at 0
    assert not dog.check()
    time.sleep(0.3)
    assert dog.check()


def test_a_sink_that_lands_is_no_stall_and_an_outage_pauses_the_clock() -> None:
    probe, sink = FakeProbe(), FakeSink()
    dog = watchdog(probe, sink, stall_s=0.2)
    probe.ends = {TP: 100}
    assert not dog.check()
    time.sleep(0.3)
    sink.last_batch_at = time.monotonic()  # it landed a batch meanwhile
    assert not dog.check()
    sink.outage = True
    time.sleep(0.3)
    assert not dog.check()  # holding its batch through an outage is not a stall


def test_nothing_to_land_is_no_stall() -> None:
    probe, sink = FakeProbe(), FakeSink()
    dog = watchdog(probe, sink, stall_s=0.1)
    sink.last_batch_at -= 100
    probe.ends = probe.positions = {TP: 42}
    for _ in range(3):
        assert not dog.check()
        time.sleep(0.15)
