"""The ingest decision for one message of ``ratings.raw``: accepted (normalized, scrubbed) or
rejected (with a reason code). Pure, no Faust: the agent wraps it, the tests call it directly.

What is NOT decided here: duplicates ("一次一评" per transaction and round, replays of the same
evaluation_id) need state, so the stateful worker decides them after ``check``.

Messages name the field, the rule and the JSON type (and length) of what was sent, never the
value itself: ``ratings.rejected`` and the ``rejected`` table are read by more people than
``ratings.raw``, and a value in the wrong field (an ID number typed into ``hall_code``) is
personal data whichever field it sits in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from privacy.scrub import network_pseudonym, pseudonymize, scrub_text
from schemas.catalogue import DEPARTMENT_NAMES, SERVICE_NAMES
from schemas.codes import SCORE_INDICATORS, RejectReason
from schemas.errors import FieldRules, show, translate, where_of
from schemas.evaluation import CHANNEL_RULE, Evaluation, RawEvaluation


@dataclass(frozen=True, slots=True)
class Accepted:
    evaluation: Evaluation


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: RejectReason
    message: str


# ClickHouse's DateTime starts in 1970 and 好差评 started in 2019: anything before 2000 is a
# broken producer clock, and letting it through would only move the refusal to the sink.
EARLIEST_EVALUATED_AT: Final = datetime(2000, 1, 1, tzinfo=UTC)
# A Kafka record time past this is a producer's broken clock, not a time the platform received
# anything: deadlines counted from it (15 working days) would leave the calendar (year 9999
# raised OverflowError in the case step, issue 26), so such a message is rejected.
LATEST_RECORD_TIME: Final = datetime(2100, 1, 1, tzinfo=UTC)

_REQUIRED: Final = frozenset(
    name for name, field in RawEvaluation.model_fields.items() if field.is_required()
)
# Every string field, in declaration order so that the first offending one is named (``channel``
# is an enum once validated; ``tags`` is a list and checked on its own).
_TEXT_FIELDS: Final = tuple(
    name
    for name, field in RawEvaluation.model_fields.items()
    if field.annotation in (str, str | None)
)
# Lone UTF-16 surrogates: a str may hold them, UTF-8 cannot encode them.
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
_SCORE_KEYS: Final = frozenset(SCORE_INDICATORS)
_FIELD_REASON: Final[dict[str, RejectReason]] = {
    "level": RejectReason.INVALID_LEVEL,
    "region_code": RejectReason.INVALID_REGION_CODE,
    "scores": RejectReason.INVALID_SCORE,
    "channel": RejectReason.UNKNOWN_CHANNEL,
}
_FIELD_RULE: Final[dict[str, str]] = {
    "level": "must be an integer 1..5",
    "region_code": "must be a string of 6-12 digits",
    "evaluation_round": "must be the integer 1 or 2",
    "evaluator_type": "must be the integer 1 or 2, or null",
    "client_ip": "must be an IPv4 or IPv6 address, or null",
    "evaluated_at": "must be an ISO-8601 date-time string with a UTC offset",
}


def check(
    raw: bytes,
    *,
    now: datetime,
    secret: bytes,
    clock_skew_s: int,
    allowed_lateness_s: int,
    late_horizon_s: int | None = None,
) -> Accepted | Rejected:
    """Decide one raw message. Never raises, whatever the bytes.

    ``late`` marks an evaluation older than ``allowed_lateness_s`` on arrival (the short
    horizon: in no minute window), ``beyond_horizon`` one older than ``late_horizon_s`` (the
    long horizon: in no window at all; None: no long horizon)."""
    try:
        return _check(
            raw,
            now=now,
            secret=secret,
            clock_skew_s=clock_skew_s,
            allowed_lateness_s=allowed_lateness_s,
            late_horizon_s=late_horizon_s,
        )
    except Exception as exc:
        # A bug here must cost one message (kept on ratings.rejected for a replay), not stop
        # the agent and with it the whole pipeline. The type only: an exception's text may
        # quote the message.
        return Rejected(
            RejectReason.INTERNAL_ERROR,
            f"internal error while checking the message: {type(exc).__name__}",
        )


def _check(
    raw: bytes,
    *,
    now: datetime,
    secret: bytes,
    clock_skew_s: int,
    allowed_lateness_s: int,
    late_horizon_s: int | None = None,
) -> Accepted | Rejected:
    if raw is None or not raw:
        # Kafka tombstones arrive as None values.
        return Rejected(RejectReason.NOT_JSON, "empty message")
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        # Parsing and validating in one pass over the bytes (pydantic-core's JSON parser) is
        # several times cheaper than json.loads followed by model_validate.
        ev = RawEvaluation.model_validate_json(raw)
    except ValidationError as exc:
        return _rejection(raw, exc.errors(include_url=False)[0])
    # Some pydantic-core releases turn an escaped lone surrogate ("\ud800") into a str, and a
    # lenient parser may let UTF-8-encoded ones (ED A0..BF ..) through; the evaluation would
    # then fail to serialise in the middle of a batch. Without such bytes no string can hold
    # one, so the common message pays two memchr scans (~0.1 µs each) and nothing else.
    if (b"\\" in raw and (b"\\ud" in raw or b"\\uD" in raw)) or b"\xed" in raw:
        field = unpaired_surrogate_field(ev)
        if field is not None:
            return Rejected(
                RejectReason.INVALID_FIELD, f"{field}: contains an unpaired UTF-16 surrogate"
            )

    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    when = checked_time(ev.evaluated_at, "evaluated_at", now, clock_skew_s)
    if isinstance(when, Rejected):
        return when
    late = when < now - timedelta(seconds=allowed_lateness_s)
    beyond = late_horizon_s is not None and when < now - timedelta(seconds=late_horizon_s)
    return Accepted(_normalized(ev, when, now, late, beyond, secret))


def checked_time(
    sent: datetime, field: str, now: datetime, clock_skew_s: int
) -> datetime | Rejected:
    """``sent`` (the event time a message carries in ``field``) in UTC, or why it cannot be:
    before 2000, ahead of ``now`` by more than the clock skew, or ``now`` itself broken."""
    if now >= LATEST_RECORD_TIME:
        return Rejected(
            RejectReason.INVALID_TIMESTAMP,
            f"the Kafka record timestamp {now:%Y-%m-%d} is not before "
            f"{LATEST_RECORD_TIME.date()}: the producer's clock is wrong",
        )
    try:
        when = sent.astimezone(UTC)
    except (OverflowError, ValueError):
        # e.g. 0001-01-01T00:00:00+08:00 has no UTC representation.
        return Rejected(
            RejectReason.INVALID_TIMESTAMP,
            f"{field}: out of range (no UTC representation)",
        )
    if when < EARLIEST_EVALUATED_AT:
        return Rejected(
            RejectReason.INVALID_TIMESTAMP,
            f"{field}: must not be before {EARLIEST_EVALUATED_AT.date()}",
        )
    ahead = (when - now).total_seconds()
    if ahead > clock_skew_s:
        return Rejected(
            RejectReason.FUTURE_EVENT,
            f"{field}: is {ahead:.0f} s in the future (allowed clock skew {clock_skew_s} s)",
        )
    return when


def catalogue_name(catalogue: dict[str, str], code: str, sent: str | None) -> str | None:
    """The catalogue's name of a known code; else the name the channel sent, scrubbed like a
    comment: it is free text, and it reaches the rankings and the public views (issue 29)."""
    known = catalogue.get(code)
    if known:
        return known
    name = blank_to_none(sent)
    return scrub_text(name) if name else None


def _normalized(
    ev: RawEvaluation,
    evaluated_at: datetime,
    now: datetime,
    late: bool,
    beyond_horizon: bool,
    secret: bytes,
) -> Evaluation:
    comment = ev.comment.strip() if ev.comment else None
    evaluator_id = ev.evaluator_id.strip() if ev.evaluator_id else None
    device_id = ev.device_id.strip() if ev.device_id else None
    channel = ev.channel
    return Evaluation.trusted(
        evaluation_id=ev.evaluation_id,
        transaction_id=blank_to_none(ev.transaction_id),
        evaluation_round=ev.evaluation_round,
        service_code=ev.service_code,
        service_name=catalogue_name(SERVICE_NAMES, ev.service_code, ev.service_name),
        department_code=ev.department_code,
        department_name=catalogue_name(DEPARTMENT_NAMES, ev.department_code, ev.department_name),
        region_code=ev.region_code,
        channel=channel,
        channel_code=channel.pf,
        level=ev.level,
        tags=sorted(set(ev.tags)) if ev.tags else [],
        comment=scrub_text(comment) if comment else None,
        # Indicator order, not producer order, so equal evaluations serialize equally.
        scores={k: ev.scores[k] for k in SCORE_INDICATORS if k in ev.scores} if ev.scores else {},
        evaluator_hash=pseudonymize(evaluator_id, secret) if evaluator_id else None,
        evaluator_type=ev.evaluator_type,
        device_hash=pseudonymize(device_id, secret) if device_id else None,
        network_hash=network_pseudonym(ev.client_ip, secret) if ev.client_ip else None,
        hall_code=blank_to_none(ev.hall_code),
        window_code=blank_to_none(ev.window_code),
        staff_id=blank_to_none(ev.staff_id),
        evaluated_at=evaluated_at,
        ingested_at=now.astimezone(UTC),
        late=late,
        beyond_horizon=beyond_horizon,
        source=blank_to_none(ev.source),
        # found at home; the rekey path sets it when it counts one that was not
        miskeyed=False,
        clock_skew_s=round((evaluated_at - now).total_seconds()),
    )


def blank_to_none(value: str | None) -> str | None:
    # Producers send "" for "absent"; an empty transaction_id would make every such evaluation
    # a duplicate of the others in the "一次一评" check.
    if value is None or not value.strip():
        return None
    return value


def unpaired_surrogate_field(
    ev: BaseModel, text_fields: tuple[str, ...] = _TEXT_FIELDS
) -> str | None:
    for name in text_fields:
        value = getattr(ev, name)
        if value is not None and not value.isascii() and _SURROGATE.search(value):
            return name
    for index, tag in enumerate(getattr(ev, "tags", None) or ()):
        if not tag.isascii() and _SURROGATE.search(tag):
            return f"tags[{index}]"
    return None


def _rejection(raw: bytes, err: ErrorDetails) -> Rejected:
    return Rejected(*translate(raw, err, _RULES))


def unknown_channel(err: ErrorDetails, where: str) -> tuple[RejectReason, str] | None:
    """The error of a channel that is no name or pf code, in any raw message's check."""
    if err["type"] != "unknown_channel":
        return None
    return RejectReason.UNKNOWN_CHANNEL, f"{where}: {CHANNEL_RULE}, got {show(err.get('input'))}"


def _special(err: ErrorDetails, where: str) -> tuple[RejectReason, str] | None:
    """The evaluation's own errors: channels, review tags and scores."""
    typ, loc, value = err["type"], err["loc"], err.get("input")
    if (channel := unknown_channel(err, where)) is not None:
        return channel
    if typ in ("unknown_tag", "tag_level_mismatch"):
        # The validator's own message quotes the tag; only its position and level are kept.
        ctx = err.get("ctx") or {}
        index = ctx.get("index")
        tag_where = f"tags[{index}]" if isinstance(index, int) else "tags"
        if typ == "unknown_tag":
            tag = value[index] if isinstance(value, list) and isinstance(index, int) else None
            return RejectReason.UNKNOWN_TAG, (
                f"{tag_where}: not a national review-tag code, got {show(tag)}"
            )
        return RejectReason.TAG_LEVEL_MISMATCH, (
            f"{tag_where}: a level-{ctx.get('tag_level')} tag, not a tag of the evaluation's level"
        )
    if not loc or str(loc[0]) != "scores":
        return None
    if len(loc) >= 3 and loc[-1] == "[key]":
        known = ", ".join(SCORE_INDICATORS)
        return RejectReason.INVALID_SCORE, (
            f"scores: unknown indicator, got {show(loc[1])} (known: {known})"
        )
    if len(loc) >= 2:
        return RejectReason.INVALID_SCORE, f"{where}: must be an integer 1..5, got {show(value)}"
    return RejectReason.INVALID_SCORE, (
        f"{where}: must be an object of indicator -> 1..5, got {show(value)}"
    )


_RULES: Final = FieldRules(
    required=_REQUIRED,
    timestamps=frozenset({"evaluated_at"}),
    timestamp_example="2026-11-28T10:15:00+08:00",
    reasons=_FIELD_REASON,
    rules=_FIELD_RULE,
    special=lambda err, where: _special(
        err, where_of(err["loc"], _SCORE_KEYS) if err["loc"] else ""
    ),
)
