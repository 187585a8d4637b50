"""Step 3: ``cases.events`` → each case's state → overdue warnings (超期预警) on ``alerts.cases``.

The rules are in streams/cases.py (``CaseBook``); this step parses events, keeps one book per
partition over the shared state, and runs the case clock. The clock of a partition is the
newest event time seen on it: the platform's own ``opened`` events follow the review stream,
so under traffic it tracks real time, and a replayed month of events is judged as that month
was. Warnings are computed after every event, not every batch, so what is due depends only on
the order of events in the partition, never on how they were batched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from datetime import datetime
from typing import Any

from schemas.cases import SUSPECT_REVIEW_EVENTS, parse_case_event
from schemas.codes import RejectReason
from streams import metrics
from streams.cases import CaseBook, CasePolicy
from streams.deadlines import WorkingCalendar
from streams.outbox import OutboxPort
from streams.records import Record
from streams.steps.rejections import Rejections

log = logging.getLogger("haochaping.worker")


class CaseStep:
    def __init__(
        self,
        *,
        calendar: WorkingCalendar,
        policy: CasePolicy,
        state: MutableMapping[str, Any],
        outbox: OutboxPort,
        warnings_topic: str,
        rejections: Rejections,
    ) -> None:
        self.calendar = calendar
        self.policy = policy
        self._state = state
        self._outbox = outbox
        self._warnings_topic = warnings_topic
        self._rejections = rejections
        self._books: dict[int, CaseBook] = {}
        self.clocks: dict[int, datetime] = {}

    def book(self, partition: int) -> CaseBook:
        book = self._books.get(partition)
        if book is None:
            book = CaseBook(self.calendar, self.policy, state=self._state, partition=partition)
            self._books[partition] = book
        return book

    def process(self, records: Iterable[Record]) -> None:
        for record in records:
            try:
                self._one(record)
            except Exception as exc:  # one event's bug must not stop the others
                log.exception("internal error on %s", record.source)
                message = f"internal error: {type(exc).__name__}"
                self._rejections.reject(record, RejectReason.INTERNAL_ERROR, message)

    def _one(self, record: Record) -> None:
        parsed = parse_case_event(record.value or b"")
        if isinstance(parsed, tuple):
            self._rejections.reject(record, *parsed)
            return
        if parsed.event in SUSPECT_REVIEW_EVENTS:
            # a review of a suspect evaluation, not a follow-up step: it lands in ClickHouse
            # (the official rates read it) and must not wait here as a pending case event
            return
        book = self.book(record.partition)
        book.apply(parsed)
        clock = max(self.clocks.get(record.partition, parsed.at), parsed.at)
        self.clocks[record.partition] = clock
        for warning in book.warnings_due(clock):
            self._outbox.add(
                self._warnings_topic, warning.key.encode(), warning.model_dump_json().encode()
            )
            metrics.case_warnings.labels(deadline=warning.deadline, kind=warning.kind).inc()
        metrics.cases_expired.inc(book.expire(clock))

    def forget_partition(self, partition: int) -> None:
        self._books.pop(partition, None)
        self.clocks.pop(partition, None)
