"""The worker without Kafka or Faust: its six steps over dicts, topics as lists.

In the spirit of bytewax's testing module and Faust's ``test_context``: unit tests send raw
evaluations, run the pipeline, and read what it wrote on each topic. It moves records between
the steps by the routes the worker's agents read (streams/topology.py), commits offsets after
each batch, and can "crash": the steps are rebuilt from the durable state (what the
changelogs held) and re-read from the committed offsets, the way a restarted worker does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from runtime.settings import Settings
from streams.ingest.rekey import home_partition
from streams.pipeline import Steps, StepStates, build_steps
from streams.records import Record
from streams.screening.facts import unbundle_facts
from streams.topology import StepName, feed, rekeyed_topic, routes


@dataclass(frozen=True, slots=True)
class Sent:
    topic: str
    partition: int | None
    key: bytes | None
    value: bytes | None
    timestamp: float | None = None


@dataclass
class ListOutbox:
    """An outbox that keeps what was added, in order."""

    sent: list[Sent] = field(default_factory=list)

    def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        timestamp: float | None = None,
    ) -> None:
        self.sent.append(Sent(topic, partition, key, value, timestamp))


class Log:
    """One topic: partitions of records with offsets, like Kafka keeps them."""

    def __init__(self, name: str, partitions: int) -> None:
        self.name = name
        self.partitions: list[list[Record]] = [[] for _ in range(partitions)]

    def append(
        self, key: bytes | None, value: bytes | None, at: float, partition: int | None
    ) -> None:
        if partition is None:
            count = len(self.partitions)
            partition = home_partition(key, count) if key else 0
        records = self.partitions[partition]
        records.append(Record(self.name, partition, len(records), at, key, value))

    def records(self) -> list[Record]:
        return [r for part in self.partitions for r in part]

    def values(self) -> list[Any]:
        return [json.loads(r.value) for r in self.records() if r.value is not None]


class InMemoryPipeline:
    def __init__(self, settings: Settings, *, secret: bytes = b"test-secret" * 4) -> None:
        self.settings = settings
        self.secret = secret
        self.states = StepStates({}, {}, {}, {})
        self.outbox = ListOutbox()
        self.logs: dict[str, Log] = {}
        self.committed: dict[tuple[str, int], int] = defaultdict(int)
        self.clock = 0.0  # the broker's clock: timestamps of what the pipeline writes
        self.steps = self._build()
        # what production's agents read, in the order they read it (streams/topology.py)
        self.routes = routes(settings)

    def _build(self) -> Steps:
        return build_steps(
            self.settings, secret=self.secret, outbox=self.outbox, states=self.states
        )

    def log(self, topic: str) -> Log:
        if topic not in self.logs:
            widths = {route.topic: route.partitions for route in self.routes}
            self.logs[topic] = Log(topic, widths.get(topic, self.settings.topic_partitions))
        return self.logs[topic]

    def send_raw(
        self,
        messages: Iterable[tuple[bytes | None, bytes]],
        at: float,
        partition: int | None = None,
    ) -> None:
        """Channels' messages, written at broker time ``at`` (epoch seconds), to
        ``partition`` (None: the partition of each message's key)."""
        self.send(self.settings.topic_raw, messages, at, partition)

    def send(
        self,
        topic: str,
        messages: Iterable[tuple[bytes | None, bytes]],
        at: float,
        partition: int | None = None,
    ) -> None:
        """Messages others write to ``topic`` (ratings.raw, transactions.done, …)."""
        self.clock = max(self.clock, at)
        log = self.log(topic)
        for key, value in messages:
            log.append(key, value, at, partition)

    def replay(self, topic: str) -> None:
        """Forget the committed offsets of ``topic``: the next run reads it all again."""
        for partition in range(len(self.log(topic).partitions)):
            self.committed[(topic, partition)] = 0

    def _deliver(self) -> None:
        sent, self.outbox.sent = self.outbox.sent, []
        for message in sent:
            self.log(message.topic).append(
                message.key,
                message.value,
                self.clock if message.timestamp is None else message.timestamp,
                message.partition,
            )

    def _unread(self, topic: str, batch: int) -> list[list[Record]]:
        batches = []
        for partition, records in enumerate(self.log(topic).partitions):
            start = self.committed[(topic, partition)]
            for begin in range(start, len(records), batch):
                batches.append(records[begin : begin + batch])
        return batches

    def _commit(self, batch: list[Record]) -> None:
        last = batch[-1]
        self.committed[(last.topic, last.partition)] = last.offset + 1

    def run(self, *, batch: int = 500, crash_after: int | None = None) -> None:
        """Process everything until no step has input left. ``crash_after=N``: after N
        batches, stop without committing the last one and restart (see ``crash``)."""
        done = 0
        while True:
            progressed = False
            for route in self.routes:
                for records in self._unread(route.topic, batch):
                    self._feed(route.step, records)
                    self._deliver()
                    done += 1
                    if crash_after is not None and done == crash_after:
                        self.crash()
                        crash_after = None
                        progressed = True
                        break
                    self._commit(records)
                    progressed = True
            if not progressed:
                return

    def _feed(self, step: StepName, records: list[Record]) -> None:
        # read at the broker's clock: what was just written has no lag
        if step == "screening":
            self._rebuild_screening(records)
        feed(self.steps, step, records, wall=self.clock)

    def heartbeat(self, at: float) -> dict[int, int | None]:
        """What the worker's timers do at wall time ``at`` (streams/worker/timers.py):
        partitions of ratings.raw read to their end say so, and those of cases.events move
        their case clock on. Returns the heartbeat's clocks; run :meth:`run` after."""
        self.clock = max(self.clock, at)
        raw = self._read_to_end(self.settings.topic_raw)
        clocks = self.steps.ingest.heartbeat(
            raw + self._read_to_end(rekeyed_topic(self.settings)), at
        )
        self.steps.cases.advance(self._read_to_end(self.settings.topic_cases), at)
        self._deliver()
        return clocks

    def _read_to_end(self, topic: str) -> list[int]:
        """Partitions (source ids for the ingest step) whose every record is processed."""
        if topic == self.settings.topic_cases:
            read_to, source = self.steps.cases.read_to, (lambda p: p)
        else:
            read_to = self.steps.ingest.read_to
            source = lambda p: self.steps.ingest.source_of(topic, p)  # noqa: E731
        partitions = self.log(topic).partitions
        return [
            source(p)
            for p, records in enumerate(partitions)
            if max(read_to(source(p)), self.committed[(topic, p)]) >= len(records)
        ]

    def _rebuild_screening(self, records: list[Record]) -> None:
        screening = self.steps.screening
        if not screening.rebuilt:
            # as the worker does: the facts before the committed offset, within the span
            first, since = records[0].offset, self.clock - screening.rebuild_span_s
            earlier = self.log(records[0].topic).partitions[records[0].partition][:first]
            screening.rebuild(unbundle_facts(r.value for r in earlier if r.timestamp >= since))
            screening.rebuilt = True

    def crash(self) -> None:
        """Lose everything but the durable state and the committed offsets."""
        self.outbox.sent.clear()
        self.steps = self._build()

    def invite(self, at: float) -> int:
        """What the worker's invitation timer does at wall time ``at``: invite the 办件 that
        came due, in every partition (this harness owns them all)."""
        self.clock = max(self.clock, at)
        count = self.steps.invitations.send_due(at, range(self.settings.topic_partitions))
        self._deliver()
        return count

    def expire(self) -> None:
        self.steps.ingest.expire()
        self.steps.screening.expire()
        self._deliver()

    def values(self, topic: str) -> list[Any]:
        return self.log(topic).values()
