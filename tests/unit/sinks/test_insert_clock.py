"""When the sink inserts: ``sink_batch_s`` after the last insert began, not after it ended,
so a row read while one lands waits that long at most (issue 31's latency)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from kafka import TopicPartition

import sinks.consumer
from runtime.settings import Settings
from sinks.consumer import Sink


@dataclass
class Clock:
    now: float = 0.0

    def monotonic(self) -> float:
        return self.now


@dataclass
class Record:
    offset: int
    value: bytes = b"{}"


@dataclass
class Consumer:
    """A Kafka consumer that hands out one record a poll; a commit takes ``commit_s``."""

    clock: Clock
    topic: str
    commit_s: float
    offset: int = 0

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        self.offset += 1
        return {TopicPartition(self.topic, 0): [Record(self.offset)]}

    def commit(self, offsets: Any) -> None:
        self.clock.now += self.commit_s


class Writer:
    address = "fake"

    def insert(self, table: str, columns: Any, rows: Any) -> None:
        pass  # whatever rows the records made: only when they land matters here


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sinks.consumer.time, "monotonic", clock.monotonic)
    return clock


def test_the_next_insert_is_due_a_wait_after_the_last_one_began(clock: Clock) -> None:
    settings = Settings(sink_batch_s=0.25)
    consumer = Consumer(clock, settings.topic_valid, commit_s=0.15)
    sink = Sink(settings, consumer, Writer())  # type: ignore[arg-type]

    clock.now = 0.3
    sink.poll_once()
    assert sink.due()
    sink.flush()  # began at 0.3, ends at 0.45
    assert clock.now == pytest.approx(0.45)

    clock.now = 0.5
    sink.poll_once()
    assert not sink.due()  # 0.2 s after the last insert began
    clock.now = 0.56
    assert sink.due()  # 0.26 s after it began, though only 0.11 s after it ended


def test_nothing_held_is_never_due(clock: Clock) -> None:
    settings = Settings(sink_batch_s=0.25)
    sink = Sink(settings, Consumer(clock, settings.topic_valid, commit_s=0.0), Writer())  # type: ignore[arg-type]
    clock.now = 10.0
    assert not sink.due()
