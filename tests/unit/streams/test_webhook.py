"""AlertWebhook: the bodies of each format, and delivery to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from schemas.alerts import AlertEvent, AlertExplanation, CodeCount
from streams.webhook import FORMATS, WECOM_MAX_BYTES, AlertWebhook, dingtalk_sign, render

pytestmark = pytest.mark.timeout(30)

FAST: dict[str, Any] = {"timeout_s": 2.0, "backoff_s": 0.01, "backoff_max_s": 0.05}


def event(
    state: str = "opened", key: str = "D1", comment: str = "等了两个小时没人管"
) -> AlertEvent:
    return AlertEvent(
        alert_id=f"department:{key}:1764300000",
        dimension="department",
        key=key,
        state=state,  # type: ignore[arg-type]
        bad=20,
        total=50,
        expected=0.5,
        score=12.0,
        p_value=1e-12,
        window_start=datetime(2025, 11, 28, 3, 20, tzinfo=UTC),
        window_end=datetime(2025, 11, 28, 3, 21, tzinfo=UTC),
        at=datetime(2025, 11, 28, 3, 21, 5, tzinfo=UTC),
        explanation=AlertExplanation(
            top_services=[CodeCount(code="S1", count=10)],
            top_channels=[CodeCount(code="app", count=12)],
            sample_comments=[comment],
        ),
        anomalous_minutes=3,
        peak_score=14.5,
    )


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def metrics() -> dict[str, float]:
    return {
        "sent": metric("haochaping_webhook_sent_total"),
        "rejected": metric("haochaping_webhook_failed_total", reason="rejected"),
        "exhausted": metric("haochaping_webhook_failed_total", reason="exhausted"),
        "queue_full": metric("haochaping_webhook_dropped_total", reason="queue_full"),
        "closed": metric("haochaping_webhook_dropped_total", reason="closed"),
    }


def delta(before: dict[str, float]) -> dict[str, float]:
    return {k: v - before[k] for k, v in metrics().items() if v != before[k]}


# ------------------------------------------------------------------------------------ render


def test_render_generic_is_the_event_json() -> None:
    e = event()
    assert render(e, "generic") == json.loads(e.to_json_bytes())
    assert AlertEvent.model_validate(render(e, "generic")) == e


@pytest.mark.parametrize("state", ["opened", "updated", "resolved"])
def test_render_dingtalk_markdown(state: str) -> None:
    e = event(state)
    body = render(e, "dingtalk")
    assert body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"title", "text"}
    title, text = body["markdown"]["title"], body["markdown"]["text"]
    assert "差评激增" in title and "部门 D1" in title
    assert ("已恢复" in title) == (state == "resolved")
    assert e.summary() in text
    for number in ("20/50", "40.0%", "12.0", "14.5", "1e-12", "11:20", "北京时间"):
        assert number in text, number
    assert e.alert_id in text
    json.dumps(body)  # serializable


@pytest.mark.parametrize("state", ["opened", "resolved"])
def test_render_wecom_markdown(state: str) -> None:
    e = event(state)
    body = render(e, "wecom")
    assert body["msgtype"] == "markdown"
    assert set(body["markdown"]) == {"content"}
    content = body["markdown"]["content"]
    assert e.summary() in content and "20/50" in content and e.alert_id in content
    assert f'color="{"info" if state == "resolved" else "warning"}"' in content


def test_render_wecom_stays_within_4096_bytes() -> None:
    e = event(key="D" * 3000)
    content = render(e, "wecom")["markdown"]["content"]
    assert len(content.encode()) <= WECOM_MAX_BYTES
    assert content.endswith("…")


def test_unknown_format_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"unknown webhook format 'slack'.*generic, dingtalk"):
        render(event(), "slack")
    with pytest.raises(ValueError, match="unknown webhook format"):
        AlertWebhook("http://127.0.0.1:1/hook", "slack")


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [
        ("", {}),
        ("127.0.0.1:8080/hook", {}),
        ("http://127.0.0.1:1/", {"queue_size": 0}),
        ("http://127.0.0.1:1/", {"max_attempts": 0}),
        ("http://127.0.0.1:1/", {"timeout_s": 0}),
        ("http://127.0.0.1:1/", {"secret": "s"}),  # only dingtalk signs
    ],
)
def test_constructor_validates(url: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        AlertWebhook(url, **kwargs)


def test_formats() -> None:
    assert FORMATS == ("generic", "dingtalk", "wecom")


# ---------------------------------------------------------------------------------- delivery


@dataclass
class Receiver:
    """What the test server saw."""

    requests: list[tuple[dict[str, str], bytes, str]] = field(default_factory=list)
    url: str = ""

    def bodies(self) -> list[Any]:
        return [json.loads(body) for _, body, _ in self.requests]


Handler = Callable[[web.Request, Receiver], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[Receiver]:
    receiver = Receiver()

    async def handle(request: web.Request) -> web.StreamResponse:
        receiver.requests.append((dict(request.query), await request.read(), request.content_type))
        return await handler(request, receiver)

    app = web.Application()
    app.router.add_post("/hook", handle)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    receiver.url = str(test_server.make_url("/hook"))
    try:
        yield receiver
    finally:
        await test_server.close()


async def ok(_: web.Request, __: Receiver) -> web.StreamResponse:
    return web.json_response({"errcode": 0, "errmsg": "ok"})


def test_delivers_generic_json() -> None:
    async def main() -> Receiver:
        async with server(ok) as receiver:
            hook = AlertWebhook(receiver.url, **FAST)
            await hook.start()
            assert hook.offer(event("opened"))
            assert hook.offer(event("resolved"))
            await hook.stop()
            return receiver

    before = metrics()
    receiver = asyncio.run(main())
    assert [b["state"] for b in receiver.bodies()] == ["opened", "resolved"]
    assert receiver.requests[0][1] == event("opened").to_json_bytes()
    assert receiver.requests[0][2] == "application/json"
    assert delta(before) == {"sent": 2}


def test_events_offered_before_start_are_delivered() -> None:
    async def main() -> Receiver:
        async with server(ok) as receiver:
            hook = AlertWebhook(receiver.url, "wecom", **FAST)
            assert hook.offer(event())
            assert hook.pending == 1
            await hook.start()
            await hook.stop()
            return receiver

    receiver = asyncio.run(main())
    assert receiver.bodies() == [render(event(), "wecom")]


def test_dingtalk_signed_request() -> None:
    async def main() -> Receiver:
        async with server(ok) as receiver:
            hook = AlertWebhook(
                receiver.url + "?access_token=abc", "dingtalk", secret="SEC123", **FAST
            )
            await hook.start()
            hook.offer(event())
            await hook.stop()
            return receiver

    receiver = asyncio.run(main())
    [(query, _, _)] = receiver.requests
    assert query["access_token"] == "abc"
    timestamp = int(query["timestamp"])
    assert abs(timestamp / 1000 - time.time()) < 60
    expected = base64.b64encode(
        hmac.new(b"SEC123", f"{timestamp}\nSEC123".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == expected == dingtalk_sign("SEC123", timestamp)
    assert receiver.bodies() == [render(event(), "dingtalk")]


def test_retries_5xx_then_delivers_once() -> None:
    async def flaky(_: web.Request, receiver: Receiver) -> web.StreamResponse:
        if len(receiver.requests) <= 2:
            return web.Response(status=503, text="busy")
        return web.json_response({"ok": True})

    async def main() -> Receiver:
        async with server(flaky) as receiver:
            hook = AlertWebhook(receiver.url, **FAST)
            await hook.start()
            hook.offer(event())
            await hook.stop()
            return receiver

    before = metrics()
    receiver = asyncio.run(main())
    assert len(receiver.requests) == 3  # 503, 503, 200
    assert delta(before) == {"sent": 1}


def test_4xx_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    async def bad_request(_: web.Request, __: Receiver) -> web.StreamResponse:
        return web.Response(status=400, text="no")

    async def main() -> Receiver:
        async with server(bad_request) as receiver:
            hook = AlertWebhook(receiver.url + "?access_token=SECRET", **FAST)
            await hook.start()
            hook.offer(event())
            await hook.stop()
            return receiver

    before = metrics()
    receiver = asyncio.run(main())
    assert len(receiver.requests) == 1
    assert delta(before) == {"rejected": 1}
    [record] = [r for r in caplog.records if r.name == "haochaping.webhook"]
    assert "HTTP 400" in record.getMessage() and "not retried" in record.getMessage()
    assert "SECRET" not in record.getMessage()  # the access token is not logged


def test_robot_errcode_is_a_failure() -> None:
    async def keyword_missing(_: web.Request, __: Receiver) -> web.StreamResponse:
        return web.json_response({"errcode": 310000, "errmsg": "keywords not in content"})

    async def main() -> Receiver:
        async with server(keyword_missing) as receiver:
            hook = AlertWebhook(receiver.url, "dingtalk", **FAST)
            await hook.start()
            hook.offer(event())
            await hook.stop()
            return receiver

    before = metrics()
    receiver = asyncio.run(main())
    assert len(receiver.requests) == 1
    assert delta(before) == {"rejected": 1}


def test_gives_up_after_max_attempts_when_unreachable() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def main() -> None:
        hook = AlertWebhook(f"http://127.0.0.1:{port}/hook", max_attempts=3, **FAST)
        await hook.start()
        hook.offer(event())
        hook.offer(event("resolved"))
        await hook.stop()

    before = metrics()
    asyncio.run(main())
    assert delta(before) == {"exhausted": 2}


def test_full_queue_drops_without_blocking() -> None:
    async def main() -> tuple[Receiver, list[bool], float]:
        release = asyncio.Event()
        arrived = asyncio.Event()

        async def hang(_: web.Request, __: Receiver) -> web.StreamResponse:
            arrived.set()
            await release.wait()
            return web.Response(status=200)

        async with server(hang) as receiver:
            hook = AlertWebhook(receiver.url, queue_size=2, **FAST)
            await hook.start()
            assert hook.offer(event("opened"))
            await asyncio.wait_for(arrived.wait(), 5)  # the first one hangs in the server
            started = time.perf_counter()
            accepted = [hook.offer(event("updated")) for _ in range(500)]
            elapsed = time.perf_counter() - started
            stopping = time.perf_counter()
            await hook.stop(drain_timeout_s=0.2)
            assert time.perf_counter() - stopping < 2
            assert not hook.offer(event("resolved"))  # closed
            release.set()
            return receiver, accepted, elapsed

    before = metrics()
    receiver, accepted, elapsed = asyncio.run(main())
    assert accepted[:2] == [True, True] and not any(accepted[2:])
    assert elapsed < 0.5
    assert len(receiver.requests) == 1
    # 498 did not fit; the hanging one and the 2 queued were lost at stop, then 1 after stop
    assert delta(before) == {"queue_full": 498, "closed": 4}


def test_stop_without_start_and_twice() -> None:
    async def main() -> None:
        hook = AlertWebhook("http://127.0.0.1:1/hook", **FAST)
        await hook.stop()
        await hook.stop()
        with pytest.raises(RuntimeError):
            await hook.start()

    asyncio.run(main())


def test_timeout_is_retried_then_given_up() -> None:
    async def slow(_: web.Request, __: Receiver) -> web.StreamResponse:
        await asyncio.sleep(1)
        return web.Response(status=200)

    async def main() -> Receiver:
        async with server(slow) as receiver:
            hook = AlertWebhook(
                receiver.url, timeout_s=0.1, max_attempts=2, backoff_s=0.01, backoff_max_s=0.01
            )
            await hook.start()
            hook.offer(event())
            await hook.stop()
            return receiver

    before = metrics()
    receiver = asyncio.run(main())
    assert len(receiver.requests) == 2
    assert delta(before) == {"exhausted": 1}


# ------------------------------------------------------------------------ credentials in logs

TOKEN = "tok+en/0123456789abcdef"
ROBOT = "https://oapi.dingtalk.com/robot/send?access_token=" + urllib.parse.quote(TOKEN, safe="")


def test_a_refused_url_is_named_without_its_token() -> None:
    with pytest.raises(ValueError) as refused:
        AlertWebhook(ROBOT.replace("https", "ftp"))
    assert "access_token" not in str(refused.value) and "0123456789abcdef" not in str(refused.value)
    assert "ftp://oapi.dingtalk.com/robot/send?***" in str(refused.value)


@pytest.mark.parametrize("error", [aiohttp.InvalidURL, RuntimeError])
def test_an_error_that_quotes_the_url_is_logged_without_its_token_or_signature(
    error: type[Exception], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = AlertWebhook(ROBOT, "dingtalk", secret="SEC123", **FAST, max_attempts=1)

    async def post(_: Any, __: bytes) -> None:
        # what aiohttp may do: quote the URL, encoded or decoded, with the signed query
        raise error(f"{hook._target()} / {urllib.parse.unquote(hook._target())}")

    monkeypatch.setattr(hook, "_post", post)

    async def main() -> None:
        await hook.start()
        hook.offer(event())
        await hook.stop()

    asyncio.run(main())
    [record] = [r for r in caplog.records if r.name == "haochaping.webhook"]
    text = record.getMessage()
    assert "not delivered" in text and "oapi.dingtalk.com" in text
    assert "0123456789abcdef" not in text and "sign=***" in text
    assert record.exc_info is None  # a traceback could quote it again
