"""A flagged evaluation on ``ratings.suspect``: why it looks fake or malicious, and how much.

One event per evaluation and verdict: when a later evaluation adds a reason (a flood crosses
its limit, a burst grows), the evaluation's event is sent again with every reason so far and a
higher ``version`` (the number of reasons); ClickHouse keeps the highest. A replay sends the
same events again, which land as the same rows.
"""

from __future__ import annotations

from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class SuspectEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    evaluation_id: str
    reasons: list[str] = Field(description="sorted reason codes (docs/analyst-guide.md)")
    score: float = Field(ge=0, le=1, description="1 - Π(1 - weight of each reason)")
    evidence: dict[str, str] = Field(description="reason → why, in words")
    version: int = Field(ge=1, description="the number of reasons: a verdict only grows")
    department_code: str
    service_code: str
    channel: str
    level: int
    hall_code: str = ""
    window_code: str = ""
    staff_id: str = ""
    evaluator_hash: str = ""
    device_hash: str = ""
    network_hash: str = ""
    evaluated_at: AwareDatetime

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)
