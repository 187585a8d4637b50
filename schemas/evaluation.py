"""An evaluation as channels send it (``ratings.raw``) and as the pipeline keeps it
(``ratings.valid``).

Contract decisions beyond ARCHITECTURE.md's table (channel teams read these in the JSON Schema):

* Types are strict: codes, ids and names must be JSON strings (``"310101"``, not ``310101``);
  ``level``, ``evaluation_round``, ``evaluator_type`` and score values must be JSON integers —
  ``"5"``, ``5.0`` and ``true`` are rejected, so a producer bug surfaces at once instead of being
  silently reinterpreted. ``channel`` is the one exception the contract grants: a name or the
  pf code, as an integer or a numeric string.
* ``null`` is accepted for every optional field and means "absent".
* Unknown extra fields are ignored, so producers can send more than we read.
* Lengths not fixed by the contract get generous ceilings (codes/ids 128, names 256) so that
  one oversized field cannot bloat a ClickHouse row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from schemas.addresses import is_ip_address
from schemas.codes import (
    CHANNEL_BY_PF,
    REVIEW_TAGS,
    SCORE_INDICATORS,
    Channel,
    ScoreIndicator,
    is_bad,
    is_good,
)

CODE_MAX: Final = 128
NAME_MAX: Final = 256
COMMENT_MAX: Final = 2000
EVALUATION_ID_MAX: Final = 64
TRANSACTION_ID_MAX: Final = 50

Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX)]
OptCode = Annotated[str | None, Field(max_length=CODE_MAX)]
# What a code of a service item, department, hall, window, staff member or producer is made of
# (issue 29): letters, digits and _ . : -, so no free text (请回电13800138000) rides in a code
# into the counts, the public views and the dashboard. Blank optional codes stay blank.
CODE_PATTERN: Final = r"^\s*(?:[0-9A-Za-z][0-9A-Za-z_.:\-]*)?\s*$"
EntityCode = Annotated[str, Field(min_length=1, max_length=CODE_MAX, pattern=CODE_PATTERN)]
OptEntityCode = Annotated[str | None, Field(max_length=CODE_MAX, pattern=CODE_PATTERN)]
OptName = Annotated[str | None, Field(max_length=NAME_MAX)]
# Strict ints: JSON true/5.0/"5" are not levels.
LevelInt = Annotated[int, Field(ge=1, le=5, strict=True)]
ScoreValue = Annotated[int, Field(ge=1, le=5, strict=True)]

_CHANNEL_JSON_SCHEMA: Final[dict[str, Any]] = {
    "description": (
        "评价渠道: a channel name or its national pf code (1..7), as integer or numeric string: "
        + ", ".join(f"{ch.value}={ch.pf}" for ch in Channel)
    ),
    "anyOf": [
        {"type": "string", "enum": [ch.value for ch in Channel]},
        {"type": "integer", "enum": sorted(CHANNEL_BY_PF)},
        {"type": "string", "enum": [str(pf) for pf in sorted(CHANNEL_BY_PF)]},
    ],
}
_TAGS_JSON_SCHEMA: Final[dict[str, Any]] = {
    "description": "national review-tag codes; the first digit must equal level",
    "anyOf": [
        {"type": "array", "items": {"type": "string", "enum": sorted(REVIEW_TAGS)}},
        {"type": "null"},
    ],
}


CHANNEL_RULE: Final = "must be one of web, app, qrcode, counter, kiosk, hotline, sms or pf 1..7"


def parse_channel(value: object) -> Channel:
    """A channel as a raw message may send it (name, pf code, numeric string), or the
    ``unknown_channel`` error every raw message's check translates the same way."""
    try:
        return Channel.parse(value)
    except ValueError:
        raise PydanticCustomError("unknown_channel", CHANNEL_RULE) from None


class RawEvaluation(BaseModel):
    """政务服务“好差评”评价数据: one evaluation as a channel sends it on ``ratings.raw``.

    Field names follow GB/T 39046 and the provincial 好差评 interfaces. ``evaluated_at`` must
    carry a UTC offset (``2026-11-28T10:15:00+08:00``); a naive time is rejected.
    """

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        title="RawEvaluation",
    )

    evaluation_id: Annotated[
        str, Field(min_length=1, max_length=EVALUATION_ID_MAX, description="评价编号, unique")
    ]
    transaction_id: Annotated[
        str | None,
        Field(max_length=TRANSACTION_ID_MAX, description="办件编号; one evaluation per round"),
    ] = None
    evaluation_round: Annotated[
        int, Field(ge=1, le=2, strict=True, description="评价次数: 1 first, 2 follow-up (追评)")
    ] = 1
    service_code: Annotated[EntityCode, Field(description="事项(实施)编码")]
    service_name: Annotated[OptName, Field(description="事项名称")] = None
    department_code: Annotated[EntityCode, Field(description="部门/机构编码")]
    department_name: Annotated[OptName, Field(description="部门名称")] = None
    region_code: Annotated[
        str, Field(pattern=r"^[0-9]{6,12}$", description="行政区划代码, 6-12 digits")
    ]
    channel: Annotated[Channel, WithJsonSchema(_CHANNEL_JSON_SCHEMA)]
    level: Annotated[
        LevelInt,
        Field(description="5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意"),
    ]
    tags: Annotated[list[str] | None, WithJsonSchema(_TAGS_JSON_SCHEMA)] = None
    comment: Annotated[
        str | None, Field(max_length=COMMENT_MAX, description="文字评价; scrubbed on ingest")
    ] = None
    scores: Annotated[
        dict[ScoreIndicator, ScoreValue] | None,
        Field(
            description="打分评价, indicator -> 1..5: "
            + ", ".join(f"{k} ({v})" for k, v in SCORE_INDICATORS.items())
        ),
    ] = None
    evaluator_id: Annotated[
        OptCode, Field(description="评价人标识; pseudonymized on ingest, never stored raw")
    ] = None
    evaluator_type: Annotated[
        int | None, Field(ge=1, le=2, strict=True, description="1 person, 2 legal entity")
    ] = None
    device_id: Annotated[
        OptCode,
        Field(
            description="评价设备标识 (hall pad, kiosk or app install); pseudonymized on ingest, "
            "never stored raw"
        ),
    ] = None
    client_ip: Annotated[
        str | None,
        Field(
            max_length=64,
            description="IPv4 or IPv6 address of the evaluating client; cut to its /24 (IPv4) "
            "or /48 (IPv6) network and pseudonymized on ingest, never stored raw",
        ),
    ] = None
    hall_code: Annotated[OptEntityCode, Field(description="服务大厅编码")] = None
    window_code: Annotated[OptEntityCode, Field(description="窗口编码")] = None
    staff_id: Annotated[OptEntityCode, Field(description="工作人员标识")] = None
    evaluated_at: Annotated[
        AwareDatetime, Field(description="评价时间, ISO-8601 with a UTC offset")
    ]
    source: Annotated[OptEntityCode, Field(description="producer id")] = None

    @field_validator("channel", mode="before")
    @classmethod
    def _parse_channel(cls, value: object) -> Channel:
        return parse_channel(value)

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, tags: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if not tags:
            return tags
        # Absent when level itself failed: that error is reported first, no point adding one.
        level = info.data.get("level")
        for index, tag in enumerate(tags):
            known = REVIEW_TAGS.get(tag)
            if known is None:
                raise PydanticCustomError(
                    "unknown_tag",
                    "tags[{index}]: unknown review tag '{tag}'",
                    {"index": index, "tag": tag[:20]},
                )
            if level is not None and known.level != level:
                raise PydanticCustomError(
                    "tag_level_mismatch",
                    "tags[{index}]: tag {tag} belongs to level {tag_level}, not level {level}",
                    {"index": index, "tag": tag, "tag_level": known.level, "level": level},
                )
        return tags

    @field_validator("client_ip")
    @classmethod
    def _check_ip(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not is_ip_address(value.strip()):
            raise PydanticCustomError("invalid_ip", "must be an IPv4 or IPv6 address, or null")
        return value.strip()

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


def raw_evaluation_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a message on ``ratings.raw``, for channel teams."""
    schema = RawEvaluation.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "政务服务好差评 raw evaluation (ratings.raw)"
    return schema


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class Evaluation(BaseModel):
    """An accepted evaluation on ``ratings.valid``: normalized, comment scrubbed, evaluator
    pseudonymized. Built by ``streams.ingest.decision.check``; consumers read it with
    :meth:`from_json_bytes`.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    evaluation_id: str
    transaction_id: str | None = None
    evaluation_round: int = 1
    service_code: str
    service_name: str | None = None
    department_code: str
    department_name: str | None = None
    region_code: str
    channel: Channel
    channel_code: int = Field(description="national pf code of channel")
    level: LevelInt
    tags: list[str] = Field(default_factory=list, description="sorted, without duplicates")
    comment: str | None = Field(None, description="scrubbed of personal data")
    scores: dict[str, int] = Field(default_factory=dict)
    evaluator_hash: str | None = Field(None, description="HMAC-SHA256 of evaluator_id")
    evaluator_type: int | None = None
    device_hash: str | None = Field(None, description="HMAC-SHA256 of device_id")
    network_hash: str | None = Field(
        None, description="HMAC-SHA256 of client_ip's /24 (IPv4) or /48 (IPv6) network"
    )
    hall_code: str | None = None
    window_code: str | None = None
    staff_id: str | None = None
    evaluated_at: UtcDatetime
    ingested_at: UtcDatetime
    late: bool = Field(
        False,
        description="older than the short horizon (allowed_lateness_s) when ingested: counted "
        "in its day window, in no minute window",
    )
    beyond_horizon: bool = Field(
        False,
        description="older than the long horizon (late_horizon_days) when ingested: counted in "
        "no window at all (only in late_statistics)",
    )
    miskeyed: bool = Field(
        False,
        description="found outside its contract key's partition of ratings.raw (keyed by another "
        "id, or not keyed) and counted after going home through the worker's rekeyed topic",
    )
    source: str | None = None
    clock_skew_s: int = Field(
        0,
        description="evaluated_at minus the time Kafka got the message, seconds: positive when "
        "the source's clock runs ahead, negative when it is behind or the evaluation came late",
    )

    @classmethod
    def trusted(cls, **values: Any) -> Self:
        """An evaluation of values the ingest check has validated, every field given: what
        ``model_construct`` builds, without its per-field search for aliases and defaults
        (7.9 µs of the check's 38 per evaluation in a micro-benchmark, docs/benchmarks.md).
        A field left out is a TypeError, not a silent default."""
        if values.keys() != _EVALUATION_FIELDS:
            missing = sorted(_EVALUATION_FIELDS - values.keys())
            unknown = sorted(values.keys() - _EVALUATION_FIELDS)
            raise TypeError(f"Evaluation.trusted: missing {missing}, unknown {unknown}")
        evaluation = cls.__new__(cls)
        # the four attributes model_construct sets on a model without private attributes;
        # the fields in declaration order, which is the order of the JSON on ratings.valid
        fields = {name: values[name] for name in _EVALUATION_ORDER}
        object.__setattr__(evaluation, "__dict__", fields)
        object.__setattr__(evaluation, "__pydantic_fields_set__", set(fields))
        object.__setattr__(evaluation, "__pydantic_extra__", None)
        object.__setattr__(evaluation, "__pydantic_private__", None)
        return evaluation

    @property
    def is_bad(self) -> bool:
        return is_bad(self.level)

    @property
    def is_good(self) -> bool:
        return is_good(self.level)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


_EVALUATION_ORDER: Final = tuple(Evaluation.model_fields)
_EVALUATION_FIELDS: Final = frozenset(_EVALUATION_ORDER)
