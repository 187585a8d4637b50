"""Step 3: ``cases.events`` → each case's state → overdue warnings (超期预警) on ``alerts.cases``.

The rules are in streams/cases/book.py (``CaseBook``); this step parses events, keeps one book per
partition over the shared state, and runs the case clock. The clock of a partition is the
newest event time seen on it: the platform's own ``opened`` events follow the review stream,
so under traffic it tracks real time, and a replayed month of events is judged as that month
was. Warnings are computed after every event, not every batch, so what is due depends only on
the order of events in the partition, never on how they were batched.

When a partition has no traffic its clock would stop, and a deadline passing in the night
would warn only at the next event (issue 26). So a partition read to its end moves on with the
wall clock (``advance``): from its newest event time by the wall-clock time since that event
was read, less ``IDLE_GRACE_S`` for events in flight; never back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from schemas.actions import parse_case_action
from schemas.cases import SUSPECT_REVIEW_EVENTS, parse_case_event
from schemas.codes import RejectReason
from streams import metrics
from streams.cases.book import CaseBook, CasePolicy
from streams.cases.deadlines import WorkingCalendar
from streams.cases.rules import Refusal, decide
from streams.outbox import OutboxPort
from streams.records import Record
from streams.rejections import Rejections

log = logging.getLogger("haochaping.worker")

# What an idle partition's clock stays behind the wall clock: events written before a look
# at the partition's end but not read yet must not find their deadline already warned.
IDLE_GRACE_S = 60


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
        events_topic: str = "cases.events",
        actions_topic: str = "cases.actions",
        clock_skew_s: int = 300,
    ) -> None:
        self.calendar = calendar
        self.policy = policy
        self._state = state
        self._outbox = outbox
        self._warnings_topic = warnings_topic
        self._rejections = rejections
        self._events_topic = events_topic
        self._actions_topic = actions_topic
        self._clock_skew_s = clock_skew_s
        self._books: dict[int, CaseBook] = {}
        self.clocks: dict[int, datetime] = {}
        # per partition: the offset after the newest event read, and how far the newest
        # event time was behind the wall clock when it was read
        self._next_offset: dict[int, int] = {}
        self.lags: dict[int, float] = {}
        self._wall = 0.0

    def book(self, partition: int) -> CaseBook:
        book = self._books.get(partition)
        if book is None:
            book = CaseBook(self.calendar, self.policy, state=self._state, partition=partition)
            self._books[partition] = book
        return book

    def process(self, records: Iterable[Record], wall: float | None = None) -> None:
        self._wall = time.time() if wall is None else wall
        for record in records:
            try:
                if record.topic == self._actions_topic:
                    self._act(record)
                    continue
                self._next_offset[record.partition] = record.offset + 1
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
        known = self.clocks.get(record.partition)
        if known is None or parsed.at > known:
            self.clocks[record.partition] = parsed.at
            self.lags[record.partition] = max(0.0, self._wall - parsed.at.timestamp())
        self._warn(record.partition)

    def _act(self, record: Record) -> None:
        """Judge a person's action (rules.py): accepted, its event goes to cases.events and
        into the case at once, so the next action in the batch sees it; refused, the action
        lands on ratings.rejected with the reason."""
        parsed = parse_case_action(record.value)
        if isinstance(parsed, tuple):
            self._rejections.reject(record, *parsed)
            return
        if parsed.at.timestamp() > record.timestamp + self._clock_skew_s:
            # its event would move the partition's case clock into the future: every
            # deadline before it would warn at once
            message = f"at: is more than {self._clock_skew_s} s after the action was sent"
            self._rejections.reject(record, RejectReason.FUTURE_EVENT, message)
            return
        book = self.book(record.partition)
        case = book.case(parsed.case_id)
        judged_before = case is not None and parsed.action_id in case.verdicts
        verdict = decide(case, parsed)
        if case is not None and not judged_before and parsed.action_id in case.verdicts:
            # a new verdict, also a refusal, is recorded; a replayed one is there already
            book.save(case)
        if isinstance(verdict, Refusal):
            self._rejections.reject(record, RejectReason.ACTION_REFUSED, verdict.message)
            metrics.case_actions.labels(action=parsed.action, verdict="refused").inc()
            return
        self._outbox.add(self._events_topic, verdict.kafka_key(), verdict.to_json_bytes())
        metrics.case_actions.labels(action=parsed.action, verdict="accepted").inc()

    def _warn(self, partition: int) -> None:
        book, clock = self.book(partition), self.clocks[partition]
        for warning in book.warnings_due(clock):
            self._outbox.add(
                self._warnings_topic, warning.key.encode(), warning.model_dump_json().encode()
            )
            metrics.case_warnings.labels(deadline=warning.deadline, kind=warning.kind).inc()
        metrics.cases_expired.inc(book.expire(clock))

    def read_to(self, partition: int) -> int:
        """The offset after the newest event of ``partition`` processed (0: none yet)."""
        return self._next_offset.get(partition, 0)

    def advance(self, read_to_end: Iterable[int], wall: float) -> None:
        """Move the clock of each partition in ``read_to_end`` (every event the broker held at
        the wall time ``wall`` is processed) on with the wall clock, and warn what is due."""
        for partition in read_to_end:
            known, lag = self.clocks.get(partition), self.lags.get(partition)
            if known is None or lag is None:
                continue  # no event read by this process: no clock to move on from
            clock = datetime.fromtimestamp(wall - lag - IDLE_GRACE_S, UTC)
            if clock > known:
                self.clocks[partition] = clock
                self._warn(partition)

    def forget_partition(self, partition: int) -> None:
        self._books.pop(partition, None)
        self.clocks.pop(partition, None)
        self._next_offset.pop(partition, None)
        self.lags.pop(partition, None)
