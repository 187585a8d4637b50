"""Surge incidents for the chat robots (notify/incidents.py), with the consumer and the robot
faked: a department's surge and its services' arrive as one message whichever is read first,
an unrelated service is a message of its own, what follows a sent incident waits for the
interval, and no commit passes an event not sent yet."""

from __future__ import annotations

import json
from typing import Any

from kafka import TopicPartition

from notify.digest import Digests
from notify.incidents import IncidentKeys, IncidentNotifier, incident_id, render_incident
from notify.messages import render
from schemas.alerts import AlertEvent
from tests.alert_events import surge_alert as surge
from tests.unit.notify.test_cases import Clock, Consumer, Hook, Record

TOPIC = "alerts.spikes"


def records(*events: AlertEvent, first: int = 0) -> list[Record]:
    return [Record(first + i, e.to_json_bytes()) for i, e in enumerate(events)]


def setup(fmt: str = "wecom") -> tuple[Consumer, Hook, IncidentNotifier, Clock]:
    consumer, clock, hook = Consumer(), Clock(), Hook("robot")
    hook.fmt = fmt
    notifier = IncidentNotifier(
        consumer,
        hook,
        Digests(10.0, 60.0),
        clock=clock,
        say=lambda _: None,  # type: ignore[arg-type]
    )
    return consumer, hook, notifier, clock


def text(body: dict[str, Any]) -> str:
    markdown = body["markdown"]
    return str(markdown.get("content") or markdown["text"])


def test_keys_join_a_service_to_its_surging_department_until_it_resolves() -> None:
    keys = IncidentKeys()
    assert keys.key_of(surge("service", "S1")) == "service:S1"  # no surging department yet
    department = surge("department", "D-A", services=("S1", "S2"))
    assert keys.key_of(department) == "department:D-A"
    assert keys.learn(department) == ["service:S1", "service:S2"]
    assert keys.key_of(surge("service", "S2")) == "department:D-A"
    keys.learn(surge("department", "D-A", "updated", services=("S3",)))  # S1, S2 stay in
    assert keys.key_of(surge("service", "S1")) == keys.key_of(surge("service", "S3"))
    assert keys.key_of(surge("service", "S9")) == "service:S9"
    assert keys.learn(surge("department", "D-A", "resolved")) == []
    assert keys.key_of(surge("service", "S2")) == "service:S2"


def test_a_department_and_its_five_services_arrive_as_one_message() -> None:
    consumer, hook, notifier, clock = setup()
    services = ("S1", "S2", "S3", "S4", "S5")
    # the services' alerts are read first, from another partition, and one is unrelated
    consumer.batches = [
        {TopicPartition(TOPIC, 1): records(*(surge("service", s) for s in services),
                                           surge("service", "S9"))},
        {TopicPartition(TOPIC, 0): records(surge("department", "D-A", services=services))},
    ]  # fmt: skip
    notifier.poll_once()
    clock.now = 5.0
    notifier.poll_once()
    assert hook.bodies == [] and consumer.commits[-1] == {0: 0, 1: 0}  # waiting for the rest
    clock.now = 10.0
    notifier.poll_once()
    assert len(hook.bodies) == 2
    one = next(text(b) for b in hook.bodies if "6 条告警" in text(b))
    assert one.count("\n- ") == 6 and "部门 D-A" in one
    assert all(f"事项 {s}" in one for s in services)
    alone = next(text(b) for b in hook.bodies if "6 条告警" not in text(b))
    assert "S9" in alone and "D-A" not in alone
    assert consumer.commits[-1] == {0: 1, 1: 6}
    assert notifier.delivered == 7 and notifier.progress == 7


def test_what_follows_a_sent_incident_waits_for_the_interval() -> None:
    consumer, hook, notifier, clock = setup("dingtalk")
    consumer.batches = [
        {TopicPartition(TOPIC, 0): records(surge("department", "D-A", services=("S1",)))}
    ]
    notifier.poll_once()
    clock.now = 10.0
    notifier.poll_once()
    assert len(hook.bodies) == 1
    consumer.batches = [
        {TopicPartition(TOPIC, 0): records(surge("department", "D-A", "updated"), first=1)},
        {TopicPartition(TOPIC, 1): records(surge("service", "S1"))},
    ]
    clock.now = 20.0
    notifier.poll_once()
    notifier.poll_once()
    clock.now = 69.0
    notifier.poll_once()
    assert len(hook.bodies) == 1 and consumer.commits[-1] == {0: 1, 1: 0}  # nothing sent: wait
    clock.now = 70.0
    notifier.poll_once()
    assert len(hook.bodies) == 2 and "2 条告警" in text(hook.bodies[1])
    assert consumer.commits[-1] == {0: 2, 1: 1}


def test_an_unreachable_robot_keeps_the_incident_and_its_offsets() -> None:
    consumer, hook, notifier, clock = setup()
    hook.down = True
    consumer.batches = [{TopicPartition(TOPIC, 0): records(surge("department", "D-A"))}]
    notifier.poll_once()
    clock.now = 10.0
    notifier.poll_once()
    assert hook.bodies == [] and notifier.outage and consumer.commits[-1] == {0: 0}
    hook.down = False
    notifier.poll_once()
    assert len(hook.bodies) == 1 and not notifier.outage and consumer.commits[-1] == {0: 1}


def test_a_lone_event_reads_as_before_and_ids_are_stable() -> None:
    event = surge("department", "D-A", services=("S1",))
    for fmt in ("dingtalk", "wecom"):
        assert json.loads(render_incident([event], fmt)) == render(event, fmt)
    two = [event, surge("service", "S1")]
    assert incident_id("department:D-A", two) == incident_id("department:D-A", two[::-1])
    assert incident_id("department:D-A", two) != incident_id("department:D-A", two[:1])


def test_an_incident_message_escapes_what_the_data_says() -> None:
    events = [surge("department", "D-A", services=("[x](http://evil)",)),
              surge("service", "[x](http://evil)")]  # fmt: skip
    message = text(json.loads(render_incident(events, "wecom")))
    assert "](" not in message and "http://" not in message
