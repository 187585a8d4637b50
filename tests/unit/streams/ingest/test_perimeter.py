from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.codes import RejectReason
from schemas.evaluation import Evaluation
from schemas.rejection import RejectedMessage
from streams.ingest import perimeter
from streams.ingest.decision import Accepted, Rejected
from streams.ingest.perimeter import (
    MAX_MESSAGE_CHARS,
    MAX_RECORD_BYTES,
    MAX_REJECTED_RAW_BYTES,
    AcceptedBytes,
    accepted_record,
    decide,
    event_time,
    rejection_record,
)

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SECRET = b"test-secret"
ID_NUMBER = "110105194912310021"


def valid() -> dict[str, Any]:
    return {
        "evaluation_id": "E20261128000001",
        "transaction_id": "T310101202611280001",
        "service_code": "11310000002421213T3310117002000",
        "service_name": "居民身份证换领",
        "department_code": "SH-GA-001",
        "region_code": "310101",
        "channel": "counter",
        "level": 1,
        "tags": ["115"],
        "comment": "等了两小时",
        "evaluator_id": "U-ZHANGSAN-0001",
        "evaluated_at": "2026-11-28T10:15:00+08:00",
    }


def encode(doc: Any, *, ensure_ascii: bool = False) -> bytes:
    # surrogatepass: lets a test put a lone surrogate into the bytes as a producer could.
    return json.dumps(doc, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")


def run(raw: bytes | None) -> AcceptedBytes | Rejected:
    return decide(raw, now=NOW, secret=SECRET, clock_skew_s=300, allowed_lateness_s=3600)


def record(raw: bytes | None, outcome: Rejected, **overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "reason": outcome.reason,
        "message": outcome.message,
        "source_topic": "ratings.raw",
        "source_partition": 3,
        "source_offset": 1234,
        "rejected_at": NOW,
        "secret": SECRET,
    }
    return rejection_record(raw, **(args | overrides))


def decided_and_recorded(raw: bytes | None) -> tuple[Rejected, RejectedMessage, bytes]:
    outcome = run(raw)
    assert isinstance(outcome, Rejected), outcome
    assert outcome.message
    data = record(raw, outcome)
    assert len(data) <= MAX_RECORD_BYTES
    back = RejectedMessage.from_json_bytes(data)
    assert back.source_topic == "ratings.raw"
    assert (back.source_partition, back.source_offset) == (3, 1234)
    return outcome, back, data


# --- the poison kinds ----------------------------------------------------------------------


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("text", ["\ud800", "a\udc00b", "好\udbff", "\udc00\ud800"])
def test_lone_surrogate_is_rejected_and_recorded(text: str, ensure_ascii: bool) -> None:
    # Escaped ("\ud800") it is refused by the JSON parser; as raw bytes (ED A0 80) it is not
    # UTF-8. Either way no string that UTF-8 cannot encode gets near a serialiser.
    raw = encode(valid() | {"comment": text}, ensure_ascii=ensure_ascii)
    outcome, back, _ = decided_and_recorded(raw)
    expected = RejectReason.NOT_JSON if ensure_ascii else RejectReason.NOT_UTF8
    assert outcome.reason is expected, outcome.message
    assert back.reason is expected
    assert back.raw_bytes() == raw
    back.raw_scrubbed.encode("utf-8")


def test_lone_surrogate_in_an_ignored_field_is_recorded() -> None:
    # The readable copy comes from json.loads, which keeps lone surrogates: the record must
    # still serialise (this is what raised before).
    raw = encode(valid() | {"extra": "a\ud800b", "level": 9}, ensure_ascii=True)
    outcome, back, data = decided_and_recorded(raw)
    assert outcome.reason in (RejectReason.NOT_JSON, RejectReason.INVALID_LEVEL)
    data.decode("utf-8")
    assert back.raw_bytes() == raw


@pytest.mark.parametrize("opening", ["[", '{"a":'])
@pytest.mark.parametrize("closed", [False, True])
def test_1000_deep_nesting_is_rejected_and_recorded(opening: str, closed: bool) -> None:
    text = opening * 1000
    if closed:
        text += "0" + ("]" if opening == "[" else "}") * 1000
    raw = text.encode()
    outcome, back, _ = decided_and_recorded(raw)
    assert outcome.reason is RejectReason.NOT_JSON
    # The scrubber may not manage the depth; the record then says so and keeps the bytes.
    assert back.reason in (RejectReason.NOT_JSON, RejectReason.INTERNAL_ERROR)
    if back.reason is RejectReason.INTERNAL_ERROR:
        assert back.raw_scrubbed == ""
        assert "not_json" in back.message
    assert back.raw_bytes() == raw


def test_nesting_inside_a_field_is_rejected_and_recorded() -> None:
    raw = encode(valid()).replace(b'"tags": ["115"]', b'"tags": ' + b"[" * 1000 + b"]" * 1000)
    outcome, back, _ = decided_and_recorded(raw)
    assert outcome.reason is RejectReason.NOT_JSON
    assert back.raw_bytes() == raw


@pytest.mark.parametrize(
    "raw",
    [
        encode(valid() | {"comment": "投诉" * 400_000}),
        encode(valid() | {"padding": "x" * 800_000}),
        b"\x00" * 800_000,
        b"[" * 800_000,
    ],
    ids=["long-comment", "ignored-field", "nul-bytes", "brackets"],
)
def test_an_800_kb_message_is_kept_as_a_prefix(raw: bytes) -> None:
    assert len(raw) >= 800_000
    outcome = run(raw)
    if isinstance(outcome, Accepted):
        # Only the ignored field can make a message this big and valid.
        assert b"padding" in raw
        assert len(outcome.value) < 2000
        outcome = Rejected(RejectReason.DUPLICATE_TRANSACTION, "rejected later by the worker")
    data = record(raw, outcome)
    assert len(data) <= MAX_RECORD_BYTES
    back = RejectedMessage.from_json_bytes(data)
    assert back.raw_size == len(raw)
    assert back.raw_truncated is True
    assert back.raw_bytes() == raw[:MAX_REJECTED_RAW_BYTES]
    assert len(back.raw_scrubbed.encode()) <= MAX_REJECTED_RAW_BYTES


@pytest.mark.timeout(30)
def test_the_comment_that_made_the_scrubber_slow() -> None:
    raw = encode(valid() | {"comment": "电话" + "\u3000" * 2000})
    outcome, back, _ = decided_and_recorded(raw)
    assert outcome.reason is RejectReason.FIELD_TOO_LONG
    assert back.reason in (RejectReason.FIELD_TOO_LONG, RejectReason.INTERNAL_ERROR)
    assert back.raw_bytes() == raw


# --- decide ----------------------------------------------------------------------------------


def test_decide_hands_back_the_serialised_evaluation() -> None:
    outcome = run(encode(valid()))
    assert isinstance(outcome, AcceptedBytes)
    assert isinstance(outcome, Accepted)
    assert outcome.value == outcome.evaluation.to_json_bytes()
    assert Evaluation.from_json_bytes(outcome.value) == outcome.evaluation


def test_decide_passes_rejections_through() -> None:
    outcome = run(encode(valid() | {"level": 9}))
    assert isinstance(outcome, Rejected)
    assert outcome.reason is RejectReason.INVALID_LEVEL


@pytest.mark.parametrize("raw", [None, b"", bytearray(b"{}"), memoryview(b"[1]")])
def test_decide_takes_tombstones_and_buffers(raw: Any) -> None:
    outcome = run(raw)
    assert isinstance(outcome, Rejected)
    data = record(raw, outcome)
    assert RejectedMessage.from_json_bytes(data).raw_bytes() == bytes(raw or b"")


class Weird(BaseException):
    """Neither an Exception nor a request to stop."""


@pytest.mark.parametrize("exc", [RecursionError, MemoryError, ValueError, Weird])
def test_a_failing_check_becomes_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]
) -> None:
    def broken(raw: bytes, **_: Any) -> Accepted | Rejected:
        raise exc("the message text: " + ID_NUMBER)

    monkeypatch.setattr(perimeter, "check", broken)
    outcome = run(encode(valid()))
    assert outcome == Rejected(RejectReason.INTERNAL_ERROR, f"internal error: {exc.__name__}")


def test_an_unserialisable_evaluation_becomes_an_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: Evaluation) -> bytes:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(Evaluation, "to_json_bytes", broken)
    outcome = run(encode(valid()))
    assert outcome == Rejected(RejectReason.INTERNAL_ERROR, "internal error: UnicodeEncodeError")


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_requests_to_stop_pass_through(monkeypatch: pytest.MonkeyPatch, exc: type) -> None:
    def stop(raw: bytes, **_: Any) -> Accepted | Rejected:
        raise exc()

    monkeypatch.setattr(perimeter, "check", stop)
    with pytest.raises(exc):
        run(encode(valid()))


def test_cancellation_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def cancelled(*_: Any, **__: Any) -> Any:
        raise asyncio.CancelledError()

    monkeypatch.setattr(perimeter, "check", cancelled)
    with pytest.raises(asyncio.CancelledError):
        run(encode(valid()))
    monkeypatch.setattr(perimeter, "scrub_raw", cancelled)
    with pytest.raises(asyncio.CancelledError):
        record(b"x", Rejected(RejectReason.NOT_JSON, "m"))


def test_accepted_record(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = run(encode(valid()))
    assert isinstance(outcome, Accepted)
    assert accepted_record(outcome.evaluation) == outcome.evaluation.to_json_bytes()

    def broken(self: Evaluation) -> bytes:
        raise RecursionError

    monkeypatch.setattr(Evaluation, "to_json_bytes", broken)
    assert accepted_record(outcome.evaluation) is None


# --- rejection_record ------------------------------------------------------------------------

REJECTED = Rejected(RejectReason.INVALID_LEVEL, "level: must be an integer 1..5, got integer")


def test_record_round_trips_with_its_size() -> None:
    raw = encode(valid() | {"level": 9})
    back = RejectedMessage.from_json_bytes(record(raw, REJECTED))
    assert back.reason is RejectReason.INVALID_LEVEL
    assert back.message == REJECTED.message
    assert back.raw_bytes() == raw
    assert (back.raw_size, back.raw_truncated) == (len(raw), False)
    assert back.rejected_at == NOW
    assert "U-ZHANGSAN-0001" not in back.raw_scrubbed


def test_a_long_message_is_cut() -> None:
    data = record(b"x", Rejected(RejectReason.NOT_JSON, "m" * 1_000_000))
    back = RejectedMessage.from_json_bytes(data)
    assert len(back.message) == MAX_MESSAGE_CHARS
    assert back.message.endswith("…")


def test_an_empty_message_gets_the_reason_description() -> None:
    back = RejectedMessage.from_json_bytes(record(b"x", Rejected(RejectReason.NOT_JSON, "")))
    assert back.message == RejectReason.NOT_JSON.description


def test_surrogates_in_the_arguments_are_written_escaped() -> None:
    data = record(b"x", Rejected(RejectReason.NOT_JSON, "a\ud800"), source_topic="t\udfff")
    back = RejectedMessage.from_json_bytes(data)
    assert back.message == "a\\ud800"
    assert back.source_topic == "t\\udfff"


def test_a_copy_of_control_characters_is_shortened_to_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each control character becomes six bytes of JSON (\u0001).
    monkeypatch.setattr(perimeter, "scrub_raw", lambda raw, secret: "\x01" * 60_000)
    data = record(b"\x01" * 100_000, REJECTED)
    assert len(data) <= MAX_RECORD_BYTES
    back = RejectedMessage.from_json_bytes(data)
    assert back.reason is RejectReason.INVALID_LEVEL
    assert 0 < len(back.raw_scrubbed) < 60_000


@pytest.mark.parametrize("exc", [RecursionError, MemoryError, Weird])
def test_a_failing_scrubber_falls_back_to_internal_error(
    monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]
) -> None:
    def broken(raw: bytes, secret: bytes) -> str:
        raise exc(ID_NUMBER)

    monkeypatch.setattr(perimeter, "scrub_raw", broken)
    raw = encode(valid() | {"level": 9, "hall_code": ID_NUMBER})
    back = RejectedMessage.from_json_bytes(record(raw, REJECTED))
    assert back.reason is RejectReason.INTERNAL_ERROR
    assert exc.__name__ in back.message and "invalid_level" in back.message
    assert ID_NUMBER not in back.message
    assert back.raw_scrubbed == ""
    assert back.raw_bytes() == raw
    assert (back.source_partition, back.source_offset) == (3, 1234)


def test_a_failing_serialiser_falls_back_to_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = RejectedMessage.to_json_bytes
    calls: list[str] = []

    def fails_once(self: RejectedMessage) -> bytes:
        calls.append(self.reason)
        if len(calls) == 1:
            raise ValueError("boom")
        return real(self)

    monkeypatch.setattr(RejectedMessage, "to_json_bytes", fails_once)
    back = RejectedMessage.from_json_bytes(record(b"{}", REJECTED))
    assert back.reason is RejectReason.INTERNAL_ERROR
    assert back.message.startswith("internal error: ValueError while serialising")
    assert back.raw_scrubbed == ""


def test_when_everything_fails_the_last_resort_still_parses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: RejectedMessage) -> bytes:
        raise MemoryError

    monkeypatch.setattr(RejectedMessage, "to_json_bytes", broken)
    raw = b"y" * 100_000
    data = record(raw, REJECTED)
    back = RejectedMessage.from_json_bytes(data)
    assert back.reason is RejectReason.INTERNAL_ERROR
    assert back.raw_bytes() == raw[:MAX_REJECTED_RAW_BYTES]
    assert (back.raw_size, back.raw_truncated) == (len(raw), True)
    assert len(data) <= MAX_RECORD_BYTES


@pytest.mark.parametrize(
    "overrides",
    [
        {"rejected_at": datetime(2026, 11, 28, 3, 0)},
        {"rejected_at": None},
        {"reason": "no such reason"},
        {"message": None},
        {"source_topic": None},
        {"source_partition": "three"},
        {"source_offset": None},
        {"secret": None},
    ],
)
def test_wrong_arguments_never_raise(overrides: dict[str, Any]) -> None:
    data = record(b'{"level": 9}', REJECTED, **overrides)
    back = RejectedMessage.from_json_bytes(data)
    assert base64.b64decode(back.raw_base64) == b'{"level": 9}'
    assert back.rejected_at.tzinfo is not None
    if "rejected_at" in overrides and overrides["rejected_at"] is not None:
        # A naive time is taken as UTC rather than losing the record over it.
        assert back.rejected_at == NOW


# --- event_time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (NOW.timestamp(), NOW),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (-0.001, datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        (2**63 / 1000, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (1e300, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (float("inf"), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (-(2**63) / 1000, datetime(1970, 1, 1, tzinfo=UTC)),
        (float("-inf"), datetime(1970, 1, 1, tzinfo=UTC)),
        (float("nan"), datetime(1970, 1, 1, tzinfo=UTC)),
        (None, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_event_time_never_raises(timestamp: Any, expected: datetime) -> None:
    # A producer chooses the CreateTime: the worker must get a datetime for any of them, and
    # both decide and rejection_record must take it.
    at = event_time(timestamp)
    assert at == expected
    outcome = decide(encode(valid()), now=at, secret=SECRET, clock_skew_s=300, allowed_lateness_s=0)
    assert isinstance(outcome, AcceptedBytes | Rejected)
    data = record(b"x", Rejected(RejectReason.NOT_JSON, "m"), rejected_at=at)
    assert RejectedMessage.from_json_bytes(data).rejected_at == at
