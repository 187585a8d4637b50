from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.codes import Channel, RejectReason
from schemas.evaluation import Evaluation, RawEvaluation, raw_evaluation_json_schema
from schemas.rejection import RejectedMessage
from streams.ingest.decision import Accepted, Rejected, check

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SECRET = b"test-secret"


def valid() -> dict[str, Any]:
    return {
        "evaluation_id": "E20261128000001",
        "transaction_id": "T310101202611280001",
        "evaluation_round": 1,
        "service_code": "11310000002421213T3310117002000",
        "service_name": "居民身份证换领",
        "department_code": "SH-GA-001",
        "department_name": "上海市公安局",
        "region_code": "310101",
        "channel": "counter",
        "level": 5,
        "tags": ["517", "511"],
        "comment": "办事很顺利",
        "scores": {"attitude": 5, "efficiency": 4},
        "evaluator_id": "U0001",
        "evaluator_type": 1,
        "hall_code": "H01",
        "window_code": "W03",
        "staff_id": "S009",
        "evaluated_at": "2026-11-28T10:15:00+08:00",
        "source": "test",
    }


def run(doc: dict[str, Any]) -> Accepted | Rejected:
    raw = json.dumps(doc, ensure_ascii=False).encode()
    return check(raw, now=NOW, secret=SECRET, clock_skew_s=300, allowed_lateness_s=3600)


def with_(**changes: Any) -> dict[str, Any]:
    doc = valid()
    for key, value in changes.items():
        if value is ...:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


MINIMAL = {
    "evaluation_id": "E1",
    "service_code": "S1",
    "department_code": "D1",
    "region_code": "310000",
    "channel": "web",
    "level": 3,
    "evaluated_at": "2026-11-28T02:00:00Z",
}


def test_full_valid_example_is_accepted() -> None:
    result = run(valid())
    assert isinstance(result, Accepted)
    ev = result.evaluation
    assert ev.channel is Channel.COUNTER and ev.channel_code == 4
    assert ev.tags == ["511", "517"]
    assert ev.evaluated_at == datetime(2026, 11, 28, 2, 15, tzinfo=UTC)
    assert ev.evaluated_at.utcoffset() == timedelta(0)
    assert ev.is_good and not ev.is_bad


def test_minimal_valid_example_is_accepted_with_defaults() -> None:
    result = run(dict(MINIMAL))
    assert isinstance(result, Accepted)
    ev = result.evaluation
    assert ev.evaluation_round == 1
    assert ev.transaction_id is None
    assert ev.tags == [] and ev.scores == {} and ev.comment is None
    assert ev.evaluator_hash is None


@pytest.mark.parametrize(
    "changes",
    [
        {"channel": 1},
        {"channel": "7"},
        {"channel": "SMS"},
        {"level": 1, "tags": ["110", "113"]},
        {"level": 2, "tags": ["214"]},
        {"tags": []},
        {"tags": None},
        {"scores": None},
        {"comment": None},
        {"evaluation_round": 2},
        {"evaluator_type": 2},
        {"region_code": "310101001001"},
        {"evaluated_at": "2026-11-28T02:15:00Z"},
        {"evaluated_at": "2026-11-28T02:15:00.123456+00:00"},
        {"unknown_extra_field": {"anything": [1, 2]}},
        {"transaction_id": "x" * 50},
        {"evaluation_id": "e" * 64},
        {"comment": "好" * 2000},
        {
            "scores": {
                k: 3
                for k in [
                    "efficiency",
                    "attitude",
                    "competence",
                    "guidance",
                    "convenience",
                    "usability",
                ]
            }
        },
    ],
)
def test_valid_variants_are_accepted(changes: dict[str, Any]) -> None:
    result = run(with_(**changes))
    assert isinstance(result, Accepted), result


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"evaluation_id": ...}, RejectReason.MISSING_FIELD),
        ({"service_code": ...}, RejectReason.MISSING_FIELD),
        ({"department_code": ...}, RejectReason.MISSING_FIELD),
        ({"region_code": ...}, RejectReason.MISSING_FIELD),
        ({"channel": ...}, RejectReason.MISSING_FIELD),
        ({"level": ...}, RejectReason.MISSING_FIELD),
        ({"evaluated_at": ...}, RejectReason.MISSING_FIELD),
        ({"evaluation_id": None}, RejectReason.MISSING_FIELD),
        ({"evaluation_id": ""}, RejectReason.INVALID_FIELD),
        ({"evaluation_id": 12345}, RejectReason.INVALID_FIELD),
        ({"service_code": ["a"]}, RejectReason.INVALID_FIELD),
        ({"service_name": 1}, RejectReason.INVALID_FIELD),
        ({"evaluation_id": "e" * 65}, RejectReason.FIELD_TOO_LONG),
        ({"transaction_id": "t" * 51}, RejectReason.FIELD_TOO_LONG),
        ({"comment": "好" * 2001}, RejectReason.FIELD_TOO_LONG),
        ({"evaluation_round": 3}, RejectReason.INVALID_FIELD),
        ({"evaluation_round": "1"}, RejectReason.INVALID_FIELD),
        ({"evaluation_round": True}, RejectReason.INVALID_FIELD),
        ({"evaluator_type": 3}, RejectReason.INVALID_FIELD),
        ({"evaluator_type": True}, RejectReason.INVALID_FIELD),
        ({"channel": "fax"}, RejectReason.UNKNOWN_CHANNEL),
        ({"channel": 8}, RejectReason.UNKNOWN_CHANNEL),
        ({"channel": 0}, RejectReason.UNKNOWN_CHANNEL),
        ({"channel": True}, RejectReason.UNKNOWN_CHANNEL),
        ({"channel": 4.0}, RejectReason.UNKNOWN_CHANNEL),
        ({"level": 0}, RejectReason.INVALID_LEVEL),
        ({"level": 6}, RejectReason.INVALID_LEVEL),
        ({"level": "5"}, RejectReason.INVALID_LEVEL),
        ({"level": 5.0}, RejectReason.INVALID_LEVEL),
        ({"level": True}, RejectReason.INVALID_LEVEL),
        ({"tags": ["999"]}, RejectReason.UNKNOWN_TAG),
        ({"tags": ["517", "51"]}, RejectReason.UNKNOWN_TAG),
        ({"tags": ["413"]}, RejectReason.TAG_LEVEL_MISMATCH),
        ({"level": 1, "tags": ["110", "214"]}, RejectReason.TAG_LEVEL_MISMATCH),
        ({"tags": [517]}, RejectReason.INVALID_FIELD),
        ({"tags": "517"}, RejectReason.INVALID_FIELD),
        ({"region_code": "31010"}, RejectReason.INVALID_REGION_CODE),
        ({"region_code": "3101010010011"}, RejectReason.INVALID_REGION_CODE),
        ({"region_code": "31010a"}, RejectReason.INVALID_REGION_CODE),
        ({"region_code": 310101}, RejectReason.INVALID_REGION_CODE),
        ({"region_code": "３１０１０１"}, RejectReason.INVALID_REGION_CODE),
        ({"scores": {"speed": 5}}, RejectReason.INVALID_SCORE),
        ({"scores": {"attitude": 0}}, RejectReason.INVALID_SCORE),
        ({"scores": {"attitude": 6}}, RejectReason.INVALID_SCORE),
        ({"scores": {"attitude": "5"}}, RejectReason.INVALID_SCORE),
        ({"scores": [5]}, RejectReason.INVALID_SCORE),
        ({"evaluated_at": "2026-11-28T10:15:00"}, RejectReason.NAIVE_TIMESTAMP),
        ({"evaluated_at": "2026-11-28 10:15:00"}, RejectReason.NAIVE_TIMESTAMP),
        ({"evaluated_at": "yesterday"}, RejectReason.INVALID_TIMESTAMP),
        ({"evaluated_at": "2026-11-28"}, RejectReason.INVALID_TIMESTAMP),
        ({"evaluated_at": "2026-02-30T10:00:00+08:00"}, RejectReason.INVALID_TIMESTAMP),
        ({"evaluated_at": 1764296100}, RejectReason.INVALID_TIMESTAMP),
        ({"evaluated_at": "1999-12-31T23:59:59Z"}, RejectReason.INVALID_TIMESTAMP),
        ({"evaluated_at": "0001-01-01T00:00:00+08:00"}, RejectReason.INVALID_TIMESTAMP),
        ({"evaluated_at": "2026-11-28T03:10:00Z"}, RejectReason.FUTURE_EVENT),
    ],
)
def test_each_violation_is_rejected_with_its_reason(
    changes: dict[str, Any], reason: RejectReason
) -> None:
    result = run(with_(**changes))
    assert isinstance(result, Rejected), result
    assert result.reason is reason, result.message
    field = next(iter(changes))
    assert field in result.message


def test_the_first_error_decides_the_reason() -> None:
    # evaluation_id is declared first, so its error wins over the later level error.
    result = run(with_(evaluation_id=..., level=9))
    assert isinstance(result, Rejected)
    assert result.reason is RejectReason.MISSING_FIELD


def test_messages_name_the_field_and_the_rule() -> None:
    result = run(with_(level=7))
    assert isinstance(result, Rejected)
    # the rule and the JSON type, never the value itself (values can be personal data)
    assert result.message == "level: must be an integer 1..5, got integer"


def test_personal_values_are_not_echoed_in_messages() -> None:
    result = run(with_(evaluator_id=["13812345678"]))
    assert isinstance(result, Rejected)
    assert "13812345678" not in result.message


def test_raw_model_is_strict_about_types() -> None:
    with pytest.raises(ValidationError):
        RawEvaluation.model_validate_json(json.dumps(with_(comment=["a", "b"])))
    with pytest.raises(ValidationError):
        RawEvaluation.model_validate_json(json.dumps(with_(hall_code=7)))


def test_raw_model_json_round_trip() -> None:
    raw = RawEvaluation.from_json_bytes(json.dumps(valid()).encode())
    again = RawEvaluation.from_json_bytes(raw.to_json_bytes())
    assert again == raw
    assert again.channel is Channel.COUNTER


def test_evaluation_json_round_trip() -> None:
    result = run(valid())
    assert isinstance(result, Accepted)
    ev = result.evaluation
    data = ev.to_json_bytes()
    doc = json.loads(data)
    assert doc["channel"] == "counter" and doc["channel_code"] == 4
    assert doc["evaluated_at"].endswith("Z")
    assert "evaluator_id" not in doc
    back = Evaluation.from_json_bytes(data)
    assert back == ev
    assert back.evaluated_at.utcoffset() == timedelta(0)


def test_evaluation_normalizes_offsets_to_utc_when_read() -> None:
    result = run(valid())
    assert isinstance(result, Accepted)
    doc = json.loads(result.evaluation.to_json_bytes())
    doc["evaluated_at"] = "2026-11-28T10:15:00+08:00"
    ev = Evaluation.from_json_bytes(json.dumps(doc))
    assert ev.evaluated_at.utcoffset() == timedelta(0)
    assert ev.evaluated_at.hour == 2


@pytest.mark.parametrize(
    ("level", "bad", "good"),
    [(1, True, False), (2, True, False), (3, False, True), (5, False, True)],
)
def test_evaluation_bad_and_good(level: int, bad: bool, good: bool) -> None:
    tags = {1: "110", 2: "214", 3: "314", 5: "517"}[level]
    result = run(with_(level=level, tags=[tags]))
    assert isinstance(result, Accepted)
    assert result.evaluation.is_bad is bad
    assert result.evaluation.is_good is good


def test_json_schema_names_required_fields_and_is_valid() -> None:
    schema = raw_evaluation_json_schema()
    json.dumps(schema)  # serializable
    assert schema["title"] and schema["description"]
    assert schema["type"] == "object"
    assert set(schema["required"]) == {
        "evaluation_id",
        "service_code",
        "department_code",
        "region_code",
        "channel",
        "level",
        "evaluated_at",
    }
    props = schema["properties"]
    for name in ("transaction_id", "tags", "comment", "scores", "evaluator_id", "source"):
        assert name in props
    assert props["region_code"]["pattern"] == "^[0-9]{6,12}$"
    assert props["evaluated_at"]["format"] == "date-time"


def test_json_schema_accepts_valid_and_refuses_invalid_documents() -> None:
    import jsonschema

    schema = raw_evaluation_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(valid())
    assert validator.is_valid(with_(channel=4))
    assert validator.is_valid(dict(MINIMAL))
    assert not validator.is_valid(with_(level=7))
    assert not validator.is_valid(with_(channel="fax"))
    assert not validator.is_valid(with_(tags=["999"]))
    assert not validator.is_valid(with_(evaluation_id=...))


def test_rejected_message_round_trip() -> None:
    raw = b"\xff\x00not json"
    msg = RejectedMessage.from_raw(
        raw,
        reason=RejectReason.NOT_UTF8,
        message="not valid UTF-8",
        source_topic="ratings.raw",
        source_partition=2,
        source_offset=41,
        rejected_at=datetime(2026, 11, 28, 11, 0, tzinfo=UTC) + timedelta(hours=0),
    )
    assert msg.raw_bytes() == raw
    back = RejectedMessage.from_json_bytes(msg.to_json_bytes())
    assert back == msg
    assert back.reason is RejectReason.NOT_UTF8
    assert json.loads(msg.to_json_bytes())["reason"] == "not_utf8"


def test_rejected_message_requires_aware_time_and_base64() -> None:
    with pytest.raises(ValidationError):
        RejectedMessage.from_raw(
            b"x",
            reason=RejectReason.NOT_JSON,
            message="m",
            source_topic="t",
            source_partition=0,
            source_offset=0,
            rejected_at=datetime(2026, 1, 1),
        )
    with pytest.raises(ValidationError):
        RejectedMessage(
            reason=RejectReason.NOT_JSON,
            message="m",
            raw_base64="***",
            source_topic="t",
            source_partition=0,
            source_offset=0,
            rejected_at=NOW,
        )


def test_a_trusted_evaluation_is_what_model_construct_builds() -> None:
    result = run(with_(client_ip="10.1.2.3"))
    assert isinstance(result, Accepted)
    trusted = result.evaluation
    values = dict(trusted.__dict__)
    built = Evaluation.model_construct(**values)
    assert trusted == built
    assert trusted.model_fields_set == built.model_fields_set == set(Evaluation.model_fields)
    assert trusted.to_json_bytes() == built.to_json_bytes()
    assert Evaluation.from_json_bytes(trusted.to_json_bytes()) == trusted
    assert trusted.model_copy(update={"miskeyed": True}).miskeyed is True


def test_a_trusted_evaluation_must_be_given_every_field() -> None:
    values = dict(run(valid()).evaluation.__dict__)  # type: ignore[union-attr]
    values.pop("miskeyed")
    with pytest.raises(TypeError, match=r"missing \['miskeyed'\]"):
        Evaluation.trusted(**values)
    with pytest.raises(TypeError, match=r"unknown \['extra'\]"):
        Evaluation.trusted(**values, miskeyed=False, extra=1)
