"""A message that did not make it: the value on ``ratings.rejected``."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from schemas.codes import RejectReason


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class RejectedMessage(BaseModel):
    """The original bytes (base64, so any bytes survive JSON), why they were refused, and
    where they came from, so the message can be found and replayed after a fix."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reason: RejectReason
    message: str = Field(description="human-readable: the field and the rule it broke")
    raw_base64: str = Field(description="the original message bytes, base64")
    raw_scrubbed: str = Field(
        "", description="a readable copy without personal data: what ClickHouse keeps"
    )
    source_topic: str
    source_partition: int
    source_offset: int
    rejected_at: Annotated[AwareDatetime, AfterValidator(_to_utc)]

    @field_validator("raw_base64")
    @classmethod
    def _check_base64(cls, value: str) -> str:
        # Fail when the message is built, not when an analyst tries to decode it months later.
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"not valid base64: {exc}") from None
        return value

    @classmethod
    def from_raw(
        cls,
        raw: bytes,
        *,
        reason: RejectReason,
        message: str,
        source_topic: str,
        source_partition: int,
        source_offset: int,
        rejected_at: datetime,
        raw_scrubbed: str = "",
    ) -> Self:
        return cls(
            reason=reason,
            message=message,
            raw_base64=base64.b64encode(raw).decode("ascii"),
            raw_scrubbed=raw_scrubbed,
            source_topic=source_topic,
            source_partition=source_partition,
            source_offset=source_offset,
            rejected_at=rejected_at,
        )

    def raw_bytes(self) -> bytes:
        return base64.b64decode(self.raw_base64)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)
