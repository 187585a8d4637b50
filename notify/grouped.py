"""The loop shared by the notifiers that group what they read (notify/digest.py): read a poll,
send the groups that are due, and commit each partition only up to its first record not sent
yet, so a restart re-reads everything unsent (at least once).

A subclass says what a record is (``_read``: add it to the digests, or mark it read) and how a
due group is sent (``_deliver``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kafka import TopicPartition

from notify.digest import Digests, Item
from notify.webhook import WebhookClient
from sinks.consumer import commit_offsets, poll_until_stopped

log = logging.getLogger("haochaping.notify")


class GroupedNotifier:
    def __init__(
        self,
        consumer: Any,
        digests: Digests,
        *,
        say: Callable[[str], None] = print,
        should_stop: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._consumer, self._digests = consumer, digests
        self._say, self._should_stop, self._clock = say, should_stop, clock
        self.topic = ""
        self._committed: dict[int, int] = {}
        # read by the watchdog thread (runtime/poll_watchdog.py): plain attributes only
        self.last_batch_at = time.monotonic()
        self._down: set[str] = set()  # webhooks unreachable at their last try
        self.delivered = 0
        self.progress = 0  # records settled (delivered, refused, or with nowhere to go)

    def poll_once(self) -> int:
        """Read what one poll returns and send the groups that are due; how many records were
        read (the loop's idle clock)."""
        read = 0
        for tp, records in self._consumer.poll(timeout_ms=500, max_records=500).items():
            self.topic = tp.topic
            for record in records:
                self._read(tp.partition, record.offset, record.value)
                read += 1
        for key, items in self._digests.ready(self._clock()):
            if self._deliver(key, items) == "unreachable":
                continue  # kept: the next round tries again
            self._digests.sent(key, items, self._clock())
            self.progress += len(items)
        safe = self._digests.safe_offsets()
        if safe and safe != self._committed:
            offsets = {TopicPartition(self.topic, p): o for p, o in safe.items()}
            commit_offsets(self._consumer, offsets, "may be sent again")
            self._committed = safe
        self.last_batch_at = time.monotonic()
        return read

    def _read(self, partition: int, offset: int, value: bytes | None) -> None:
        raise NotImplementedError

    def _deliver(self, key: str, items: list[Item]) -> str:
        """Send one due group; its outcome: delivered, refused, unreachable (kept) or another
        word for settled without a send."""
        raise NotImplementedError

    def _post(self, client: WebhookClient, message_id: str, body: bytes, what: str) -> str:
        """One message to ``client``: its outcome, with an outage said once and a refusal
        logged."""
        result = client.send(message_id, body)
        if result.outcome == "unreachable":
            if client.where not in self._down:
                self._say(f"notify: webhook {client.where} unreachable ({result.detail}); kept")
            self._down.add(client.where)
            return "unreachable"
        if client.where in self._down:
            self._say(f"notify: webhook {client.where} reachable again")
        self._down.discard(client.where)
        if result.outcome != "delivered":
            log.warning("webhook %s refused %s (%s)", client.where, what, result.detail)
        return result.outcome

    @property
    def outage(self) -> bool:
        """A webhook is unreachable: waiting on it is not a stall (runtime/poll_watchdog.py)."""
        return bool(self._down)

    def run(self, *, idle_exit_s: float | None = None) -> None:
        poll_until_stopped(self.poll_once, self._should_stop, idle_exit_s=idle_exit_s)
