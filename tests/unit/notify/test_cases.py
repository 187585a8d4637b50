"""The case notifier (notify/cases.py) with its consumer and webhooks faked: one message per
department, the routing table's default, an unreachable webhook keeps its warnings, and the
commits never pass a warning not sent yet."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition

from notify.cases import CaseNotifier, digest_id, render_digest
from notify.digest import Digests
from notify.webhook import Delivery
from schemas.cases import CaseWarning

TOPIC = "alerts.cases"
DUE = datetime(2026, 11, 10, 16, 0, tzinfo=UTC)


def warning(case_id: str, department: str, kind: str = "overdue") -> CaseWarning:
    return CaseWarning(case_id=case_id, deadline="callback", kind=kind, due_at=DUE, at=DUE,
                       department_code=department)  # fmt: skip


@dataclass
class Record:
    offset: int
    value: bytes


class Consumer:
    def __init__(self) -> None:
        self.batches: list[dict[TopicPartition, list[Record]]] = []
        self.commits: list[dict[int, int]] = []

    def poll(self, **_: Any) -> dict[TopicPartition, list[Record]]:
        return self.batches.pop(0) if self.batches else {}

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        self.commits.append({tp.partition: meta.offset for tp, meta in offsets.items()})


class Hook:
    def __init__(self, where: str) -> None:
        self.where, self.fmt, self.down = where, "generic", False
        self.bodies: list[dict[str, Any]] = []

    def send(self, message_id: str, body: bytes, on_retry: Any = None) -> Delivery:
        if self.down:
            return Delivery("unreachable", "HTTP 503")
        self.bodies.append(json.loads(body))
        return Delivery("delivered")


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def setup() -> tuple[Consumer, dict[str, Hook], CaseNotifier, Clock]:
    consumer, clock = Consumer(), Clock()
    hooks = {"D-A": Hook("a"), "*": Hook("others")}
    notifier = CaseNotifier(
        consumer,
        lambda d: hooks.get(d) or hooks["*"],
        Digests(30, 300),
        clock=clock,  # type: ignore[arg-type,return-value]
    )
    return consumer, hooks, notifier, clock


def batch(*warnings: tuple[int, CaseWarning]) -> dict[TopicPartition, list[Record]]:
    return {TopicPartition(TOPIC, 0): [Record(o, w.to_json_bytes()) for o, w in warnings]}


def test_one_message_per_department_once_its_group_waited() -> None:
    consumer, hooks, notifier, clock = setup()
    consumer.batches = [batch((0, warning("a0", "D-A")), (1, warning("b0", "D-B")),
                              (2, warning("a1", "D-A")))]  # fmt: skip
    assert notifier.poll_once() == 3
    assert hooks["D-A"].bodies == [] and consumer.commits == [{0: 0}]
    clock.now = 30
    notifier.poll_once()
    assert [[w["case_id"] for w in b["warnings"]] for b in hooks["D-A"].bodies] == [["a0", "a1"]]
    assert [b["department_code"] for b in hooks["*"].bodies] == ["D-B"]
    assert consumer.commits[-1] == {0: 3} and notifier.delivered == 3


def test_an_unreachable_webhook_keeps_its_warnings_and_their_offsets() -> None:
    consumer, hooks, notifier, clock = setup()
    hooks["D-A"].down = True
    consumer.batches = [batch((0, warning("a0", "D-A")), (1, warning("b0", "D-B")))]
    notifier.poll_once()
    clock.now = 30
    notifier.poll_once()
    assert notifier.outage and consumer.commits[-1] == {0: 0}  # a0 not sent: not committed
    hooks["D-A"].down = False
    clock.now = 31
    notifier.poll_once()
    assert not notifier.outage and consumer.commits[-1] == {0: 2}
    assert [w["case_id"] for w in hooks["D-A"].bodies[0]["warnings"]] == ["a0"]


def test_a_record_that_is_no_warning_is_skipped_and_committed_past() -> None:
    consumer, _, notifier, _ = setup()
    consumer.batches = [{TopicPartition(TOPIC, 0): [Record(0, b"{not json")]}]
    notifier.poll_once()
    assert consumer.commits == [{0: 1}]


def test_the_chat_formats_say_it_in_chinese_and_escape_the_data() -> None:
    warnings = [warning("a0](http://x)", "D-A"), warning("a1", "D-A", "escalated_2")]
    body = json.loads(render_digest("D-A", warnings, "dingtalk"))
    text = body["markdown"]["text"]
    assert "差评督办" in text and "超期 回访" in text and "二级督办" in text
    assert "](http://x)" not in text
    assert len(render_digest("D-A", warnings * 200, "wecom")) < 4096 + 200
    assert digest_id("D-A", warnings) == digest_id("D-A", warnings[::-1])
