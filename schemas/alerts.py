"""Surge alerts: the value on ``alerts.spikes`` (Kafka key: ``alert_id``).

One message per state change of an alert: ``opened`` when a key's bad reviews surge,
``updated`` now and then while the surge lasts, ``resolved`` once the key has been quiet for a
few minutes. The ClickHouse ``alerts`` table takes one row per message; the counts and the
window are those of the minute(s) that caused the message, ``started_at``,
``anomalous_minutes`` and ``peak_score`` describe the alert as a whole so far.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from runtime.clock import CHINA
from schemas.codes import CHANNEL_LABELS, REVIEW_TAGS, Channel
from schemas.dimensions import FACET_NAMES, dimension_label
from schemas.windows import known_dimension

AlertState = Literal["opened", "updated", "resolved"]

# Readers of a webhook are in China: times are shown in Beijing time (no daylight saving).
_COMMENT_CHARS = 60


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class CodeCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    count: int = Field(ge=0)


class AlertExplanation(BaseModel):
    """What the surge's bad reviews have in common, largest first (top 5 of each)."""

    model_config = ConfigDict(frozen=True)

    top_services: list[CodeCount] = Field(default_factory=list)
    top_channels: list[CodeCount] = Field(default_factory=list)
    top_halls: list[CodeCount] = Field(default_factory=list)
    top_windows: list[CodeCount] = Field(default_factory=list)
    top_tags: list[CodeCount] = Field(default_factory=list, description="review-tag codes")
    sample_comments: list[str] = Field(
        default_factory=list, max_length=3, description="scrubbed of personal data"
    )


# The explanation's fields are a contract of alerts.spikes; they must cover the facets.
assert tuple(
    name.removeprefix("top_") for name in AlertExplanation.model_fields if name.startswith("top_")
) == FACET_NAMES


class AlertEvent(BaseModel):
    """One state change of a surge alert."""

    model_config = ConfigDict(frozen=True)

    alert_id: str = Field(description="dimension:key:first window start (epoch s); stable")
    dimension: Annotated[str, AfterValidator(known_dimension)]
    key: str
    state: AlertState
    bad: int = Field(ge=0)
    total: int = Field(ge=0)
    expected: float = Field(ge=0, description="expected bad reviews in the window")
    score: float = Field(ge=0, description="-log10(p_value)")
    p_value: float = Field(ge=0, le=1)
    window_start: UtcDatetime
    window_end: UtcDatetime
    at: UtcDatetime = Field(description="when the state changed")
    explanation: AlertExplanation = Field(default_factory=AlertExplanation)
    started_at: UtcDatetime | None = Field(None, description="start of the window that opened it")
    anomalous_minutes: int = Field(1, ge=0, description="anomalous minutes so far")
    peak_score: float = Field(0.0, ge=0, description="highest score so far")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.bad > self.total:
            raise ValueError("bad must not exceed total")
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self

    def kafka_key(self) -> bytes:
        return self.alert_id.encode()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)

    def summary(self) -> str:
        """One paragraph, Chinese then English, for webhooks and chat robots."""
        zh_dim, en_dim = dimension_label(self.dimension)
        window = _span(self.window_start, self.window_end)
        if self.total:
            counts_zh = (
                f"{window}（北京时间）收到差评 {self.bad} 条，共评价 {self.total} 条"
                f"（预期差评 {self.expected:.1f} 条，显著性 {self.score:.1f}）"
            )
            counts_en = (
                f"{self.bad} bad reviews out of {self.total} evaluations in {window} "
                f"Beijing time (expected {self.expected:.1f}, score {self.score:.1f})"
            )
        else:
            # A key that went silent resolves on a minute without any evaluation.
            counts_zh = f"{window}（北京时间）无评价"
            counts_en = f"no evaluations in {window} Beijing time"
        started = _clock(self.started_at or self.window_start)
        peak = max(self.peak_score, self.score)
        if self.state == "opened":
            zh = f"【差评激增】{zh_dim} {self.key} 在 {counts_zh}。"
            en = f"Bad-review surge: {en_dim} {self.key} received {counts_en}."
        elif self.state == "updated":
            zh = (
                f"【差评激增·持续】{zh_dim} {self.key} 自 {started} 起差评激增，"
                f"已异常 {self.anomalous_minutes} 分钟（峰值显著性 {peak:.1f}）；"
                f"最新 {counts_zh}。"
            )
            en = (
                f"Bad-review surge continues: {en_dim} {self.key}, since {started}, "
                f"{self.anomalous_minutes} anomalous minutes (peak score {peak:.1f}); "
                f"latest: {counts_en}."
            )
        else:
            zh = (
                f"【差评激增·已恢复】{zh_dim} {self.key} 自 {started} 起的差评激增已恢复"
                f"（异常 {self.anomalous_minutes} 分钟，峰值显著性 {self.peak_score:.1f}）；"
                f"{counts_zh}。"
            )
            en = (
                f"Bad-review surge resolved: {en_dim} {self.key}, started {started}, "
                f"{self.anomalous_minutes} anomalous minutes (peak score {self.peak_score:.1f}); "
                f"now {counts_en}."
            )
        details_zh, details_en = _explain(self.explanation)
        return " ".join(
            part for part in (zh + details_zh, en + details_en, f"[{self.alert_id}]") if part
        )


def _clock(value: datetime) -> str:
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _span(start: datetime, end: datetime) -> str:
    start_local, end_local = start.astimezone(CHINA), end.astimezone(CHINA)
    end_format = "%H:%M" if start_local.date() == end_local.date() else "%Y-%m-%d %H:%M"
    return f"{start_local:%Y-%m-%d %H:%M}–{end_local.strftime(end_format)}"


def _channel(code: str) -> Channel | None:
    try:
        return Channel.parse(int(code) if code.isdigit() else code)
    except ValueError:
        return None


def _channel_label(code: str) -> str:
    channel = _channel(code)
    return f"{CHANNEL_LABELS[channel]}({channel.value})" if channel else code


def _channel_name(code: str) -> str:
    channel = _channel(code)
    return channel.value if channel else code


def _tag_label(code: str) -> str:
    tag = REVIEW_TAGS.get(code)
    return f"{code} {tag.label}" if tag else code


def _explain(explanation: AlertExplanation) -> tuple[str, str]:
    rows = (
        ("主要事项", "top services", explanation.top_services, str, str),
        ("渠道", "channels", explanation.top_channels, _channel_label, _channel_name),
        ("大厅", "halls", explanation.top_halls, str, str),
        ("窗口", "windows", explanation.top_windows, str, str),
        ("标签", "tags", explanation.top_tags, _tag_label, str),
    )
    zh_parts, en_parts = [], []
    for zh_name, en_name, items, zh_label, en_label in rows:
        if not items:
            continue
        zh_parts.append(
            f"{zh_name}：" + "、".join(f"{zh_label(i.code)} {i.count} 条" for i in items)
        )
        en_parts.append(
            f"{en_name}: " + ", ".join(f"{en_label(i.code)} ({i.count})" for i in items)
        )
    comments = [_shorten(c) for c in explanation.sample_comments]
    if comments:
        zh_parts.append("样例评论：" + "；".join(f"“{c}”" for c in comments))
        en_parts.append("sample comments: " + "; ".join(f'"{c}"' for c in comments))
    zh = "；".join(zh_parts) + "。" if zh_parts else ""
    en = "; ".join(en_parts) + "." if en_parts else ""
    return zh, " " + en[:1].upper() + en[1:] if en else ""


def _shorten(comment: str) -> str:
    flat = " ".join(comment.split())
    return flat if len(flat) <= _COMMENT_CHARS else flat[: _COMMENT_CHARS - 1] + "…"
