"""The 办件 step: every record of ``transactions.done`` checked, the accepted ones written to
``transactions.valid`` keyed by ``transaction_id``, the others to ``ratings.rejected``.

It keeps no state: a replay writes the same records again, and the sink's table keeps one row
per ``transaction_id`` (ReplacingMergeTree), so a replayed or resent 办件 counts once.
"""

from __future__ import annotations

from streams.ingest.decision import Rejected
from streams.ingest.perimeter import event_time
from streams.outbox import OutboxPort
from streams.records import Record
from streams.rejections import Rejections
from streams.transactions.decision import check


class TransactionStep:
    def __init__(
        self,
        *,
        valid_topic: str,
        outbox: OutboxPort,
        rejections: Rejections,
        clock_skew_s: int,
    ) -> None:
        self.valid_topic = valid_topic
        self._outbox = outbox
        self._rejections = rejections
        self._clock_skew_s = clock_skew_s

    def process(self, records: list[Record], wall: float | None = None) -> None:
        for record in records:
            # the record's Kafka time, as for evaluations: a replay decides the same way
            now = event_time(record.timestamp)
            decided = check(record.value, now=now, clock_skew_s=self._clock_skew_s)
            if isinstance(decided, Rejected):
                self._rejections.reject(record, decided.reason, decided.message)
                continue
            self._outbox.add(
                self.valid_topic, decided.transaction_id.encode(), decided.to_json_bytes()
            )
