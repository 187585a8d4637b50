"""What the watchdog, the metrics and the progress lines read: how far the worker got.

A worker with ingest follows its ``ratings.raw`` batches (counted once Kafka acknowledged
their output); a follow-up worker follows its own batches per input topic, since one of its
agents can hang while the others move.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from streams import metrics

Partition = TypeVar("Partition")


def read_through(
    ends: Mapping[Partition, int],
    read_to: Callable[[Partition], int],
    committed: Callable[[Partition], int],
) -> list[Partition]:
    """The partitions of ``ends`` (their end offsets) whose every record is processed: read to
    the end (``read_to``: the offset after the newest one processed), or committed to it (a
    partition this process has read nothing of since it started is read to its end if its
    committed offset is), for the surge and case clocks' heartbeats."""
    return [p for p, end in ends.items() if max(read_to(p), committed(p)) >= end]


@dataclass
class Progress:
    runs_ingest: bool = True
    batches: int = 0
    at: float = field(default_factory=time.monotonic)
    started: float = field(default_factory=time.monotonic)
    evaluations: int = 0
    reported: int = 0  # evaluations at the last progress line
    # the follow-up half's last batch per input topic (monotonic)
    batch_at: dict[str, float] = field(default_factory=dict)

    def batch_done(self, size: int) -> None:
        self.batches += 1
        self.evaluations += size
        self.at = time.monotonic()
        metrics.last_batch.set_to_current_time()

    def delivered(self, size: int, started: float) -> Callable[[asyncio.Future[Any]], None]:
        """A callback for a batch's deliveries: metrics count a batch once Kafka has
        acknowledged its output."""

        def done(delivery: asyncio.Future[Any]) -> None:
            if delivery.cancelled() or delivery.exception() is not None:
                return
            self.batch_done(size)
            metrics.evaluations_in.inc(size)
            metrics.batch_size.observe(size)
            metrics.batch_seconds.observe(time.perf_counter() - started)

        return done

    def follows(self, topics: Iterable[str]) -> None:
        """For a follow-up worker, "no batch yet" counts from the start on each topic."""
        if not self.runs_ingest:
            for topic in topics:
                metrics.follow_up_last_batch.labels(topic=topic).set_to_current_time()

    def followed_up(self, topic: str, records: int) -> None:
        # with ingest in the process, ratings.raw's batches are what the watchdog and the
        # progress line follow
        if not self.runs_ingest:
            self.evaluations += records
            self.batches += 1
            self.batch_at[topic] = self.at = time.monotonic()
            metrics.follow_up_last_batch.labels(topic=topic).set_to_current_time()

    def last_batch_at(self, topic: str) -> float:
        """When the agent reading ``topic`` last processed a batch (monotonic)."""
        if self.runs_ingest:
            return self.at
        return self.batch_at.get(topic, self.started)
