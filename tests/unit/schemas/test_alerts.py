from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.alerts import AlertEvent, AlertExplanation, CodeCount

# 10:05 in Beijing.
START = datetime(2025, 11, 28, 2, 5, tzinfo=UTC)


def event(**overrides: Any) -> AlertEvent:
    values: dict[str, Any] = {
        "alert_id": f"department:310101001:{int(START.timestamp())}",
        "dimension": "department",
        "key": "310101001",
        "state": "opened",
        "bad": 23,
        "total": 41,
        "expected": 1.23,
        "score": 14.72,
        "p_value": 1.9e-15,
        "window_start": START,
        "window_end": START + timedelta(minutes=1),
        "at": START + timedelta(minutes=1, seconds=7),
        "explanation": AlertExplanation(
            top_services=[CodeCount(code="11310101001", count=15), CodeCount(code="S2", count=3)],
            top_channels=[CodeCount(code="app", count=12), CodeCount(code="4", count=6)],
            top_halls=[CodeCount(code="H01", count=9)],
            top_windows=[CodeCount(code="W12", count=8)],
            top_tags=[CodeCount(code="213", count=8), CodeCount(code="999", count=1)],
            sample_comments=["排队两个小时还没办好", "窗口人员" * 30],
        ),
        "started_at": START,
        "anomalous_minutes": 1,
        "peak_score": 14.72,
    }
    values.update(overrides)
    return AlertEvent(**values)


def test_round_trips_through_json_bytes() -> None:
    original = event()
    data = original.to_json_bytes()
    assert isinstance(data, bytes)
    assert AlertEvent.from_json_bytes(data) == original
    assert AlertEvent.from_json_bytes(data.decode()) == original
    assert original.kafka_key() == original.alert_id.encode()


def test_times_are_aware_and_stored_in_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    shifted = event(window_start=START.astimezone(beijing))
    assert shifted.window_start == START and shifted.window_start.tzinfo == UTC
    with pytest.raises(ValidationError):
        event(at=datetime(2025, 11, 28, 2, 6))


@pytest.mark.parametrize(
    "overrides",
    [
        {"bad": 50},  # more bad than total
        {"window_end": START},
        {"state": "closed"},
        {"p_value": 1.5},
        {"dimension": "street"},  # not a dimension (hall became one)
        {"explanation": {"sample_comments": ["a", "b", "c", "d"]}},
    ],
)
def test_rejects_inconsistent_events(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        event(**overrides)


def test_summary_of_an_opened_alert() -> None:
    text = event().summary()
    assert "\n" not in text
    assert text.startswith("【差评激增】部门 310101001 在 2025-11-28 10:05–10:06（北京时间）")
    assert "收到差评 23 条，共评价 41 条（预期差评 1.2 条，显著性 14.7）" in text
    assert "主要事项：11310101001 15 条、S2 3 条" in text
    assert "移动端(app) 12 条" in text and "政务服务评价器(窗口平板)(counter) 6 条" in text
    assert "213 窗口人员业务不熟练 8 条" in text and "999 1 条" in text
    assert "“排队两个小时还没办好”" in text
    assert "窗口人员" * 30 not in text and "…" in text  # long comments are shortened
    assert "Bad-review surge: department 310101001 received 23 bad reviews out of 41" in text
    assert "(expected 1.2, score 14.7)" in text
    assert "channels: app (12), counter (6)" in text
    assert text.endswith(f"[department:310101001:{int(START.timestamp())}]")


def test_summary_of_updated_and_resolved_alerts() -> None:
    later = START + timedelta(minutes=7)
    updated = event(
        state="updated",
        window_start=later,
        window_end=later + timedelta(minutes=1),
        anomalous_minutes=8,
        peak_score=20.0,
    ).summary()
    assert updated.startswith("【差评激增·持续】部门 310101001 自 2025-11-28 10:05 起")
    assert "已异常 8 分钟（峰值显著性 20.0）" in updated
    assert "最新 2025-11-28 10:12–10:13" in updated
    assert "Bad-review surge continues" in updated

    resolved = event(
        state="resolved",
        bad=0,
        total=0,
        expected=0.0,
        score=0.0,
        p_value=1.0,
        window_start=later,
        window_end=later + timedelta(minutes=1),
        explanation=AlertExplanation(),
        dimension="service",
        anomalous_minutes=6,
        peak_score=20.0,
    ).summary()
    assert resolved.startswith(
        "【差评激增·已恢复】事项 310101001 自 2025-11-28 10:05 起的差评激增已恢复"
    )
    assert "Bad-review surge resolved: service item 310101001" in resolved
    assert "2025-11-28 10:12–10:13（北京时间）无评价" in resolved
    assert "now no evaluations in 2025-11-28 10:12–10:13 Beijing time" in resolved
    assert "样例评论" not in resolved
