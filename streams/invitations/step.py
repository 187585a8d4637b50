"""The invitations step: 办件 (``transactions.valid``) joined with the ingest step's
evaluated-transaction records (``<app>-evaluated``), both partitioned by ``transaction_id`` and read
partition for partition, in a table keyed ``"<partition>|<transaction_id>"``; the worker's
timer (streams/worker/timers.py) calls :meth:`send_due` with the wall clock: it invites the
办件 left unrated (``invitations``) and, when the setting is on, rates by default those still
unrated later (``ratings.default``).

Once, even after a replay: the entry remembers ``invited`` and ``defaulted`` in the table's
changelog, and a resent 办件 or a replayed evaluation keeps them. What the step cannot rule out
is a crash between a record's delivery and its changelog record's (one send apart): both are
keyed by ``transaction_id``, so the SMS channel and ClickHouse keep one per 办件.

An evaluation whose 办件 is not known yet (most of them where no 办件 are fed) is remembered
with the others of its evaluated record, in one entry ``"<partition>|@<offset>"`` per record:
``{"marks": [transaction_id, expires, transaction_id, expires, ...], "expires": ...}`` (flat:
no pair object per mark). One changelog record per bundle of up to 500 instead of one per
evaluation (0.96 messages per evaluation, docs/benchmarks.md "Issue 31"); the step indexes the
marks in memory per partition, from the table after an assignment, and folds a mark into its
办件's entry when the 办件 comes.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, MutableMapping
from typing import Any

from pydantic import ValidationError

from schemas.invitation import DefaultRating, Invitation
from schemas.transaction import Transaction
from streams.invitations.book import (
    Entry,
    InvitationRules,
    default_rating,
    defaulted,
    expired,
    invitation,
    invited,
    is_default_due,
    is_due,
    pending,
    pending_default,
    with_evaluation,
    with_transaction,
)
from streams.invitations.evaluated import unbundle_evaluated
from streams.outbox import OutboxPort
from streams.records import Record

log = logging.getLogger(__name__)
EXPIRE_EVERY_S = 300.0


class InvitationStep:
    def __init__(
        self,
        *,
        rules: InvitationRules,
        state: MutableMapping[str, Any],
        outbox: OutboxPort,
        invitations_topic: str,
        transactions_topic: str,
        default_ratings_topic: str,
    ) -> None:
        self.rules = rules
        self.state = state
        self._outbox = outbox
        self.invitations_topic = invitations_topic
        self.default_ratings_topic = default_ratings_topic
        self.transactions_topic = transactions_topic
        # per partition this process has looked at: (due, key) of entries that may come due
        self._due: dict[int, list[tuple[float, str]]] = {}
        # per partition, the next offset of the evaluated records (for the timer's look)
        self.read: dict[int, int] = {}
        # per partition: transaction_id -> expires of evaluations whose 办件 was not known
        self._rated: dict[int, dict[str, float]] = {}
        self._expired_at = 0.0

    @property
    def on(self) -> bool:
        return self.rules.on

    def read_to(self, partition: int) -> int:
        return self.read.get(partition, 0)

    def process(self, records: list[Record], wall: float | None = None) -> None:
        for record in records:
            if record.topic == self.transactions_topic:
                self._transaction(record)
            else:
                self._evaluated(record)
                self.read[record.partition] = record.offset + 1

    def _transaction(self, record: Record) -> None:
        if not self.on or record.value is None:
            return
        try:
            transaction = Transaction.from_json_bytes(record.value)
        except ValidationError:  # the worker wrote it; a bug must not stop the agent
            log.error("unreadable record at %s skipped", record.source)
            return
        key = f"{record.partition}|{transaction.transaction_id}"
        entry = self.state.get(key)
        # rated before its 办件 came: born rated, so never invited (the mark is then kept by
        # the entry; its bundle stays until it expires)
        rated_until = self._marks(record.partition).pop(transaction.transaction_id, None)
        if rated_until is not None and (entry is None or not entry.get("rated")):
            entry = with_evaluation(entry, rated_until - self.rules.horizon_s, self.rules)
        entry = with_transaction(entry, transaction, self.rules)
        self.state[key] = entry
        heap = self._due.get(record.partition)
        if heap is not None:
            for due in _due_times(entry):
                heapq.heappush(heap, (due, key))

    def _evaluated(self, record: Record) -> None:
        if not self.on:
            return
        marks = self._marks(record.partition)
        unknown: list[str | float] = []  # transaction_id, expires, transaction_id, …
        for transaction_id, evaluated_at in unbundle_evaluated(record.value):
            key = f"{record.partition}|{transaction_id}"
            entry = self.state.get(key)
            if entry is not None and "marks" not in entry:  # its 办件 is known
                if not entry.get("rated"):
                    self.state[key] = with_evaluation(entry, evaluated_at, self.rules)
                continue
            expires = evaluated_at + self.rules.horizon_s
            marks[transaction_id] = max(marks.get(transaction_id, 0.0), expires)
            unknown += (transaction_id, expires)
        if unknown:
            # keyed by the record's offset: a replayed record writes the same entry again
            self.state[f"{record.partition}|@{record.offset}"] = {
                "marks": unknown,
                "expires": max(float(until) for until in unknown[1::2]),
            }

    def _marks(self, partition: int) -> dict[str, float]:
        """The evaluations of ``partition`` whose 办件 was unknown when they were read;
        indexed from the table at the first look after an assignment."""
        marks = self._rated.get(partition)
        if marks is None:
            marks = self._rated[partition] = {}
            prefix = f"{partition}|@"
            for key in self.state:
                if key.startswith(prefix) and (bundle := self.state.get(key)) is not None:
                    flat = bundle.get("marks", [])
                    for transaction_id, expires in zip(flat[::2], flat[1::2], strict=True):
                        marks[transaction_id] = max(marks.get(transaction_id, 0.0), expires)
        return marks

    def send_due(self, now: float, partitions: Iterable[int]) -> int:
        """Invite, or rate by default, the 办件 of ``partitions`` (owned, their evaluated
        records read to the end) that came due by ``now``; returns how many records."""
        count = 0
        for partition in partitions:
            heap = self._due.get(partition)
            if heap is None:
                heap = self._due[partition] = self._index(partition)
            while heap and heap[0][0] <= now:
                due, key = heapq.heappop(heap)
                entry = self.state.get(key)
                if entry is not None:  # else expired since it was queued
                    count += self._send(key, entry, due, now)
        return count

    def _send(self, key: str, entry: Entry, due: float, now: float) -> int:
        """What came due at ``due`` for ``entry``, if it still stands (not changed, rated,
        sent or stale since it was queued)."""
        offer: Invitation | DefaultRating
        if entry.get("due") == due and is_due(entry, now, self.rules):
            offer = invitation(entry, now)
            topic, entry = self.invitations_topic, invited(entry, now)
        elif entry.get("default_due") == due and is_default_due(entry, now, self.rules):
            offer = default_rating(entry, now)
            topic, entry = self.default_ratings_topic, defaulted(entry, now)
        else:
            return 0
        self._outbox.add(topic, offer.transaction_id.encode(), offer.to_json_bytes())
        self.state[key] = entry
        return 1

    def _index(self, partition: int) -> list[tuple[float, str]]:
        prefix = f"{partition}|"
        heap = [
            (due, key)
            for key in self.state
            if key.startswith(prefix) and (entry := self.state.get(key)) is not None
            for due in _due_times(entry)
        ]
        heapq.heapify(heap)
        return heap

    def expire(self, now: float, partitions: Iterable[int]) -> None:
        """Drop the entries of ``partitions`` past their horizon; a walk over the whole table,
        so at most every EXPIRE_EVERY_S."""
        partitions = list(partitions)
        prefixes = tuple(f"{p}|" for p in partitions)
        if not prefixes or now - self._expired_at < EXPIRE_EVERY_S:
            return
        self._expired_at = now
        for key in list(self.state):  # deleting as it goes
            if key.startswith(prefixes) and expired(self.state[key], now):
                del self.state[key]
        for partition in partitions:
            marks = self._rated.get(partition, {})
            for transaction_id in [t for t, expires in marks.items() if expires <= now]:
                del marks[transaction_id]

    def forget_partition(self, partition: int) -> None:
        self._due.pop(partition, None)
        self.read.pop(partition, None)
        self._rated.pop(partition, None)


def _due_times(entry: Entry) -> list[float]:
    """When something may still come due for ``entry``."""
    times = [float(entry["due"])] if pending(entry) else []
    return times + ([float(entry["default_due"])] if pending_default(entry) else [])
