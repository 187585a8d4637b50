"""alerts.spikes → the webhook, at least once: an event's offset is committed only after the
receiver took it (or refused it for good).

The worker only writes alert events to Kafka; this loop, a process of its own, delivers
them. So a restart of either loses nothing: a notifier that dies between a POST and its commit
sends that event again on start, with the same ``X-Haochaping-Event-Id``, and the receiver
drops the repeat. While the receiver is unreachable the loop keeps the event: after each
round of retries it seeks back to it, and polls (which keeps it in its group) before the
next round. Events are delivered in order within a partition; an alert's events share a key,
hence a partition, so a receiver sees opened before updated before resolved.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from notify.webhook import Delivery, WebhookClient, failed
from schemas.alerts import AlertEvent
from sinks.consumer import commit_offsets, poll_until_stopped, sleep_unless

log = logging.getLogger("haochaping.notify")

last_batch = Gauge(
    "haochaping_notify_last_batch_timestamp_seconds",
    "when the notifier last finished a delivery round (delivered, refused or unreachable)",
)
unreadable = Counter(
    "haochaping_notify_unreadable_total", "records on alerts.spikes that are no alert event"
)
consumer_lag = Gauge(
    "haochaping_notify_consumer_lag",
    "alert events not yet delivered, per partition (read from the broker)",
    ["topic", "partition"],
)


def starting_offsets(
    committed: dict[TopicPartition, int | None],
    recent: dict[TopicPartition, int | None],
    ends: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Where a partition the group never committed starts: at the first event of the
    look-back stretch (``recent``), or at its end when that stretch is empty. Partitions with
    a commit keep it (absent from the answer)."""
    return {
        tp: found if found is not None else ends[tp]
        for tp, found in recent.items()
        if committed.get(tp) is None
    }


def seed_group(consumer: KafkaConsumer, topic: str, lookback_s: float) -> dict[TopicPartition, int]:
    """Commit a start ``lookback_s`` back for every partition of ``topic`` the consumer's
    group never committed, before it subscribes: setting a webhook URL for the first time
    (or a new group) must not post a week of old alerts to the on-call group.

    ``consumer`` is a member-less client of the group (``assign``, not ``subscribe``): a
    rebalance listener cannot do this, as kafka-python 3 runs listeners on its IO thread,
    where blocking calls are refused."""
    partitions = [
        TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
    ]
    consumer.assign(partitions)
    committed = {tp: consumer.committed(tp) for tp in partitions}
    if all(offset is not None for offset in committed.values()):
        return {}
    since = int((time.time() - lookback_s) * 1000)
    found = consumer.offsets_for_times({tp: since for tp in partitions})
    recent = {tp: (found[tp].offset if found.get(tp) is not None else None) for tp in partitions}
    starts = starting_offsets(committed, recent, consumer.end_offsets(partitions))
    if starts:
        try:
            consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in starts.items()})
        except KafkaError as exc:  # another notifier is in the group: it has its offsets
            log.info("start offsets not seeded (%s)", exc)
            return {}
    return starts


class Notifier:
    def __init__(
        self,
        consumer: KafkaConsumer,
        client: WebhookClient,
        *,
        say: Callable[[str], None] = print,
        should_stop: Callable[[], bool] = lambda: False,
        retry_pause_s: float = 5.0,
    ) -> None:
        self._consumer = consumer
        self._client = client
        self._say = say
        self._should_stop = should_stop
        self._retry_pause_s = retry_pause_s
        # read by the watchdog thread (runtime/poll_watchdog.py): plain attributes only
        self.last_batch_at = time.monotonic()
        self.outage = False  # the receiver is unreachable: waiting is not a stall
        self.progress = 0  # events delivered or refused for good
        self.delivered = 0

    def poll_once(self) -> int:
        """Deliver what one poll returns, in order; returns how many events were settled."""
        batches = list(self._consumer.poll(timeout_ms=500, max_records=50).items())
        settled = 0
        for i, (tp, records) in enumerate(batches):
            for record in records:
                if self._should_stop() or not self._settle(tp, record.offset, record.value):
                    # not settled: this record and every later one of the batch are read
                    # again by the next poll
                    self._consumer.seek(tp, record.offset)
                    for later, later_records in batches[i + 1 :]:
                        self._consumer.seek(later, later_records[0].offset)
                    return settled
                settled += 1
        return settled

    def _settle(self, tp: TopicPartition, offset: int, value: bytes | None) -> bool:
        """True once the event at ``offset`` needs no more attempts (and is committed)."""
        event = _parse(value)
        if event is None:
            unreadable.inc()
            log.warning("%s[%d]@%d is no alert event; skipped", tp.topic, tp.partition, offset)
        else:
            try:
                result = self._client.deliver(event, on_retry=self._retrying)
            except Exception as exc:  # a bug: must not stop every alert after this one
                log.error(
                    "alert %s %s not delivered: %s (a bug; the event is skipped)",
                    event.alert_id,
                    event.state,
                    type(exc).__name__,
                )
                failed.labels(reason="error").inc()
                result = Delivery("refused", type(exc).__name__)
            self.last_batch_at = time.monotonic()
            last_batch.set_to_current_time()
            if result.outcome == "unreachable":
                self._retrying(result.detail)
                sleep_unless(self._should_stop, self._retry_pause_s)
                return False
            if self.outage:
                self._say(f"notify: webhook {self._client.where} reachable again")
                self.outage = False
            if result.outcome == "refused":
                log.warning(
                    "webhook %s refused alert %s %s (%s); not sent again",
                    self._client.where,
                    event.alert_id,
                    event.state,
                    result.detail,
                )
            else:
                self.delivered += 1
        # after a rebalance the partition's next owner sends it again, with the same event id
        commit_offsets(self._consumer, {tp: offset + 1}, "may be sent again")
        self.progress += 1
        return True

    def _retrying(self, reason: str) -> None:
        """The webhook failed an attempt: an outage, which the watchdog must not take for a
        stall of this loop."""
        self.last_batch_at = time.monotonic()
        if not self.outage:
            self._say(
                f"notify: webhook {self._client.where} unreachable ({reason}); "
                "alert events wait and are retried"
            )
        self.outage = True

    def run(self, *, idle_exit_s: float | None = None) -> None:
        poll_until_stopped(self.poll_once, self._should_stop, idle_exit_s=idle_exit_s)


def _parse(value: bytes | None) -> AlertEvent | None:
    if value is None:
        return None
    try:
        return AlertEvent.from_json_bytes(value)
    except (ValidationError, ValueError):
        return None
