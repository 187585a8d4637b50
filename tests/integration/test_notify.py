"""`haochaping notify` delivers every alert event on alerts.spikes to the webhook at least
once, through a receiver outage and a SIGKILL, and sends nothing again after a clean restart."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from haochaping.topics import ensure_topics
from notify.messages import EVENT_ID_HEADER, event_id
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from schemas.alerts import AlertEvent
from tests.alert_events import numbered_alert as alert
from tests.alert_events import surge_alert
from tests.integration.harness import Service, unique_settings, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


class Receiver:
    """A webhook on 127.0.0.1 that answers 503 while ``down`` and counts event ids."""

    def __init__(self) -> None:
        self.down = False
        self.ids: Counter[str] = Counter()
        self.bodies: list[bytes] = []
        self.refusals = 0
        self._lock = threading.Lock()

    def seen(self) -> set[str]:
        with self._lock:
            return set(self.ids)


@contextmanager
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state._lock:
                if state.down:
                    state.refusals += 1
                    status = 503
                else:
                    state.ids[self.headers[EVENT_ID_HEADER]] += 1
                    state.bodies.append(body)
                    status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    finally:
        httpd.shutdown()
        httpd.server_close()


def publish(settings: Settings, events: list[AlertEvent], timestamp_ms: int | None = None) -> None:
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_servers,
        **kafka_security(settings),
        acks="all",
    )
    for e in events:
        producer.send(
            settings.topic_alerts,
            key=e.kafka_key(),
            value=e.to_json_bytes(),
            timestamp_ms=timestamp_ms,
        )
    producer.flush(timeout=30)
    producer.close()


def test_alert_events_survive_an_outage_a_kill_and_a_restart(tmp_path: Path) -> None:
    with receiver() as (hook, url):
        settings = unique_settings(tmp_path, webhook_url=url, webhook_timeout_s=2.0)
        ensure_topics(settings)
        first = [alert(n, s) for n in range(3) for s in ("opened", "resolved")]
        publish(settings, first)

        # the receiver is down: the notifier holds the events and keeps trying
        hook.down = True
        notifier = Service(settings, "notify", tmp_path / "notify-1.log")
        try:
            wait_until(
                "the notifier to try the unreachable webhook twice",
                lambda: hook.refusals >= 2,
                timeout=180,
                services=[notifier],
            )
        finally:
            notifier.kill()  # SIGKILL: nothing committed for the events it could not deliver
        assert hook.seen() == set()

        hook.down = False
        notifier = Service(settings, "notify", tmp_path / "notify-2.log")
        try:
            wait_until(
                "every alert event to reach the webhook",
                lambda: hook.seen() == {event_id(e) for e in first},
                timeout=180,
                services=[notifier],
            )
        finally:
            notifier.stop()  # SIGTERM: it finishes the event in hand and commits
        assert "stopped; 6 alert events delivered" in notifier.output(), notifier.output()
        delivered_before = sum(hook.ids.values())

        # a clean restart sends nothing again, and the next event goes out
        later = [alert(7, "opened")]
        publish(settings, later)
        notifier = Service(settings, "notify", tmp_path / "notify-3.log")
        try:
            wait_until(
                "the event published while the notifier was away",
                lambda: event_id(later[0]) in hook.seen(),
                timeout=180,
                services=[notifier],
            )
        finally:
            notifier.stop()
    assert sum(hook.ids.values()) == delivered_before + 1, hook.ids
    assert all(count == 1 for count in hook.ids.values()), hook.ids


def test_a_first_notifier_skips_alerts_older_than_its_look_back(tmp_path: Path) -> None:
    with receiver() as (hook, url):
        settings = unique_settings(tmp_path, webhook_url=url, notify_lookback_minutes=60)
        ensure_topics(settings)
        old = [alert(n, "opened") for n in range(4)]
        three_hours_ago = int((time.time() - 3 * 3600) * 1000)
        publish(settings, old, timestamp_ms=three_hours_ago)
        recent = [alert(n, "resolved") for n in range(4)]
        publish(settings, recent)
        notifier = Service(settings, "notify", tmp_path / "notify.log")
        try:
            wait_until(
                # an old event shares its key (so its partition) with a recent one and comes
                # first: had it been sent, this set would never equal the recent ones
                "exactly the recent alert events to reach the webhook",
                lambda: hook.seen() == {event_id(e) for e in recent},
                timeout=180,
                services=[notifier],
            )
        finally:
            notifier.stop()
    assert hook.seen() == {event_id(e) for e in recent}


def test_no_webhook_configured_idles_then_stops_cleanly(tmp_path: Path) -> None:
    settings = unique_settings(tmp_path)
    notifier = Service(settings, "notify", tmp_path / "notify.log", "--idle-exit", "2")
    notifier.process.wait(timeout=60)
    assert notifier.process.returncode == 0, notifier.output()
    assert "no webhook configured" in notifier.output()
    assert "Traceback" not in notifier.output()
    notifier.stop()


def test_a_chat_robot_gets_a_department_surge_and_its_services_as_one_incident(
    tmp_path: Path,
) -> None:
    services = ("S1", "S2", "S3", "S4", "S5")
    # as the demo's one planted surge: its department and five of its services, one more apart
    events = [surge_alert("service", s) for s in services] + [
        surge_alert("department", "D-A", services=services),
        surge_alert("service", "S9"),
    ]
    with receiver() as (hook, url):
        settings = unique_settings(
            tmp_path, webhook_url=url, webhook_format="wecom", webhook_group_wait_s=5.0
        )
        ensure_topics(settings)
        publish(settings, events)
        notifier = Service(settings, "notify", tmp_path / "notify.log")
        try:
            wait_until(
                "two messages: the department's incident and the unrelated service",
                lambda: len(hook.bodies) >= 2,
                timeout=180,
                services=[notifier],
            )
        finally:
            notifier.stop()
    texts = sorted(json.loads(body)["markdown"]["content"] for body in hook.bodies)
    assert len(texts) == 2, texts
    incident = next(t for t in texts if "6 条告警" in t)
    assert all(f"事项 {s}" in incident for s in services) and "部门 D-A" in incident, incident
    assert "S9" not in incident
    assert "stopped; 7 alert events delivered" in notifier.output(), notifier.output()
