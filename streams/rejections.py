"""Putting a message that did not make it on ``ratings.rejected``, the same way for every step."""

from __future__ import annotations

from collections import Counter

from schemas.codes import RejectReason
from streams import metrics
from streams.ingest.perimeter import event_time, rejection_record
from streams.outbox import OutboxPort
from streams.records import Record


class Rejections:
    def __init__(self, *, topic: str, secret: bytes, outbox: OutboxPort) -> None:
        self.topic = topic
        self._secret = secret
        self._outbox = outbox
        self.counts: Counter[str] = Counter()  # by reason, since this object was made

    def reject(self, record: Record, reason: RejectReason, message: str) -> None:
        value = rejection_record(
            record.value,
            reason=reason,
            message=message,
            source_topic=record.topic,
            source_partition=record.partition,
            source_offset=record.offset,
            rejected_at=event_time(record.timestamp),
            secret=self._secret,
        )
        self._outbox.add(self.topic, record.source.encode(), value)
        self.counts[reason.value] += 1
        metrics.evaluations_rejected.labels(reason=reason.value).inc()
