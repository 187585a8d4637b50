"""Notifier: what is committed, what is read again, and when, against a fake consumer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.errors import CommitFailedError

from notify.delivery import Notifier, starting_offsets
from notify.webhook import Delivery
from schemas.alerts import AlertEvent
from tests.alert_events import numbered_alert

P0, P1 = TopicPartition("alerts", 0), TopicPartition("alerts", 1)


def alert(n: int) -> bytes:
    return numbered_alert(n).to_json_bytes()


@dataclass
class Record:
    offset: int
    value: bytes | None


@dataclass
class FakeConsumer:
    """A partition is a list of values; poll returns everything from the position on."""

    logs: dict[TopicPartition, list[bytes | None]]
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    commits: list[tuple[TopicPartition, int]] = field(default_factory=list)
    fail_commits: bool = False

    def poll(self, timeout_ms: int = 0, max_records: int = 0) -> dict[TopicPartition, list]:
        out = {}
        for tp, values in self.logs.items():
            at = self.positions.get(tp, 0)
            if at < len(values):
                out[tp] = [Record(o, values[o]) for o in range(at, len(values))]
                self.positions[tp] = len(values)  # the fetch position moves past the batch
        return out

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        if self.fail_commits:
            raise CommitFailedError("rebalanced")
        for tp, meta in offsets.items():
            self.commits.append((tp, meta.offset))


class FakeClient:
    where = "hook.example:443"

    def __init__(self, outcomes: list[str]) -> None:
        self.outcomes = outcomes  # consumed one per deliver(); "raise" raises
        self.delivered: list[str] = []

    def deliver(self, event: AlertEvent, on_retry: Any = None) -> Delivery:
        outcome = self.outcomes.pop(0) if self.outcomes else "delivered"
        if outcome == "raise":
            raise RuntimeError("bug")
        if outcome == "unreachable" and on_retry is not None:
            on_retry("connection refused")
        if outcome == "delivered":
            self.delivered.append(event.key)
        return Delivery(outcome)  # type: ignore[arg-type]


def notifier(consumer: FakeConsumer, client: FakeClient, **kwargs: Any) -> Notifier:
    return Notifier(consumer, client, say=lambda _: None, retry_pause_s=0, **kwargs)  # type: ignore[arg-type]


def test_each_event_is_committed_after_its_delivery() -> None:
    consumer = FakeConsumer({P0: [alert(0), alert(1)], P1: [alert(2)]})
    client = FakeClient([])
    assert notifier(consumer, client).poll_once() == 3
    assert client.delivered == ["D0", "D1", "D2"]
    assert consumer.commits == [(P0, 1), (P0, 2), (P1, 1)]


def test_an_unreachable_webhook_rewinds_this_and_every_later_partition() -> None:
    consumer = FakeConsumer({P0: [alert(0), alert(1)], P1: [alert(2)]})
    client = FakeClient(["delivered", "unreachable"])
    run = notifier(consumer, client)
    assert run.poll_once() == 1
    assert run.outage
    assert consumer.commits == [(P0, 1)]
    # D1 (P0) and D2 (P1, not tried) are read again by the next poll, and then go out
    assert consumer.positions == {P0: 1, P1: 0}
    assert run.poll_once() == 2
    assert client.delivered == ["D0", "D1", "D2"]
    assert not run.outage
    assert consumer.commits == [(P0, 1), (P0, 2), (P1, 1)]


def test_a_refused_event_is_committed_and_not_sent_again() -> None:
    consumer = FakeConsumer({P0: [alert(0), alert(1)]})
    client = FakeClient(["refused"])
    assert notifier(consumer, client).poll_once() == 2
    assert client.delivered == ["D1"]
    assert consumer.commits == [(P0, 1), (P0, 2)]


@pytest.mark.parametrize("value", [None, b"not json", b'{"alert_id": 1}'])
def test_a_record_that_is_no_alert_event_is_skipped(value: bytes | None) -> None:
    consumer = FakeConsumer({P0: [value, alert(1)]})
    client = FakeClient([])
    assert notifier(consumer, client).poll_once() == 2
    assert client.delivered == ["D1"]
    assert consumer.commits == [(P0, 1), (P0, 2)]


def test_a_bug_in_delivery_skips_that_event_and_not_the_rest() -> None:
    consumer = FakeConsumer({P0: [alert(0), alert(1)]})
    client = FakeClient(["raise"])
    assert notifier(consumer, client).poll_once() == 2
    assert client.delivered == ["D1"]


def test_stopping_mid_batch_leaves_the_rest_uncommitted() -> None:
    consumer = FakeConsumer({P0: [alert(0), alert(1), alert(2)]})
    client = FakeClient([])
    asked = iter([False, True, True])
    run = notifier(consumer, client, should_stop=lambda: next(asked))
    assert run.poll_once() == 1
    assert consumer.commits == [(P0, 1)]
    assert consumer.positions[P0] == 1


def test_a_failed_commit_does_not_stop_the_loop() -> None:
    consumer = FakeConsumer({P0: [alert(0), alert(1)]}, fail_commits=True)
    client = FakeClient([])
    assert notifier(consumer, client).poll_once() == 2
    assert client.delivered == ["D0", "D1"]


def test_a_new_group_starts_at_the_lookback_not_at_the_topic_start() -> None:
    p2 = TopicPartition("alerts", 2)
    starts = starting_offsets(
        committed={P0: None, P1: None, p2: 7},
        recent={P0: 40, P1: None, p2: 3},
        ends={P0: 50, P1: 99, p2: 9},
    )
    # P0 has events in the look-back stretch; P1 has none (starts at its end); P2 keeps its
    # commit
    assert starts == {P0: 40, P1: 99}
