"""主动邀评: a 办件 nobody rated within ``invitation_after_hours`` of its 办结, on
``invitations`` for the SMS channel (issue 28). It carries what the channel needs to find the
applicant in its own business system (the 办件编号) and what analysts count by, never the
applicant's contact data: haochaping has none."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict

from schemas.evaluation import UtcDatetime


class Invitation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    transaction_id: str
    service_code: str
    department_code: str
    region_code: str
    channel: str
    hall_code: str | None = None
    window_code: str | None = None
    completed_at: UtcDatetime
    due_at: UtcDatetime
    invited_at: UtcDatetime

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)
