"""What a step reads: one Kafka record, without Faust.

The agents turn Faust events into these; the in-memory harness (streams/testing.py) makes them
by hand. ``timestamp`` is the record's Kafka timestamp in epoch seconds (the broker's or the
producer's clock, not the channel's ``evaluated_at``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    timestamp: float
    key: bytes | None
    value: bytes | None

    @classmethod
    def consumed(cls, record: Any) -> Record:
        """Of a record an aiokafka consumer returned (its timestamp in milliseconds)."""
        r = record
        return cls(r.topic, r.partition, r.offset, r.timestamp / 1000, r.key, r.value)

    @property
    def source(self) -> str:
        """Where it came from, as ratings.rejected keys it."""
        return f"{self.topic}/{self.partition}/{self.offset}"
