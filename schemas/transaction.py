"""A completed transaction (办件) as a business system sends it (``transactions.done``) and as
the pipeline keeps it (``transactions.valid``): what 评价率 is counted against (issue 28).

Contract decisions (channel and business-system teams read these in the JSON Schema):

* One record per transaction: ``transaction_id`` is the 办件编号 an evaluation of it carries,
  and the record's Kafka key should be it (correctness does not depend on the key: the
  ClickHouse table keeps one row per ``transaction_id``, however often it is sent).
* The same strict types as ``ratings.raw``: codes are JSON strings matching the code pattern,
  ``channel`` a name or pf code, ``completed_at`` an ISO-8601 time with a UTC offset.
* **No applicant data.** The contract has no field for the applicant (申请人) and unknown
  fields are ignored, so a name, ID number or phone number a system sends beside them is never
  read, kept or forwarded; names of service items and departments come from the catalogue when
  the code is known, otherwise they are scrubbed like a comment.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from schemas.codes import Channel
from schemas.evaluation import (
    _CHANNEL_JSON_SCHEMA,
    CODE_PATTERN,
    TRANSACTION_ID_MAX,
    EntityCode,
    OptEntityCode,
    OptName,
    UtcDatetime,
    parse_channel,
)


class Stage(StrEnum):
    """办件 stage the record reports. 好差评 rates every stage (事前咨询, 事中受理, 事后办结),
    so a business system may report each one a citizen can rate; the default is 办结."""

    CONSULTATION = "consultation"  # 咨询
    ACCEPTANCE = "acceptance"  # 受理
    COMPLETION = "completion"  # 办结


TransactionId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=TRANSACTION_ID_MAX,
        pattern=CODE_PATTERN,
        description="办件编号: the transaction_id its evaluations carry",
    ),
]


class RawTransaction(BaseModel):
    """办件信息: one completed transaction as a business system sends it on
    ``transactions.done``. ``completed_at`` must carry a UTC offset."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, title="RawTransaction")

    transaction_id: TransactionId
    service_code: Annotated[EntityCode, Field(description="事项(实施)编码")]
    service_name: Annotated[OptName, Field(description="事项名称")] = None
    department_code: Annotated[EntityCode, Field(description="部门/机构编码")]
    department_name: Annotated[OptName, Field(description="部门名称")] = None
    region_code: Annotated[
        str, Field(pattern=r"^[0-9]{6,12}$", description="行政区划代码, 6-12 digits")
    ]
    channel: Annotated[Channel, WithJsonSchema(_CHANNEL_JSON_SCHEMA)]
    hall_code: Annotated[OptEntityCode, Field(description="服务大厅编码")] = None
    window_code: Annotated[OptEntityCode, Field(description="窗口编码")] = None
    staff_id: Annotated[OptEntityCode, Field(description="工作人员标识")] = None
    stage: Annotated[
        Stage, Field(description="办件环节: consultation 咨询, acceptance 受理, completion 办结")
    ] = Stage.COMPLETION
    completed_at: Annotated[
        AwareDatetime, Field(description="办结时间, ISO-8601 with a UTC offset")
    ]
    source: Annotated[OptEntityCode, Field(description="producer id")] = None

    @field_validator("channel", mode="before")
    @classmethod
    def _parse_channel(cls, value: object) -> Channel:
        return parse_channel(value)

    @field_validator("stage", mode="before")
    @classmethod
    def _parse_stage(cls, value: object) -> Stage:
        # strict mode refuses a str for an enum field; null means absent, like everywhere
        if value is None:
            return Stage.COMPLETION
        try:
            return Stage(value)  # type: ignore[arg-type]
        except ValueError:
            raise PydanticCustomError(
                "unknown_stage", "must be consultation, acceptance or completion"
            ) from None


class Transaction(BaseModel):
    """A checked 办件 on ``transactions.valid``: names from the catalogue or scrubbed, blank
    optional codes as null, times in UTC. Built by ``streams.transactions.decision.check``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    transaction_id: str
    service_code: str
    service_name: str | None = None
    department_code: str
    department_name: str | None = None
    region_code: str
    channel: Channel
    channel_code: int = Field(description="national pf code of channel")
    hall_code: str | None = None
    window_code: str | None = None
    staff_id: str | None = None
    stage: Stage = Stage.COMPLETION
    completed_at: UtcDatetime
    ingested_at: UtcDatetime
    source: str | None = None

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


def raw_transaction_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a message on ``transactions.done``."""
    schema = RawTransaction.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "政务服务办件 completed transaction (transactions.done)"
    return schema
