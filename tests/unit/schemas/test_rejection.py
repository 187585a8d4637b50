from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from schemas.codes import RejectReason
from schemas.rejection import RejectedMessage

AT = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)


def make(raw: bytes, max_raw_bytes: int | None = None) -> RejectedMessage:
    return RejectedMessage.from_raw(
        raw,
        reason=RejectReason.NOT_JSON,
        message="not valid JSON",
        source_topic="ratings.raw",
        source_partition=1,
        source_offset=2,
        rejected_at=AT,
        max_raw_bytes=max_raw_bytes,
    )


def test_from_raw_records_the_size() -> None:
    msg = make(b"abc")
    assert (msg.raw_size, msg.raw_truncated) == (3, False)
    assert msg.raw_bytes() == b"abc"


def test_from_raw_keeps_a_prefix_of_a_big_message() -> None:
    msg = make(b"x" * 1000, max_raw_bytes=100)
    assert msg.raw_bytes() == b"x" * 100
    assert (msg.raw_size, msg.raw_truncated) == (1000, True)
    back = RejectedMessage.from_json_bytes(msg.to_json_bytes())
    assert back == msg


def test_a_message_at_the_bound_is_not_truncated() -> None:
    msg = make(b"x" * 100, max_raw_bytes=100)
    assert (msg.raw_size, msg.raw_truncated) == (100, False)


def test_records_written_before_the_size_fields_still_parse() -> None:
    old = {
        "reason": "not_json",
        "message": "not valid JSON",
        "raw_base64": base64.b64encode(b"{").decode(),
        "raw_scrubbed": "{",
        "source_topic": "ratings.raw",
        "source_partition": 0,
        "source_offset": 7,
        "rejected_at": "2026-11-28T11:00:00Z",
    }
    back = RejectedMessage.from_json_bytes(json.dumps(old).encode())
    assert back.raw_size is None
    assert back.raw_truncated is False
    assert back.raw_bytes() == b"{"


def test_internal_error_is_a_reason_records_can_carry() -> None:
    msg = RejectedMessage.from_raw(
        b"x",
        reason=RejectReason.INTERNAL_ERROR,
        message="internal error: RecursionError",
        source_topic="ratings.raw",
        source_partition=0,
        source_offset=0,
        rejected_at=AT,
    )
    assert json.loads(msg.to_json_bytes())["reason"] == "internal_error"
    assert "/" in RejectReason.INTERNAL_ERROR.description
