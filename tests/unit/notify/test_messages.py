"""The bodies and headers a webhook receives: formats, escaping, event ids, signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify.messages import (
    FORMATS,
    WECOM_MAX_BYTES,
    escape_markdown,
    escaped,
    event_id,
    render,
    signature,
)
from schemas.alerts import AlertEvent, CodeCount
from tests.alert_events import sample_alert as event

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


def test_formats() -> None:
    assert FORMATS == ("generic", "dingtalk", "wecom")


# ---------------------------------------------------------------------------------- escaping

HOSTILE = "差[点我](http://evil.example/x)<font color=red>!</font>\n# 标题 *粗* `码`\u202e|~\\"


@pytest.mark.parametrize("fmt", ["dingtalk", "wecom"])
def test_data_cannot_add_markup_to_a_chat_message(fmt: str) -> None:
    e = event(key="D1](http://evil.example)", comment=HOSTILE)
    e = e.model_copy(
        update={
            "explanation": e.explanation.model_copy(
                update={"top_services": [CodeCount(code="<b>S1</b>", count=3)]}
            )
        }
    )
    text = json.dumps(render(e, fmt), ensure_ascii=False)
    for markup in ("](", "http://", "<font color=red>", "<b>", "\u202e", "# 标题", "`码`"):
        assert markup not in text, markup
    assert "点我" in text and "标题" in text  # the words are still there to read


def test_generic_body_is_not_escaped() -> None:
    # the generic body is the event itself; its receiver renders it as it sees fit
    e = event(comment=HOSTILE)
    assert render(e, "generic")["explanation"]["sample_comments"] == [HOSTILE]


@given(st.text(max_size=300))
def test_escaped_text_has_no_markup_and_one_line(text: str) -> None:
    out = escape_markdown(text)
    assert not set(out) & set("[]()<>*_#`!|~\\&\n\r")
    assert "://" not in out


def test_escaping_keeps_the_numbers() -> None:
    e = escaped(event())
    assert e.bad == 20 and e.total == 50 and e.key == "D1"


# ---------------------------------------------------------------------------------- identity


def test_event_id_is_stable_and_tells_events_apart() -> None:
    assert event_id(event("opened")) == event_id(event("opened"))
    assert event_id(event("opened")) != event_id(event("resolved"))
    later = event("updated").model_copy(
        update={"window_start": datetime(2025, 11, 28, 3, 30, tzinfo=UTC)}
    )
    assert event_id(event("updated")) != event_id(later)


def test_signature_is_hmac_sha256_of_timestamp_and_body() -> None:
    body = event().to_json_bytes()
    expected = hmac.new(b"k" * 32, b"1764300000." + body, hashlib.sha256).hexdigest()
    assert signature("k" * 32, 1764300000, body) == f"sha256={expected}"
    assert signature("k" * 32, 1764300001, body) != signature("k" * 32, 1764300000, body)
