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
    raw_base64: str = Field(
        description="the original message bytes, base64 (only a prefix when raw_truncated)"
    )
    raw_scrubbed: str = Field(
        "", description="a readable copy without personal data: what ClickHouse keeps"
    )
    # Optional with defaults so that records written before they existed still parse.
    raw_size: int | None = Field(
        None, ge=0, description="size in bytes of the original message; null when unknown"
    )
    raw_truncated: bool = Field(
        False, description="raw_base64 holds only the first bytes of a message too big to keep"
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
        max_raw_bytes: int | None = None,
    ) -> Self:
        """``max_raw_bytes`` keeps only a prefix of ``raw``: a record on ``ratings.rejected``
        must stay under Kafka's message size limit whatever a producer sent."""
        kept = raw if max_raw_bytes is None else raw[:max_raw_bytes]
        return cls(
            reason=reason,
            message=message,
            raw_base64=base64.b64encode(kept).decode("ascii"),
            raw_scrubbed=raw_scrubbed,
            raw_size=len(raw),
            raw_truncated=len(kept) < len(raw),
            source_topic=source_topic,
            source_partition=source_partition,
            source_offset=source_offset,
            rejected_at=rejected_at,
        )

    def raw_bytes(self) -> bytes:
        """The original message, or its first bytes when ``raw_truncated``."""
        return base64.b64decode(self.raw_base64)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)
