"""What the worker says of a 办件 nobody rated (issue 28), never with the applicant's contact
data: haochaping has none.

- 主动邀评 (:class:`Invitation`): ``invitation_after_hours`` after its 办结, on
  ``invitations`` for the SMS channel, with what the channel needs to find the applicant in its
  own business system (the 办件编号) and what analysts count by.
- 默认评价 (:class:`DefaultRating`): ``default_rating_after_days`` after its 办结 when that
  setting is on (Guangdong: 7 natural days → 基本满意), on ``ratings.default``. A default rating
  is not an evaluation: it never enters ``ratings.valid``, the raw or the official 好评率, and
  ClickHouse counts it apart (``default_ratings``, ``default_ratings_daily``)."""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import BaseModel, ConfigDict

from schemas.evaluation import UtcDatetime

# 基本满意 on the five-level scale, as Guangdong's rule gives
DEFAULT_LEVEL: Final = 3


class _Unrated(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    transaction_id: str
    service_code: str
    department_code: str
    region_code: str
    channel: str
    hall_code: str | None = None
    window_code: str | None = None
    completed_at: UtcDatetime

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


class Invitation(_Unrated):
    due_at: UtcDatetime
    invited_at: UtcDatetime


class DefaultRating(_Unrated):
    level: Literal[3] = DEFAULT_LEVEL
    defaulted_at: UtcDatetime
