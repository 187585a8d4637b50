"""Deliver surge-alert lifecycle events to an HTTP webhook, in the background.

``AlertWebhook.offer(event)`` never blocks and never slows the caller (the worker's alerting
agent): it only puts the event on a bounded in-memory queue and returns. A consumer task,
started with ``await start()`` on the same event loop, POSTs each event with aiohttp and retries
(tenacity, exponential backoff) on connection errors, timeouts, HTTP 5xx and 429. A 4xx, or a
robot that answers ``errcode != 0``, is not retried. What cannot be delivered is counted and
logged in one line; the pipeline goes on. When the queue is full the event is dropped and
counted.

Formats (``render``):

* ``generic``: the ``AlertEvent`` JSON itself (the value on ``alerts.spikes``);
* ``dingtalk``: a DingTalk (钉钉) custom robot markdown message; with ``secret`` the request is
  signed (the robot's "加签" security setting);
* ``wecom``: a WeCom (企业微信) group robot markdown message (at most 4096 bytes).

Every chat message contains "差评", which can serve as the robot's custom keyword.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import time
import traceback
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import aiohttp
from prometheus_client import Counter
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from runtime.redact import mask_url
from schemas.alerts import AlertEvent
from schemas.dimensions import dimension_label

log = logging.getLogger("haochaping.webhook")

FORMATS: Final = ("generic", "dingtalk", "wecom")
# the DingTalk signature appended to the URL: an HMAC of the secret, not shown either
_SIGNATURE: Final = re.compile(r"([?&]sign=)[^&\s'\"]+")

sent = Counter("haochaping_webhook_sent_total", "alert events a webhook accepted")
failed = Counter(
    "haochaping_webhook_failed_total",
    "alert events given up on: rejected (4xx, robot errcode) or exhausted (retries used up)",
    ["reason"],
)
dropped = Counter(
    "haochaping_webhook_dropped_total",
    "alert events never sent: queue_full, or closed (offered after stop / pending at stop)",
    ["reason"],
)
for _reason in ("rejected", "exhausted"):
    failed.labels(reason=_reason)
for _reason in ("queue_full", "closed"):
    dropped.labels(reason=_reason)

_BEIJING = timezone(timedelta(hours=8))
_STATES = {
    "opened": ("差评激增", "new", "warning"),
    "updated": ("差评激增·持续", "ongoing", "warning"),
    "resolved": ("差评激增·已恢复", "resolved", "info"),
}
WECOM_MAX_BYTES: Final = 4096
# Robot errcodes that mean "too many messages, try again later" (DingTalk, WeCom).
_THROTTLED_ERRCODES = {130101, 45009}


class _Retryable(Exception):
    """The attempt failed in a way another attempt may fix."""


class _Rejected(Exception):
    """The receiver refused the message; sending it again will not help."""


# ---------------------------------------------------------------------------------- bodies


def render(event: AlertEvent, fmt: str) -> dict[str, Any]:
    """The JSON body POSTed for ``event`` in format ``fmt`` (generic, dingtalk or wecom)."""
    _check_format(fmt)
    if fmt == "generic":
        body: dict[str, Any] = json.loads(event.to_json_bytes())
        return body
    if fmt == "dingtalk":
        return {
            "msgtype": "markdown",
            "markdown": {"title": _title(event), "text": _dingtalk_text(event)},
        }
    return {"msgtype": "markdown", "markdown": {"content": _wecom_content(event)}}


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown webhook format {fmt!r}: expected one of {', '.join(FORMATS)}")


def _title(event: AlertEvent) -> str:
    zh_state = _STATES[event.state][0]
    zh_dim = dimension_label(event.dimension)[0]
    return f"【{zh_state}】{zh_dim} {event.key}"


def _clock(value: datetime) -> str:
    return value.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M")


def _facts(event: AlertEvent) -> list[str]:
    """The key numbers, one ``label: value`` line each."""
    _, en_state, _ = _STATES[event.state]
    zh_dim, en_dim = dimension_label(event.dimension)
    rate = f"{event.bad / event.total:.1%}" if event.total else "–"
    started = event.started_at or event.window_start
    return [
        f"状态 state: {event.state} ({en_state})",
        f"{zh_dim} {en_dim}: {event.key}",
        f"差评/评价 bad/total: {event.bad}/{event.total} ({rate})",
        f"预期差评 expected bad: {event.expected:.1f}",
        f"显著性 score: {event.score:.1f} (p = {event.p_value:.2g}); "
        f"峰值 peak: {max(event.peak_score, event.score):.1f}",
        f"窗口 window: {_clock(event.window_start)}–{_clock(event.window_end)} 北京时间 (UTC+8)",
        f"开始 started: {_clock(started)}; 异常分钟 anomalous minutes: {event.anomalous_minutes}",
    ]


def _dingtalk_text(event: AlertEvent) -> str:
    facts = "\n".join(f"- {line}" for line in _facts(event))
    return (
        f"### {_title(event)}\n\n{facts}\n\n> {event.summary()}\n\n"
        f"###### alert_id: {event.alert_id}"
    )


def _wecom_content(event: AlertEvent) -> str:
    color = _STATES[event.state][2]
    facts = "\n".join(f"> {line}" for line in _facts(event))
    content = (
        f'### <font color="{color}">{_title(event)}</font>\n{facts}\n\n{event.summary()}\n'
        f'<font color="comment">alert_id: {event.alert_id}</font>'
    )
    return _clip_utf8(content, WECOM_MAX_BYTES)


def _clip_utf8(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - len("…".encode())].decode(errors="ignore") + "…"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query parameter of a DingTalk robot with the 加签 security setting."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


# ---------------------------------------------------------------------------------- service


class AlertWebhook:
    """Background delivery of ``AlertEvent`` s to one webhook URL.

    Use from a single event loop: ``offer`` from any coroutine or callback of that loop (it is
    not thread-safe), ``await start()`` once, ``await stop()`` on shutdown.
    """

    def __init__(
        self,
        url: str,
        fmt: str = "generic",
        *,
        timeout_s: float = 5.0,
        queue_size: int = 1000,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        secret: str = "",
    ) -> None:
        _check_format(fmt)
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"webhook url must be an http(s) URL, got {mask_url(url)!r}")
        if secret and fmt != "dingtalk":
            raise ValueError("a webhook secret is only used by the dingtalk format")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if backoff_s < 0 or backoff_max_s < backoff_s:
            raise ValueError("need 0 <= backoff_s <= backoff_max_s")
        self.url = url
        self.fmt = fmt
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._secret = secret
        # the host only: robot URLs carry their access token in the query string
        self._where = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
        # what an exception's text must not show: aiohttp names the URL in some of them,
        # re-encoded, so each query value is masked on its own too
        values = [v for _, _, v in (p.partition("=") for p in parsed.query.split("&"))]
        candidates = [parsed.query, parsed.username, parsed.password, *values]
        candidates += [urllib.parse.unquote_plus(v) for v in values]
        # longest first, so a value inside the whole query does not split it
        self._credentials = sorted({c for c in candidates if c}, key=len, reverse=True)
        self._queue: asyncio.Queue[AlertEvent] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._inflight: AlertEvent | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Events waiting in the queue (not counting the one being delivered)."""
        return self._queue.qsize()

    def offer(self, event: AlertEvent) -> bool:
        """Queue ``event`` for delivery; never blocks. False if it was dropped."""
        if self._closed:
            dropped.labels(reason="closed").inc()
            return False
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            dropped.labels(reason="queue_full").inc()
            return False
        return True

    async def start(self) -> None:
        """Start delivering (events offered before ``start`` are delivered too)."""
        if self._closed:
            raise RuntimeError("AlertWebhook was stopped; make a new one")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="haochaping-webhook"
            )

    async def stop(self, drain_timeout_s: float = 5) -> None:
        """Refuse new events, give queued ones up to ``drain_timeout_s`` to go out, then stop.

        Events still undelivered after that are counted as dropped (reason ``closed``).
        """
        self._closed = True
        task, self._task = self._task, None
        interrupted = False
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(self._queue.join(), timeout=max(drain_timeout_s, 0))
            except TimeoutError:
                pass
            finally:
                interrupted = self._inflight is not None
                task.cancel()
                # wait() does not raise the task's CancelledError, only our own
                await asyncio.wait([task])
        lost = self._queue.qsize() + interrupted
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
        self._inflight = None
        if lost:
            dropped.labels(reason="closed").inc(lost)
            log.warning("webhook %s: stopped with %d alert event(s) undelivered", self._where, lost)

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                event = await self._queue.get()
                self._inflight = event
                try:
                    await self._deliver(session, event)
                finally:
                    self._inflight = None
                    self._queue.task_done()

    async def _deliver(self, session: aiohttp.ClientSession, event: AlertEvent) -> None:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=self.backoff_max_s),
            retry=retry_if_exception_type((_Retryable, aiohttp.ClientError, TimeoutError)),
            reraise=True,
        )
        try:
            body = self._body(event)
            async for attempt in retrying:
                with attempt:
                    await self._post(session, body)
        except _Rejected as exc:
            failed.labels(reason="rejected").inc()
            log.warning(
                "webhook %s refused alert %s (%s): not retried", self._where, event.alert_id, exc
            )
        except (_Retryable, aiohttp.ClientError, TimeoutError) as exc:
            failed.labels(reason="exhausted").inc()
            log.warning(
                "webhook %s: alert %s not delivered after %d attempt(s): %s",
                self._where,
                event.alert_id,
                self.max_attempts,
                self._scrubbed(_describe(exc)),
            )
        except Exception as exc:  # a bug must not stop the deliveries that follow
            failed.labels(reason="exhausted").inc()
            # no traceback: its lines may quote the URL; where it was raised is enough to
            # find the bug
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            log.error(
                "webhook %s: alert %s not delivered: %s (%s:%d)",
                self._where,
                event.alert_id,
                self._scrubbed(repr(exc)),
                frame.filename,
                frame.lineno,
            )
        else:
            sent.inc()

    def _scrubbed(self, text: str) -> str:
        """``text`` with the URL's query string (and the signature added to it) masked."""
        for credential in self._credentials:
            text = text.replace(credential, "***")
        return _SIGNATURE.sub(r"\1***", text)

    def _body(self, event: AlertEvent) -> bytes:
        if self.fmt == "generic":
            return event.to_json_bytes()
        return json.dumps(render(event, self.fmt), ensure_ascii=False).encode()

    def _target(self) -> str:
        if not self._secret:
            return self.url
        timestamp = int(time.time() * 1000)
        query = urllib.parse.urlencode(
            {"timestamp": timestamp, "sign": dingtalk_sign(self._secret, timestamp)}
        )
        return f"{self.url}{'&' if '?' in self.url else '?'}{query}"

    async def _post(self, session: aiohttp.ClientSession, body: bytes) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        async with session.post(
            self._target(), data=body, headers=headers, allow_redirects=False
        ) as response:
            status = response.status
            if status >= 500 or status == 429:
                raise _Retryable(f"HTTP {status}")
            if status >= 400:
                raise _Rejected(f"HTTP {status}")
            if status >= 300:
                raise _Rejected(f"HTTP {status} (redirect not followed)")
            if self.fmt == "generic":
                return
            # the robots answer 200 with an errcode; anything but 0 is a failure
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                return
            errcode = answer.get("errcode", 0) if isinstance(answer, dict) else 0
            if errcode:
                reason = f"errcode {errcode}: {answer.get('errmsg', '')}"
                if errcode in _THROTTLED_ERRCODES:
                    raise _Retryable(reason)
                raise _Rejected(reason)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
