"""The decision for one message of ``transactions.done``: accepted (names from the catalogue
or scrubbed, blank codes as null, times in UTC) or rejected with a reason, exactly as
``ratings.raw`` is checked (streams/ingest/decision.py): the same reasons, the same messages
that name the field and the rule but never the value. Pure: the step wraps it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from pydantic import ValidationError

from schemas.catalogue import DEPARTMENT_NAMES, SERVICE_NAMES
from schemas.codes import RejectReason
from schemas.errors import FieldRules, translate
from schemas.transaction import RawTransaction, Transaction
from streams.ingest.decision import (
    Rejected,
    blank_to_none,
    catalogue_name,
    checked_time,
    unknown_channel,
    unpaired_surrogate_field,
)

_TEXT_FIELDS: Final = tuple(
    name
    for name, field in RawTransaction.model_fields.items()
    if field.annotation in (str, str | None)
)
_RULES: Final = FieldRules(
    required=frozenset(
        name for name, field in RawTransaction.model_fields.items() if field.is_required()
    ),
    timestamps=frozenset({"completed_at"}),
    timestamp_example="2026-11-28T10:15:00+08:00",
    reasons={
        "region_code": RejectReason.INVALID_REGION_CODE,
        "channel": RejectReason.UNKNOWN_CHANNEL,
    },
    rules={
        "region_code": "must be a string of 6-12 digits",
        "completed_at": "must be an ISO-8601 date-time string with a UTC offset",
        "stage": "must be consultation, acceptance or completion",
    },
    special=unknown_channel,
)


def check(raw: bytes | None, *, now: datetime, clock_skew_s: int) -> Transaction | Rejected:
    """Decide one raw 办件. Never raises, whatever the bytes."""
    try:
        return _check(raw, now=now, clock_skew_s=clock_skew_s)
    except Exception as exc:
        # a bug here costs one message (kept on ratings.rejected), never the worker
        return Rejected(
            RejectReason.INTERNAL_ERROR,
            f"internal error while checking the message: {type(exc).__name__}",
        )


def _check(raw: bytes | None, *, now: datetime, clock_skew_s: int) -> Transaction | Rejected:
    if not raw:
        return Rejected(RejectReason.NOT_JSON, "empty message")
    try:
        sent = RawTransaction.model_validate_json(raw)
    except ValidationError as exc:
        return Rejected(*translate(raw, exc.errors(include_url=False)[0], _RULES))
    if b"\\u" in raw or b"\xed" in raw:
        field = unpaired_surrogate_field(sent, _TEXT_FIELDS)
        if field is not None:
            return Rejected(
                RejectReason.INVALID_FIELD, f"{field}: contains an unpaired UTF-16 surrogate"
            )
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    completed_at = checked_time(sent.completed_at, "completed_at", now, clock_skew_s)
    if isinstance(completed_at, Rejected):
        return completed_at
    return Transaction(
        transaction_id=sent.transaction_id.strip(),
        service_code=sent.service_code.strip(),
        service_name=catalogue_name(SERVICE_NAMES, sent.service_code, sent.service_name),
        department_code=sent.department_code.strip(),
        department_name=catalogue_name(
            DEPARTMENT_NAMES, sent.department_code, sent.department_name
        ),
        region_code=sent.region_code,
        channel=sent.channel,
        channel_code=sent.channel.pf,
        hall_code=blank_to_none(sent.hall_code),
        window_code=blank_to_none(sent.window_code),
        staff_id=blank_to_none(sent.staff_id),
        stage=sent.stage,
        completed_at=completed_at,
        ingested_at=now.astimezone(UTC),
        source=blank_to_none(sent.source),
    )
