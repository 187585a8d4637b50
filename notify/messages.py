"""What a webhook receives for one surge-alert event: the body, and the headers that let a
receiver check where it came from and drop a repeat.

Formats (``render``):

* ``generic``: the ``AlertEvent`` JSON itself (the value on ``alerts.spikes``); with a secret,
  signed in the ``X-Haochaping-Signature`` header (HMAC-SHA256 of ``timestamp.body``);
* ``dingtalk``: a DingTalk (钉钉) custom robot markdown message; with a secret the request is
  signed the robot's way (its "加签" security setting);
* ``wecom``: a WeCom (企业微信) group robot markdown message (at most 4096 bytes).

Every chat message contains "差评", which can serve as the robot's custom keyword. Data in a
chat message (keys, codes, comments) is escaped: it can neither add links, images, headings
or colours nor break the message's layout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.parse
from datetime import datetime
from typing import Any, Final

from runtime.clock import CHINA
from schemas.alerts import AlertEvent, AlertExplanation, CodeCount
from schemas.dimensions import dimension_label

FORMATS: Final = ("generic", "dingtalk", "wecom")
EVENT_ID_HEADER: Final = "X-Haochaping-Event-Id"
TIMESTAMP_HEADER: Final = "X-Haochaping-Timestamp"
SIGNATURE_HEADER: Final = "X-Haochaping-Signature"

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
    event = escaped(event)
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
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


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
    return clip_utf8(content, WECOM_MAX_BYTES)


def clip_utf8(text: str, max_bytes: int) -> str:
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


# ---------------------------------------------------------------------------------- escaping

# Markdown and HTML syntax both robots understand, mapped to full-width look-alikes: still
# readable in Chinese text, but no longer markup. "://" loses its colon so that a URL in a
# comment is not turned into a link.
_MARKUP = str.maketrans(
    {
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "<": "＜",
        ">": "＞",
        "*": "＊",
        "_": "＿",
        "#": "＃",
        "`": "｀",
        "!": "！",
        "|": "｜",
        "~": "～",
        "\\": "＼",
        "&": "＆",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")


def escape_markdown(text: str) -> str:
    """``text`` as plain text inside a robot's markdown: one line, no markup, no links."""
    flat = _CONTROL.sub(" ", text).translate(_MARKUP)
    return flat.replace("://", "：//")


def escaped(event: AlertEvent) -> AlertEvent:
    """A copy of ``event`` whose data (key, codes, comments) is safe in chat markdown."""
    x = event.explanation

    def codes(items: list[CodeCount]) -> list[CodeCount]:
        return [CodeCount(code=escape_markdown(i.code), count=i.count) for i in items]

    explanation = AlertExplanation(
        top_services=codes(x.top_services),
        top_channels=codes(x.top_channels),
        top_halls=codes(x.top_halls),
        top_windows=codes(x.top_windows),
        top_tags=codes(x.top_tags),
        sample_comments=[escape_markdown(c) for c in x.sample_comments],
    )
    return event.model_copy(
        update={
            "key": escape_markdown(event.key),
            "alert_id": escape_markdown(event.alert_id),
            "explanation": explanation,
        }
    )


# ---------------------------------------------------------------------------------- identity


def event_id(event: AlertEvent) -> str:
    """The same for every delivery of one alert event, also when the worker replays and
    raises it again: a receiver drops a second delivery by this id. ``alert_id|state|window
    start (epoch s)``, percent-encoded (RFC 3986) so that it is ASCII."""
    plain = f"{event.alert_id}|{event.state}|{int(event.window_start.timestamp())}"
    # percent-encoded: a header is ASCII on one line, and codes may be Chinese (市民政局)
    return urllib.parse.quote(plain, safe=":|")


def signature(secret: str, timestamp_s: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>.<body>"), as the generic format's
    ``X-Haochaping-Signature`` header; the receiver recomputes it and compares."""
    digest = hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"
