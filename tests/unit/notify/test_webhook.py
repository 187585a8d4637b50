"""WebhookClient against a real HTTP server on 127.0.0.1: what is sent, what is retried."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from notify.messages import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, event_id
from notify.webhook import WebhookClient
from tests.alert_events import sample_alert as event

pytestmark = pytest.mark.timeout(30)

NO_WAIT: dict[str, Any] = {"timeout_s": 2.0, "backoff_s": 0.0, "backoff_max_s": 0.0}


@dataclass
class Seen:
    """What the test server received: (path with query, headers, body) per request."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""


# answer(seen) -> (status, body, headers); it may sleep to play a slow receiver
Answer = Callable[[Seen], tuple[int, bytes, dict[str, str]]]


def ok(_: Seen) -> tuple[int, bytes, dict[str, str]]:
    return 200, b'{"errcode": 0, "errmsg": "ok"}', {}


@contextmanager
def server(answer: Answer) -> Iterator[Seen]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.requests.append((self.path, dict(self.headers), body))
            status, reply, headers = answer(seen)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook?access_token=t0ken"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_delivers_generic_json_with_its_event_id() -> None:
    with server(ok) as seen:
        result = WebhookClient(seen.url, **NO_WAIT).deliver(event())
    assert result.outcome == "delivered"
    [(_, headers, body)] = seen.requests
    assert body == event().to_json_bytes()
    assert headers[EVENT_ID_HEADER] == event_id(event())
    assert headers["Content-Type"].startswith("application/json")
    assert SIGNATURE_HEADER not in headers  # no secret, no signature


def test_generic_body_is_signed_with_the_secret() -> None:
    secret = "s" * 32
    with server(ok) as seen:
        WebhookClient(seen.url, secret=secret, **NO_WAIT).deliver(event())
    [(_, headers, body)] = seen.requests
    timestamp = headers[TIMESTAMP_HEADER]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert headers[SIGNATURE_HEADER] == f"sha256={expected.hexdigest()}"


def test_dingtalk_request_is_signed_in_the_query() -> None:
    secret = "SEC" + "x" * 40
    with server(ok) as seen:
        WebhookClient(seen.url, "dingtalk", secret=secret, **NO_WAIT).deliver(event())
    [(path, _, body)] = seen.requests
    query = parse_qs(urlsplit(path).query)
    assert query["access_token"] == ["t0ken"]
    timestamp = query["timestamp"][0]
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    assert query["sign"] == [base64.b64encode(digest.digest()).decode()]
    assert json.loads(body)["msgtype"] == "markdown"


def test_5xx_and_429_are_retried_then_delivered_once() -> None:
    def flaky(seen: Seen) -> tuple[int, bytes, dict[str, str]]:
        return (
            (503 if len(seen.requests) == 1 else 429 if len(seen.requests) == 2 else 200),
            b"",
            {},
        )

    with server(flaky) as seen:
        result = WebhookClient(seen.url, **NO_WAIT).deliver(event())
    assert result.outcome == "delivered"
    assert len(seen.requests) == 3
    # every attempt carries the same event id: the receiver can drop the repeats
    assert {h[EVENT_ID_HEADER] for _, h, _ in seen.requests} == {event_id(event())}


@pytest.mark.parametrize("status", [400, 403, 404, 302])
def test_4xx_and_redirects_are_refused_without_retry(status: int) -> None:
    def refuse(_: Seen) -> tuple[int, bytes, dict[str, str]]:
        return status, b"", {"Location": "http://elsewhere.example/"}

    with server(refuse) as seen:
        result = WebhookClient(seen.url, **NO_WAIT).deliver(event())
    assert result.outcome == "refused"
    assert str(status) in result.detail
    assert len(seen.requests) == 1


def test_robot_errcode_is_refused_but_throttling_is_retried() -> None:
    def robot(seen: Seen) -> tuple[int, bytes, dict[str, str]]:
        if len(seen.requests) == 1:
            return 200, b'{"errcode": 130101, "errmsg": "send too fast"}', {}
        return 200, b'{"errcode": 310000, "errmsg": "keywords not in content"}', {}

    with server(robot) as seen:
        result = WebhookClient(seen.url, "dingtalk", **NO_WAIT).deliver(event())
    assert result.outcome == "refused"
    assert "310000" in result.detail
    assert len(seen.requests) == 2


def test_unreachable_after_max_attempts() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = WebhookClient(f"http://127.0.0.1:{port}/hook", max_attempts=3, **NO_WAIT)
    result = client.deliver(event())
    assert result.outcome == "unreachable"


def test_a_slow_receiver_times_out_and_counts_as_unreachable() -> None:
    def slow(_: Seen) -> tuple[int, bytes, dict[str, str]]:
        time.sleep(1.5)
        return 200, b"", {}

    with server(slow) as seen:
        started = time.monotonic()
        result = WebhookClient(
            seen.url, max_attempts=2, timeout_s=0.3, backoff_s=0.0, backoff_max_s=0.0
        ).deliver(event())
    assert result.outcome == "unreachable"
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [
        ("", {}),
        ("127.0.0.1:8080/hook", {}),
        ("ftp://127.0.0.1/hook", {}),
        ("http://127.0.0.1:1/", {"fmt": "slack"}),
        ("http://127.0.0.1:1/", {"max_attempts": 0}),
        ("http://127.0.0.1:1/", {"timeout_s": 0}),
        ("http://127.0.0.1:1/", {"fmt": "wecom", "secret": "s" * 32}),  # WeCom is not signed
    ],
)
def test_constructor_validates(url: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as raised:
        WebhookClient(url, **kwargs)
    assert "t0ken" not in str(raised.value)


def test_an_event_id_with_chinese_or_line_breaks_is_sent_ascii() -> None:
    e = event().model_copy(update={"alert_id": "department:市民政局\r\nX-Evil: 1:1764300000"})
    with server(ok) as seen:
        result = WebhookClient(seen.url, **NO_WAIT).deliver(e)
    assert result.outcome == "delivered"
    [(_, headers, _)] = seen.requests
    assert headers[EVENT_ID_HEADER] == event_id(e)
    assert headers[EVENT_ID_HEADER].isascii() and "X-Evil" not in headers
    assert "\r" not in headers[EVENT_ID_HEADER] and "\n" not in headers[EVENT_ID_HEADER]


def test_a_robot_answer_with_an_odd_errcode_is_refused_not_raised() -> None:
    def odd(_: Seen) -> tuple[int, bytes, dict[str, str]]:
        return 200, b'{"errcode": [1], "errmsg": "?"}', {}

    with server(odd) as seen:
        result = WebhookClient(seen.url, "dingtalk", **NO_WAIT).deliver(event())
    assert result.outcome == "refused"


def test_on_retry_is_told_before_each_wait() -> None:
    def down(_: Seen) -> tuple[int, bytes, dict[str, str]]:
        return 503, b"", {}

    told: list[str] = []
    with server(down) as seen:
        result = WebhookClient(seen.url, max_attempts=3, **NO_WAIT).deliver(
            event(), on_retry=told.append
        )
    assert result.outcome == "unreachable"
    assert told == ["HTTP 503", "HTTP 503"]
