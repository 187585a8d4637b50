"""POST one alert event to the webhook, with retries, and say how it went.

A connection error, a timeout, HTTP 5xx or 429, or a robot's "too many messages" errcode is
worth another attempt (tenacity, exponential backoff). A 3xx (redirects are not followed: the
robot URL carries its token), another 4xx, or any other robot errcode is not: the receiver
refuses the message, and sending it again will not change that.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from prometheus_client import Counter
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from notify.messages import (
    EVENT_ID_HEADER,
    FORMATS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    dingtalk_sign,
    event_id,
    render,
    signature,
)
from runtime.redact import mask_url
from schemas.alerts import AlertEvent

sent = Counter("haochaping_webhook_sent_total", "alert events a webhook accepted")
failed = Counter(
    "haochaping_webhook_failed_total",
    "delivery rounds that failed: refused (3xx/4xx, robot errcode; not sent again), "
    "unreachable (retries used up; the event is tried again) or error (a bug; skipped)",
    ["reason"],
)
for _reason in ("refused", "unreachable", "error"):
    failed.labels(reason=_reason)

# Robot errcodes that mean "too many messages, try again later" (DingTalk, WeCom).
_THROTTLED_ERRCODES: Final = {130101, 45009}

Outcome = Literal["delivered", "refused", "unreachable"]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    detail: str = ""


class _Retryable(Exception):
    """The attempt failed in a way another attempt may fix."""


class _Refused(Exception):
    """The receiver refused the message; sending it again will not help."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: object, **__: object) -> None:
        return None  # a 3xx comes back as an HTTPError


_OPENER = urllib.request.build_opener(_NoRedirect)


def where(url: str) -> str:
    """The host and port of ``url``, for log lines: robot URLs carry their token in the query."""
    parsed = urllib.parse.urlsplit(url)
    return (parsed.hostname or "?") + (f":{parsed.port}" if parsed.port else "")


class WebhookClient:
    """Delivers ``AlertEvent`` s to one URL in one format."""

    def __init__(
        self,
        url: str,
        fmt: str = "generic",
        *,
        secret: str = "",
        timeout_s: float = 5.0,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(
                f"unknown webhook format {fmt!r}: expected one of {', '.join(FORMATS)}"
            )
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("the webhook URL must be an http(s) URL with a host")
        if secret and fmt == "wecom":
            raise ValueError("WeCom robots are not signed: leave the webhook secret empty")
        if timeout_s <= 0 or max_attempts < 1 or not 0 <= backoff_s <= backoff_max_s:
            raise ValueError(
                "need timeout_s > 0, max_attempts >= 1, 0 <= backoff_s <= backoff_max_s"
            )
        self.url, self.fmt = url, fmt
        self.where = where(url)
        self._secret = secret
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._wait = wait_exponential(multiplier=backoff_s, max=backoff_max_s)
        self._sleep = sleep

    def deliver(self, event: AlertEvent, on_retry: Callable[[str], None] | None = None) -> Delivery:
        """Up to ``max_attempts`` POSTs of ``event``; never raises for what the receiver does.
        ``on_retry(reason)`` is called before each wait for another attempt."""
        return self.send(event_id(event), self._body(event), on_retry)

    def send(
        self, message_id: str, body: bytes, on_retry: Callable[[str], None] | None = None
    ) -> Delivery:
        """Up to ``max_attempts`` POSTs of ``body`` (already in this client's format), with
        ``message_id`` for the receiver to drop a repeat."""
        retried = on_retry or (lambda _reason: None)
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            # before each wait: the caller learns of the outage now, not after the last try
            before_sleep=lambda state: retried(
                str(state.outcome.exception()) if state.outcome else "retrying"
            ),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self._post(message_id, body)
        except _Refused as exc:
            failed.labels(reason="refused").inc()
            return Delivery("refused", str(exc))
        except _Retryable as exc:
            failed.labels(reason="unreachable").inc()
            return Delivery("unreachable", str(exc))
        sent.inc()
        return Delivery("delivered")

    def _body(self, event: AlertEvent) -> bytes:
        if self.fmt == "generic":
            return event.to_json_bytes()
        return json.dumps(render(event, self.fmt), ensure_ascii=False).encode()

    def _request(self, message_id: str, body: bytes) -> urllib.request.Request:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            EVENT_ID_HEADER: message_id,
        }
        url = self.url
        if self._secret and self.fmt == "generic":
            now = int(time.time())
            headers[TIMESTAMP_HEADER] = str(now)
            headers[SIGNATURE_HEADER] = signature(self._secret, now, body)
        elif self._secret:  # dingtalk: the robot checks a signed timestamp in the query
            now_ms = int(time.time() * 1000)
            query = urllib.parse.urlencode(
                {"timestamp": now_ms, "sign": dingtalk_sign(self._secret, now_ms)}
            )
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return urllib.request.Request(url, data=body, headers=headers, method="POST")

    def _post(self, message_id: str, body: bytes) -> None:
        try:
            with _OPENER.open(self._request(message_id, body), timeout=self._timeout_s) as response:
                answer = response.read(65_536)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
            if status >= 500 or status == 429:
                raise _Retryable(f"HTTP {status}") from None
            if 300 <= status < 400:
                raise _Refused(f"HTTP {status} (redirect not followed)") from None
            raise _Refused(f"HTTP {status}") from None
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, DNS, timeout
            reason = getattr(exc, "reason", exc)
            raise _Retryable(mask_url(str(reason)) or type(exc).__name__) from None
        except http.client.HTTPException as exc:  # a broken answer: IncompleteRead, …
            raise _Retryable(f"bad HTTP answer ({type(exc).__name__})") from None
        except ValueError as exc:  # a URL or header http.client refuses to send
            raise _Refused(f"request not sendable ({type(exc).__name__})") from None
        if self.fmt != "generic":
            self._check_robot_answer(answer)

    @staticmethod
    def _check_robot_answer(answer: bytes) -> None:
        # the robots answer 200 with an errcode; anything but 0 is a failure
        try:
            parsed = json.loads(answer)
        except ValueError:
            return
        errcode = parsed.get("errcode", 0) if isinstance(parsed, dict) else 0
        if not isinstance(errcode, int):
            raise _Refused("robot answer with a non-numeric errcode")
        if errcode:
            reason = f"errcode {errcode}: {str(parsed.get('errmsg', ''))[:200]}"
            if errcode in _THROTTLED_ERRCODES:
                raise _Retryable(reason)
            raise _Refused(reason)
