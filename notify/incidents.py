"""Surge alerts as incidents, for the chat robots (`haochaping notify` with the dingtalk or
wecom format): a department's surge and the surges of its services, which the same bad
reviews open within seconds of each other, arrive as one message, not one per alert.

An incident is keyed by its department: a department alert's events, and the events of every
service alert whose service is among the top services of that department's open alert (its
explanation says which services its bad reviews were about). A service alert seen first waits
``HAOCHAPING_WEBHOOK_GROUP_WAIT_S`` like any group, and joins the department's incident when
that alert comes in the meantime; one with no surging department is an incident of its own.
After an incident was sent, what comes for it (updates, the resolution, a late service)
waits until ``HAOCHAPING_WEBHOOK_GROUP_INTERVAL_S`` after that send, as Alertmanager's
group_interval. The generic format is for machines and gets every event as it comes
(notify/delivery.py).

Which services belong to which surging department is kept in memory: after a restart, the
re-read unsent events are grouped with what is read again, and a service alert whose
department was sent before the restart is an incident of its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError

from notify.delivery import unreadable
from notify.digest import Digests, Item
from notify.grouped import GroupedNotifier
from notify.messages import (
    WECOM_MAX_BYTES,
    clip_utf8,
    escaped,
    event_id,
    render,
)
from notify.webhook import WebhookClient
from runtime.clock import CHINA
from schemas.alerts import AlertEvent
from schemas.dimensions import dimension_label

log = logging.getLogger("haochaping.notify")

incidents_sent = Counter(
    "haochaping_surge_incidents_total",
    "chat messages of surge incidents: delivered or refused",
    ["outcome"],
)
_STATES = {"opened": "新增", "updated": "持续", "resolved": "已恢复"}


class IncidentKeys:
    """Which incident an alert event belongs to; pure, fed the events in the order read."""

    def __init__(self) -> None:
        self._services: dict[str, frozenset[str]] = {}  # surging department → its services

    def key_of(self, event: AlertEvent) -> str:
        if event.dimension != "department":
            for department, services in sorted(self._services.items()):
                if event.key in services:
                    return f"department:{department}"
        return f"{event.dimension}:{event.key}"

    def learn(self, event: AlertEvent) -> list[str]:
        """After a department's event: the incidents of its services, which now join it."""
        if event.dimension != "department":
            return []
        if event.state == "resolved":
            self._services.pop(event.key, None)
            return []
        # every service named while the department's alert is open stays in its incident
        services = self._services.get(event.key, frozenset()) | {
            c.code for c in event.explanation.top_services
        }
        self._services[event.key] = services
        return [f"service:{code}" for code in sorted(services)]


def incident_id(key: str, events: list[AlertEvent]) -> str:
    """The same for a repeat of the same events: the receiver drops it."""
    ids = "\n".join(sorted(event_id(e) for e in events))
    return f"incident:{hashlib.sha256(f'{key}|{ids}'.encode()).hexdigest()[:32]}"


def render_incident(events: list[AlertEvent], fmt: str) -> bytes:
    """One chat message (dingtalk or wecom) for an incident's events, the department's first;
    a lone event reads as it always did (notify/messages.py)."""
    if len(events) == 1:
        return json.dumps(render(events[0], fmt), ensure_ascii=False).encode()
    ordered = sorted(events, key=lambda e: (e.dimension != "department", -e.score, e.key))
    lead = escaped(ordered[0])
    zh_dim = dimension_label(lead.dimension)[0]
    title = f"【差评激增】{zh_dim} {lead.key}：{len(events)} 条告警"
    lines = [_line(escaped(e)) for e in ordered]
    text = f"### {title}\n\n" + "\n".join(lines) + f"\n\n> {lead.summary()}"
    if fmt == "dingtalk":
        body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    else:
        body = {"msgtype": "markdown", "markdown": {"content": clip_utf8(text, WECOM_MAX_BYTES)}}
    return json.dumps(body, ensure_ascii=False).encode()


def _line(event: AlertEvent) -> str:
    zh_dim = dimension_label(event.dimension)[0]
    rate = f"{event.bad / event.total:.0%}" if event.total else "–"
    start = event.window_start.astimezone(CHINA)
    end = event.window_end.astimezone(CHINA)
    return (
        f"- {_STATES[event.state]} {zh_dim} {event.key}：差评 {event.bad}/{event.total}"
        f"（{rate}），显著性 {event.score:.1f}，{start:%H:%M}–{end:%H:%M}"
    )


class IncidentNotifier(GroupedNotifier):
    """alerts.spikes → one chat robot, one message per incident and interval."""

    def __init__(self, consumer: Any, client: WebhookClient, digests: Digests, **loop: Any):
        super().__init__(consumer, digests, **loop)
        self._client = client
        self._keys = IncidentKeys()

    def _read(self, partition: int, offset: int, value: bytes | None) -> None:
        try:
            event = AlertEvent.from_json_bytes(value or b"")
        except (ValidationError, ValueError):
            unreadable.inc()
            log.warning("alerts.spikes[%d]@%d is no alert event; skipped", partition, offset)
            self._digests.read(partition, offset)
            return
        key = self._keys.key_of(event)
        item = Item(key, event_id(event), value or b"", partition, offset)
        self._digests.add(item, self._clock())
        for joined in self._keys.learn(event):
            self._digests.move(joined, key)

    def _deliver(self, key: str, items: list[Item]) -> str:
        events = [AlertEvent.from_json_bytes(i.value) for i in items]
        outcome = self._post(
            self._client,
            incident_id(key, events),
            render_incident(events, self._client.fmt),
            f"incident {key}",
        )
        if outcome == "delivered":
            self.delivered += len(events)
        if outcome != "unreachable":
            incidents_sent.labels(outcome=outcome).inc()
        return outcome
