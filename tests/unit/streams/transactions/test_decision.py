"""The 办件 check: what is accepted, what is rejected and why (issue 28)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from schemas.codes import RejectReason
from schemas.transaction import Stage, Transaction, raw_transaction_json_schema
from streams.ingest.decision import Rejected
from streams.transactions.decision import check

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def raw(**changes: Any) -> bytes:
    message: dict[str, Any] = {
        "transaction_id": "310101-2026-000123",
        "service_code": "S-0001",
        "department_code": "D-01",
        "region_code": "310101",
        "channel": "counter",
        "hall_code": "H01",
        "window_code": "W03",
        "staff_id": "ST042",
        "completed_at": "2026-12-01T09:30:00+08:00",
    }
    message.update(changes)
    return json.dumps({k: v for k, v in message.items() if v is not ...}).encode()


def decide(message: bytes) -> Transaction | Rejected:
    return check(message, now=NOW, clock_skew_s=300)


def test_a_complete_transaction_is_kept_in_utc_with_its_pf_code() -> None:
    kept = decide(raw())
    assert isinstance(kept, Transaction)
    assert kept.completed_at == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    assert kept.ingested_at == NOW
    assert kept.channel_code == 4 and kept.stage is Stage.COMPLETION  # counter: pf 4
    assert (kept.hall_code, kept.window_code, kept.staff_id) == ("H01", "W03", "ST042")


def test_applicant_data_beside_the_contract_is_never_kept() -> None:
    message = raw(
        applicant_name="张三", applicant_phone="13800138000", id_number="110105194912310021"
    )
    kept = decide(message)
    assert isinstance(kept, Transaction)
    out = kept.to_json_bytes().decode()
    for value in ("张三", "13800138000", "110105194912310021", "applicant"):
        assert value not in out


def test_a_free_text_service_name_is_scrubbed_and_a_known_code_named_by_the_catalogue() -> None:
    kept = decide(raw(service_name="请回电13800138000"))
    assert isinstance(kept, Transaction)
    assert kept.service_name is not None and "13800138000" not in kept.service_name


def test_blank_optional_codes_are_absent() -> None:
    kept = decide(raw(hall_code="", window_code="  ", staff_id=None))
    assert isinstance(kept, Transaction)
    assert (kept.hall_code, kept.window_code, kept.staff_id) == (None, None, None)


@pytest.mark.parametrize(
    ("message", "reason", "field"),
    [
        (b"", RejectReason.NOT_JSON, ""),
        (b"{oops", RejectReason.NOT_JSON, ""),
        (b"[1]", RejectReason.NOT_OBJECT, ""),
        (raw(transaction_id=...), RejectReason.MISSING_FIELD, "transaction_id"),
        (raw(transaction_id="请回电13800138000"), RejectReason.INVALID_FIELD, "transaction_id"),
        (raw(transaction_id="T" * 51), RejectReason.FIELD_TOO_LONG, "transaction_id"),
        (raw(channel="fax"), RejectReason.UNKNOWN_CHANNEL, "channel"),
        (raw(region_code="31"), RejectReason.INVALID_REGION_CODE, "region_code"),
        (raw(stage="archived"), RejectReason.INVALID_FIELD, "stage"),
        (raw(completed_at="2026-12-01T09:30:00"), RejectReason.NAIVE_TIMESTAMP, "completed_at"),
        (raw(completed_at="1999-12-31T23:00:00+00:00"), RejectReason.INVALID_TIMESTAMP,
         "completed_at"),
        (raw(completed_at="2026-12-01T11:00:00+08:00"), RejectReason.FUTURE_EVENT,
         "completed_at"),
        (raw(hall_code=12), RejectReason.INVALID_FIELD, "hall_code"),
    ],
)  # fmt: skip
def test_what_is_rejected_and_why(message: bytes, reason: RejectReason, field: str) -> None:
    decided = decide(message)
    assert isinstance(decided, Rejected), decided
    assert decided.reason is reason, decided.message
    assert decided.message.startswith(field), decided.message
    assert "13800138000" not in decided.message  # the rule, never the value


def test_no_bytes_make_it_raise() -> None:
    for message in (b"\xff\xfe", b"null", b'{"transaction_id": "\\ud800"}', b"\x00" * 10):
        assert isinstance(decide(message), Rejected)


def test_the_json_schema_agrees_with_the_check() -> None:
    schema = raw_transaction_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(json.loads(raw()))
    assert not validator.is_valid(json.loads(raw(channel="fax")))
    assert not validator.is_valid(json.loads(raw(transaction_id=...)))
