"""Per-message isolation for the worker: whatever one message on ``ratings.raw`` holds, deciding
it and writing down the outcome costs that message alone.

Why it is needed: an exception that leaves the Faust agent in the middle of a batch makes Faust
acknowledge the whole batch, so every evaluation after the poison message is lost. ``check``
already never raises; serialising what it decided (an evaluation for ``ratings.valid``, a
rejection for ``ratings.rejected``) could, and a rejection could outgrow Kafka's 1 MB record
limit. The functions here close both gaps and raise for no input: only interrupts and task
cancellation pass through, because those must stop the worker.

Pure, no Faust: the worker calls them, the tests call them directly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from privacy.scrub import scrub_raw
from schemas.codes import RejectReason
from schemas.evaluation import Evaluation
from schemas.rejection import RejectedMessage
from streams.ingest.decision import Accepted, Rejected, check

# Enough to replay or diagnose any real evaluation (they are ~1 KB) while a rejection stays far
# below Kafka's 1 MB default record limit whatever a producer sent.
MAX_REJECTED_RAW_BYTES: Final = 64 * 1024
# What a record on ratings.rejected may grow to: the raw prefix in base64 (~87 KB), the scrubbed
# copy (<= 64 KB as UTF-8) and the message. Pathological escaping shortens the scrubbed copy.
MAX_RECORD_BYTES: Final = 200 * 1024
MAX_MESSAGE_CHARS: Final = 1000
# Kafka topic names are at most 249 characters; anything longer is not a topic name.
_MAX_TOPIC_CHARS: Final = 255

# Where an out-of-range record timestamp is clamped to: the Unix epoch is what Kafka's "no
# timestamp" (-1 ms) means, and the last second datetime can represent.
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST: Final = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

# These mean "stop": swallowing them would make a worker that cannot be shut down.
_STOP: Final = (KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError)
_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class AcceptedBytes(Accepted):
    """An accepted evaluation with its ``ratings.valid`` value, serialised once, here, where a
    failure can still turn into a rejection. A subclass, so ``isinstance(x, Accepted)`` holds."""

    value: bytes


def decide(
    raw: bytes | None,
    *,
    now: datetime,
    secret: bytes,
    clock_skew_s: int,
    allowed_lateness_s: int,
    late_horizon_s: int | None = None,
) -> AcceptedBytes | Rejected:
    """``check`` plus the serialisation of what it accepted. Never raises (but for interrupts
    and cancellation): a failure anywhere is ``Rejected(INTERNAL_ERROR)``."""
    try:
        outcome = check(
            raw if raw is not None else b"",
            now=now,
            secret=secret,
            clock_skew_s=clock_skew_s,
            allowed_lateness_s=allowed_lateness_s,
            late_horizon_s=late_horizon_s,
        )
        if isinstance(outcome, Rejected):
            return outcome
        evaluation = outcome.evaluation
        return AcceptedBytes(evaluation, evaluation.to_json_bytes())
    except _STOP:
        raise
    except BaseException as exc:
        return _internal_error(exc)


def event_time(timestamp: float) -> datetime:
    """A Kafka record timestamp (seconds since the epoch) as an aware UTC datetime, for ``now``
    and ``rejected_at``. Never raises: producers set CreateTime to any int64 they like, and
    ``datetime.fromtimestamp`` refuses most of that range (and NaN). Out of range it is clamped,
    so a replay decides the message the same way again."""
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except _STOP:
        raise
    except BaseException:
        pass
    try:
        if timestamp > 0:
            return _LATEST
    except _STOP:
        raise
    except BaseException:
        pass
    return _EPOCH


def accepted_record(evaluation: Evaluation) -> bytes | None:
    """The ``ratings.valid`` value of ``evaluation``, or None when it cannot be serialised
    (the caller then rejects the message with ``INTERNAL_ERROR``)."""
    try:
        return evaluation.to_json_bytes()
    except _STOP:
        raise
    except BaseException:
        return None


def rejection_record(
    raw: bytes | None,
    *,
    reason: RejectReason,
    message: str,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    rejected_at: datetime,
    secret: bytes,
) -> bytes:
    """The ``ratings.rejected`` value for one message: ``RejectedMessage`` JSON with at most
    ``MAX_REJECTED_RAW_BYTES`` of the original (``raw_size`` says how big it was), at most
    ``MAX_MESSAGE_CHARS`` of message and at most ``MAX_RECORD_BYTES`` in all.

    Never raises. When scrubbing or serialising fails, the record says ``INTERNAL_ERROR`` (the
    original reason and message are kept in its message) and has no scrubbed copy: the
    original bytes are still there for a replay after the fix.
    """
    data = b""
    try:
        data = _as_bytes(raw)
        at = _aware(rejected_at)
        where = (source_topic, source_partition, source_offset, at)
        try:
            scrubbed = scrub_raw(data, secret)
        except _STOP:
            raise
        except BaseException as exc:
            return _fallback(data, exc, "scrubbing", reason, message, where)
        try:
            return _record(
                data,
                reason=reason,
                message=message,
                scrubbed=scrubbed,
                source_topic=source_topic,
                source_partition=source_partition,
                source_offset=source_offset,
                rejected_at=at,
            )
        except _STOP:
            raise
        except BaseException as exc:
            return _fallback(data, exc, "serialising", reason, message, where)
    except _STOP:
        raise
    except BaseException as exc:
        return _last_resort(data, f"internal error: {type(exc).__name__}")


def _internal_error(exc: BaseException) -> Rejected:
    # The type only: an exception's text may quote the message.
    return Rejected(RejectReason.INTERNAL_ERROR, f"internal error: {type(exc).__name__}")


def _record(
    data: bytes,
    *,
    reason: RejectReason,
    message: str,
    scrubbed: str,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    rejected_at: datetime,
) -> bytes:
    if not message:
        message = RejectReason(reason).description
    if len(scrubbed) > MAX_REJECTED_RAW_BYTES // 4:
        # Only long copies can exceed the bound in UTF-8 (4 bytes a character at most).
        scrubbed = _utf8_prefix(_encodable(scrubbed), MAX_REJECTED_RAW_BYTES)
    else:
        scrubbed = _encodable(scrubbed)
    rejection = RejectedMessage.from_raw(
        data,
        reason=reason,
        message=_bounded(message),
        source_topic=_encodable(source_topic)[:_MAX_TOPIC_CHARS],
        source_partition=source_partition,
        source_offset=source_offset,
        rejected_at=rejected_at,
        raw_scrubbed=scrubbed,
        max_raw_bytes=MAX_REJECTED_RAW_BYTES,
    )
    out = rejection.to_json_bytes()
    while len(out) > MAX_RECORD_BYTES and rejection.raw_scrubbed:
        # Control characters escape to six bytes each: only such a copy gets here.
        shorter = rejection.raw_scrubbed[: len(rejection.raw_scrubbed) // 2]
        rejection = rejection.model_copy(update={"raw_scrubbed": shorter})
        out = rejection.to_json_bytes()
    return out


def _fallback(
    data: bytes,
    exc: BaseException,
    step: str,
    reason: object,
    message: object,
    where: tuple[object, object, object, datetime],
) -> bytes:
    source_topic, source_partition, source_offset, rejected_at = where
    try:
        original = RejectReason(str(reason)).value
    except _STOP:
        raise
    except BaseException:
        original = "an unknown reason"
    try:
        text = f"internal error: {type(exc).__name__} while {step} the rejection ({original}: "
        text = _bounded(f"{text}{_encodable(str(message))})")
    except _STOP:
        raise
    except BaseException:
        text = f"internal error: {type(exc).__name__} while {step} the rejection"
    try:
        return RejectedMessage.from_raw(
            data,
            reason=RejectReason.INTERNAL_ERROR,
            message=text,
            source_topic=_encodable(str(source_topic))[:_MAX_TOPIC_CHARS],
            source_partition=_int(source_partition),
            source_offset=_int(source_offset),
            rejected_at=rejected_at,
            max_raw_bytes=MAX_REJECTED_RAW_BYTES,
        ).to_json_bytes()
    except _STOP:
        raise
    except BaseException:
        return _last_resort(data, f"internal error: {type(exc).__name__} while {step}")


def _last_resort(data: bytes, message: str) -> bytes:
    # Plain json.dumps of values that cannot fail: this is the record of last resort.
    kept = data[:MAX_REJECTED_RAW_BYTES]
    return json.dumps(
        {
            "reason": RejectReason.INTERNAL_ERROR.value,
            "message": _encodable(message),
            "raw_base64": base64.b64encode(kept).decode("ascii"),
            "raw_scrubbed": "",
            "raw_size": len(data),
            "raw_truncated": len(kept) < len(data),
            "source_topic": "",
            "source_partition": -1,
            "source_offset": -1,
            "rejected_at": datetime.now(UTC).isoformat(),
        },
        ensure_ascii=False,
    ).encode("utf-8")


def _as_bytes(raw: object) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, bytes):
        return raw
    try:
        return bytes(raw)  # type: ignore[call-overload]
    except _STOP:
        raise
    except BaseException:
        # Not bytes-like at all: nothing of it can be kept.
        return b""


def _aware(moment: object) -> datetime:
    if not isinstance(moment, datetime):
        return datetime.now(UTC)
    # A naive time from the caller is taken as UTC rather than losing the record over it.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _encodable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX``: what UTF-8 cannot encode would make
    the record unserialisable."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _utf8_prefix(text: str, limit: int) -> str:
    # "ignore" drops the character cut in half at the end, nothing else (text is encodable).
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _bounded(message: str) -> str:
    message = _encodable(message)
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[: MAX_MESSAGE_CHARS - 1] + "…"
