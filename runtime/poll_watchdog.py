"""Watching a kafka-python poll loop (the sink's, the notifier's) from beside it: lag read with
clients of its own, and a stall ends the process with ``STALLED`` so its supervisor starts a
fresh one.

Why a thread with its own clients: the stall seen in CI was the sink's kafka-python consumer
spinning inside ``poll()`` (``ensure_coordinator_ready`` / ``NetworkSelector`` wake-ups) at
98 % CPU, landing nothing for minutes. Code in the sink's own loop never runs while ``poll()``
does not return, and the consumer's own view of its lag is what is stuck. So lag is measured
here, from the broker: the end offsets of the sink's topics against the group's committed
offsets. That also makes ``haochaping_sink_consumer_lag`` move while the sink is stuck, which
is what the lag alert needs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from prometheus_client import Gauge

from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from runtime.watchdog import StallDetector, exit_stalled

log = logging.getLogger("haochaping.watchdog")

Offsets = dict[TopicPartition, int]


def total_lag(ends: Offsets, positions: Offsets) -> int:
    """Records not yet committed, over all partitions."""
    return sum(max(0, end - positions[tp]) for tp, end in ends.items())


class Watched(Protocol):
    """What the watchdog reads of the loop it watches (from another thread: plain attributes
    only). The sink and the notifier (notify/delivery.py) both have them."""

    last_batch_at: float  # time.monotonic() of the last batch settled and committed

    @property
    def outage(self) -> bool:
        """Waiting on an outage the loop reports itself (ClickHouse, the webhook)."""

    @property
    def progress(self) -> int:
        """Rows landed, events settled."""


class LagProbe:
    def __init__(self, settings: Settings, topics: list[str], group: str) -> None:
        self._topics, self._group = topics, group
        common = {
            "bootstrap_servers": settings.kafka_servers,
            "request_timeout_ms": 10_000,
            "client_id": f"{group}-probe",
            **kafka_security(settings),
        }
        self._consumer = KafkaConsumer(**common)
        self._admin = KafkaAdminClient(**common)

    def read(self) -> tuple[Offsets, Offsets]:
        """(end offsets, committed positions) of every partition of the sink's topics; a
        partition the group never committed counts from its first offset."""
        partitions = [
            TopicPartition(topic, p)
            for topic in self._topics
            for p in sorted(self._consumer.partitions_for_topic(topic) or ())
        ]
        ends = self._consumer.end_offsets(partitions, timeout_ms=10_000)
        starts = self._consumer.beginning_offsets(partitions, timeout_ms=10_000)
        committed = self._admin.list_group_offsets({self._group: None}).get(self._group, {})
        positions = {}
        for tp in partitions:
            offset = committed[tp].offset if tp in committed else -1
            positions[tp] = offset if offset >= 0 else starts[tp]
        return ends, positions

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()


class PollWatchdog:
    def __init__(
        self,
        probe: LagProbe,
        sink: Watched,
        *,
        stall_s: float,
        every_s: float = 10.0,
        on_stall: Callable[[], None] | None = None,
        say: Callable[[str], None] | None = None,
        who: str = "sink",
        done: str = "rows landed",
        lag_gauge: Gauge | None = None,  # where the lag is published, per partition
    ) -> None:
        self._probe, self._sink = probe, sink
        self._who, self._done, self._lag_gauge = who, done, lag_gauge
        self._say = say  # one progress line a minute, at the default level
        self._lag = 0
        self._landed_at_last_line = 0
        self._every_s = every_s
        self._detector = StallDetector(stall_s)
        self._on_stall = on_stall or (lambda: exit_stalled(who, stall_s))
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{who}-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def check(self) -> bool:
        """One look: publish the lag; True when the sink is stalled."""
        ends, positions = self._probe.read()
        self._lag = total_lag(ends, positions)
        for tp, end in ends.items():
            if self._lag_gauge is not None:
                self._lag_gauge.labels(topic=tp.topic, partition=str(tp.partition)).set(
                    max(0, end - positions[tp])
                )
        if self._sink.outage:
            self._detector.pause()  # the loop reports the outage itself and holds its batch
            return False
        return self._detector.stalled(
            ends, self._sink.last_batch_at, time.monotonic(), positions=positions
        )

    def _run(self) -> None:
        looks = 0
        while not self._stopped.wait(self._every_s):
            looks += 1
            if self._say is not None and looks % 6 == 0:
                self._say_progress()
            try:
                stalled = self.check()
            except Exception as exc:  # Kafka away: the sink says so itself
                log.info("watchdog: lag not readable (%s)", exc)
                continue
            if stalled:
                self._on_stall()
                return

    def _say_progress(self) -> None:
        assert self._say is not None
        done = self._sink.progress
        self._say(
            f"{self._who}: {done - self._landed_at_last_line} {self._done} in the last minute, "
            f"{done} since start; {self._lag} records waiting"
        )
        self._landed_at_last_line = done
