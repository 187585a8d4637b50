from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.cases import CaseEvent, CaseWarning, parse_case_event, warning_key
from schemas.codes import RejectReason

NOTE = "已电话回访张三 13812345678"


def opened(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "case_id": "E20260930000001",
        "event": "opened",
        "at": "2026-09-30T10:20:00+08:00",
        "department_code": "SH-GA-001",
        "service_code": "11310000002421213T3310117002000",
        "level": 1,
        "evaluated_at": "2026-09-30T10:15:00+08:00",
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def rejected(event: dict[str, Any] | bytes) -> tuple[RejectReason, str]:
    out = parse_case_event(event if isinstance(event, bytes) else raw(event))
    assert isinstance(out, tuple), out
    return out


def test_opened_is_parsed_and_normalized_to_utc() -> None:
    event = parse_case_event(raw(opened()))
    assert isinstance(event, CaseEvent)
    assert event.at == datetime(2026, 9, 30, 2, 20, tzinfo=UTC)
    assert event.at.tzinfo is UTC
    assert event.evaluated_at == datetime(2026, 9, 30, 2, 15, tzinfo=UTC)
    assert CaseEvent.from_json_bytes(event.to_json_bytes()) == event
    assert event.kafka_key() == b"E20260930000001"


def test_step_needs_no_evaluation_fields() -> None:
    event = parse_case_event(
        raw(
            {
                "case_id": "E1",
                "event": "called_back",
                "at": "2026-10-08T09:00:00Z",
                "department_code": "SH-GA-001",
                "actor": "staff-7",
                "note": NOTE,
                "unknown": "ignored",
                "level": None,
            }
        )
    )
    assert isinstance(event, CaseEvent)
    assert event.note == NOTE
    assert b"level" not in event.to_json_bytes()


@pytest.mark.parametrize(
    ("event", "reason", "text"),
    [
        (opened(at="2026-09-30T10:20:00"), RejectReason.NAIVE_TIMESTAMP, "at: must carry"),
        (opened(evaluated_at="2026-09-30 10:15"), RejectReason.NAIVE_TIMESTAMP, "evaluated_at"),
        (opened(at="yesterday"), RejectReason.INVALID_TIMESTAMP, "at:"),
        (opened(at="1999-12-31T23:00:00Z"), RejectReason.INVALID_TIMESTAMP, "2000..2099"),
        (opened(at="0001-01-01T00:00:00+08:00"), RejectReason.INVALID_TIMESTAMP, "2000..2099"),
        (opened(at=...), RejectReason.MISSING_FIELD, "at: is required"),
        (opened(case_id=None), RejectReason.MISSING_FIELD, "case_id: is required"),
        (opened(level=...), RejectReason.MISSING_FIELD, "level"),
        (opened(service_code=None, evaluated_at=None), RejectReason.MISSING_FIELD, "service_code"),
        (opened(level=4), RejectReason.INVALID_LEVEL, "only a bad review"),
        (opened(level="1"), RejectReason.INVALID_LEVEL, "level"),
        (opened(level=1.0), RejectReason.INVALID_LEVEL, "level"),
        (opened(level=True), RejectReason.INVALID_LEVEL, "level"),
        (opened(event="reopened"), RejectReason.INVALID_FIELD, "event: must be one of"),
        (opened(department_code=310101), RejectReason.INVALID_FIELD, "department_code"),
        (opened(case_id=""), RejectReason.INVALID_FIELD, "must not be empty"),
        (opened(case_id="E" * 65), RejectReason.FIELD_TOO_LONG, "at most 64"),
    ],
)
def test_rejections(event: dict[str, Any], reason: RejectReason, text: str) -> None:
    got_reason, message = rejected(event)
    assert got_reason is reason, message
    assert text in message


def test_note_is_never_echoed() -> None:
    reason, message = rejected(opened(note=NOTE * 200))
    assert reason is RejectReason.FIELD_TOO_LONG
    assert "13812345678" not in message
    reason, message = rejected(opened(note=["13812345678"]))
    assert reason is RejectReason.INVALID_FIELD
    assert "13812345678" not in message


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", RejectReason.NOT_JSON),
        (b"{", RejectReason.NOT_JSON),
        (b"\xff\xfe{}", RejectReason.NOT_UTF8),
        (b"[1, 2]", RejectReason.NOT_OBJECT),
        (b"null", RejectReason.NOT_OBJECT),
    ],
)
def test_not_an_event(data: bytes, reason: RejectReason) -> None:
    assert rejected(data)[0] is reason


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.builds(lambda d: raw(d), st.dictionaries(st.text(), st.none())))
def test_never_raises(data: bytes) -> None:
    out = parse_case_event(data)
    assert isinstance(out, CaseEvent | tuple)


def test_warning_key_and_json() -> None:
    warning = CaseWarning(
        case_id="E1",
        deadline="callback",
        kind="overdue",
        due_at=datetime.fromisoformat("2026-10-09T00:00:00+08:00"),
        at=datetime.fromisoformat("2026-10-09T00:00:00+08:00"),
        department_code="SH-GA-001",
    )
    assert warning.due_at == datetime(2026, 10, 8, 16, tzinfo=UTC)
    assert warning.key == warning_key("E1", "callback") == "E1:callback"
    assert warning.kafka_key() == b"E1:callback"
    assert warning.warning_id == "E1:callback:overdue"
    assert CaseWarning.from_json_bytes(warning.to_json_bytes()) == warning
    assert json.loads(warning.to_json_bytes())["due_at"] == "2026-10-08T16:00:00Z"
