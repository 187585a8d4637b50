"""The invitations step: 办件 (``transactions.valid``) joined with the ingest step's
evaluated-transaction records (``<app>-evaluated``), both partitioned by ``transaction_id`` and read
partition for partition, in a table keyed ``"<partition>|<transaction_id>"``; the worker's
timer (streams/worker/timers.py) calls :meth:`invite_due` with the wall clock.

Once, even after a replay: the entry remembers ``invited`` in the table's changelog, and a
resent 办件 or a replayed evaluation keeps it. What the step cannot rule out is a crash between
the invitation's delivery and its changelog record's (one send apart): the invitation is keyed
by ``transaction_id``, so the SMS channel and ClickHouse's ``invitations`` keep one per 办件.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, MutableMapping
from typing import Any

from pydantic import ValidationError

from schemas.transaction import Transaction
from streams.invitations.book import (
    InvitationRules,
    expired,
    invitation,
    invited,
    is_due,
    pending,
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
    ) -> None:
        self.rules = rules
        self.state = state
        self._outbox = outbox
        self.invitations_topic = invitations_topic
        self.transactions_topic = transactions_topic
        # per partition this process has looked at: (due, key) of entries that may come due
        self._due: dict[int, list[tuple[float, str]]] = {}
        # per partition, the next offset of the evaluated records (for the timer's look)
        self.read: dict[int, int] = {}
        self._expired_at = 0.0

    @property
    def on(self) -> bool:
        return self.rules.after_s > 0

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
        entry = with_transaction(self.state.get(key), transaction, self.rules)
        self.state[key] = entry
        heap = self._due.get(record.partition)
        if heap is not None:
            heapq.heappush(heap, (entry["due"], key))

    def _evaluated(self, record: Record) -> None:
        if not self.on:
            return
        for transaction_id, evaluated_at in unbundle_evaluated(record.value):
            key = f"{record.partition}|{transaction_id}"
            entry = self.state.get(key)
            if entry is None or not entry.get("rated"):
                self.state[key] = with_evaluation(entry, evaluated_at, self.rules)

    def invite_due(self, now: float, partitions: Iterable[int]) -> int:
        """Invite the 办件 of ``partitions`` (owned, their evaluated records read to the end)
        that came due by ``now``; returns how many."""
        count = 0
        for partition in partitions:
            heap = self._due.get(partition)
            if heap is None:
                heap = self._due[partition] = self._index(partition)
            while heap and heap[0][0] <= now:
                due, key = heapq.heappop(heap)
                entry = self.state.get(key)
                if entry is None or entry.get("due") != due or not is_due(entry, now, self.rules):
                    continue  # changed, rated, invited or stale since it was queued
                offer = invitation(entry, now)
                self._outbox.add(
                    self.invitations_topic, offer.transaction_id.encode(), offer.to_json_bytes()
                )
                self.state[key] = invited(entry, now)
                count += 1
        return count

    def _index(self, partition: int) -> list[tuple[float, str]]:
        prefix = f"{partition}|"
        heap = [
            (entry["due"], key)
            for key in self.state
            if key.startswith(prefix)
            and (entry := self.state.get(key)) is not None
            and pending(entry)
        ]
        heapq.heapify(heap)
        return heap

    def expire(self, now: float, partitions: Iterable[int]) -> None:
        """Drop the entries of ``partitions`` past their horizon; a walk over the whole table,
        so at most every EXPIRE_EVERY_S."""
        prefixes = tuple(f"{p}|" for p in partitions)
        if not prefixes or now - self._expired_at < EXPIRE_EVERY_S:
            return
        self._expired_at = now
        for key in self.state:
            if key.startswith(prefixes) and expired(self.state[key], now):
                del self.state[key]

    def forget_partition(self, partition: int) -> None:
        self._due.pop(partition, None)
        self.read.pop(partition, None)
