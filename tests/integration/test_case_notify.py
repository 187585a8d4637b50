"""`haochaping notify --stream cases` sends each department's case warnings (alerts.cases) to
its webhook as one message per department and interval, at least once, and sends nothing
again after a restart."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from haochaping.topics import ensure_topics
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from schemas.cases import CaseWarning
from tests.integration.harness import Service, unique_settings, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@contextmanager
def receiver() -> Iterator[tuple[list[tuple[str, dict[str, Any]]], str]]:
    posts: list[tuple[str, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            posts.append((self.path, json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield posts, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def warning(case_id: str, department: str, kind: str = "overdue") -> CaseWarning:
    due = datetime.now(UTC) - timedelta(days=1)
    return CaseWarning(case_id=case_id, deadline="callback", kind=kind, due_at=due, at=due,
                       department_code=department)  # fmt: skip


def publish(settings: Settings, warnings: list[CaseWarning]) -> None:
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_servers, acks="all", **kafka_security(settings)
    )
    for w in warnings:
        producer.send(settings.topic_case_warnings, key=w.kafka_key(), value=w.to_json_bytes())
    producer.flush(timeout=30)
    producer.close()


def test_one_message_per_department_and_none_again_after_a_restart(tmp_path: Path) -> None:
    with receiver() as (posts, base):
        settings = unique_settings(
            tmp_path,
            case_webhooks={"D-A": f"{base}/a", "*": f"{base}/others"},
            case_group_wait_s=2.0,
            case_group_interval_s=300.0,
        )
        ensure_topics(settings)
        sent = [warning(f"a{n}", "D-A") for n in range(3)]
        sent += [warning("b0", "D-B"), warning("b0", "D-B", "escalated_1")]
        publish(settings, sent)
        notifier = Service(settings, "notify", tmp_path / "notify-1.log", "--stream", "cases")
        try:
            wait_until("a message per department", lambda: len(posts) >= 2, services=[notifier])
        finally:
            notifier.stop()
        by_path = {path: body for path, body in posts}
        assert sorted(by_path) == ["/a", "/others"] and len(posts) == 2
        assert sorted(w["case_id"] for w in by_path["/a"]["warnings"]) == ["a0", "a1", "a2"]
        assert by_path["/others"]["department_code"] == "D-B"
        assert [w["kind"] for w in by_path["/others"]["warnings"]] == ["overdue", "escalated_1"]
        assert "stopped; 5 case warnings delivered" in notifier.output(), notifier.output()

        # a restart reads from the committed offsets: only what came since is sent
        notifier = Service(settings, "notify", tmp_path / "notify-2.log", "--stream", "cases")
        publish(settings, [warning("c0", "D-C")])
        try:
            wait_until("the new warning", lambda: len(posts) >= 3, services=[notifier])
        finally:
            notifier.stop()
        assert len(posts) == 3, posts
        assert [w["case_id"] for w in posts[2][1]["warnings"]] == ["c0"]
