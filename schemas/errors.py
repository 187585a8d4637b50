"""One translation of pydantic's validation errors into a reject reason and a message.

Used for raw evaluations (streams/ingest/decision.py) and for case events (schemas/cases.py); each
passes its own table of field rules. A message names the field, the rule it broke and what
was sent as a JSON type and a size, never the value itself: rejections are read by more
people than the raw topic, and any field can hold personal data a producer put there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic_core import ErrorDetails

from schemas.codes import RejectReason

Reason = tuple[RejectReason, str]

_TYPE_RULE: Final[dict[str, str]] = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "list_type": "must be an array",
    "dict_type": "must be an object",
}
_JSON_TYPE: Final[dict[type, str]] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
    list: "array",
    dict: "object",
}


@dataclass(frozen=True)
class FieldRules:
    """What one message type says about its fields."""

    required: frozenset[str]
    timestamps: frozenset[str]
    timestamp_example: str
    reasons: Mapping[str, RejectReason] = field(default_factory=dict)  # field → reason
    rules: Mapping[str, str] = field(default_factory=dict)  # field → the rule, in words
    # checked first, by error type; None lets the common translation go on
    special: Callable[[ErrorDetails, str], Reason | None] = lambda err, where: None


def translate(raw: bytes, err: ErrorDetails, rules: FieldRules) -> Reason:
    typ, loc = err["type"], err["loc"]
    where = where_of(loc) if loc else ""
    name, value = (str(loc[0]) if loc else ""), err.get("input")
    if loc and (typ == "missing" or (value is None and name in rules.required)):
        return RejectReason.MISSING_FIELD, f"{where}: is required"
    special = rules.special(err, where)
    if special is not None:
        return special
    if not loc:
        return _whole_message(raw, err)
    if name in rules.timestamps:
        if typ == "timezone_aware":
            return RejectReason.NAIVE_TIMESTAMP, (
                f"{where}: must carry a UTC offset (e.g. {rules.timestamp_example}), "
                f"got {show(value)}"
            )
        rule = rules.rules.get(name, "must be an ISO-8601 date-time string with a UTC offset")
        return RejectReason.INVALID_TIMESTAMP, (
            f"{where}: {rule}, got {show(value)} ({_lower_first(err['msg'])})"
        )
    if typ == "string_too_long":
        length = len(value) if isinstance(value, str) else "?"
        limit = (err.get("ctx") or {}).get("max_length")
        return RejectReason.FIELD_TOO_LONG, (
            f"{where}: must be at most {limit} characters, got {length}"
        )
    rule = rules.rules.get(name) or _TYPE_RULE.get(typ) or _lower_first(err["msg"])
    if typ == "string_too_short":
        rule = "must not be empty"
    return rules.reasons.get(
        name, RejectReason.INVALID_FIELD
    ), f"{where}: {rule}, got {show(value)}"


def _whole_message(raw: bytes, err: ErrorDetails) -> Reason:
    typ = err["type"]
    if typ == "json_invalid":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return RejectReason.NOT_UTF8, f"not valid UTF-8: {exc.reason} at byte {exc.start}"
        # The parser's own words name a position and a cause, never the input.
        return RejectReason.NOT_JSON, f"not valid JSON: {err['msg'].removeprefix('Invalid JSON: ')}"
    if typ == "model_type":
        return RejectReason.NOT_OBJECT, (
            f"the JSON value must be an object, got {json_type(err['input'])}"
        )
    return RejectReason.INVALID_FIELD, _lower_first(err["msg"])


def where_of(loc: tuple[int | str, ...], known_keys: frozenset[str] = frozenset()) -> str:
    out = str(loc[0])
    for part in loc[1:]:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " key"
        elif part in known_keys:
            out += f".{part}"
        else:
            # A key the producer chose is a value like any other.
            out += ".<key>"
    return out


def show(value: Any) -> str:
    """What was sent, without what it said: the JSON type, and the size of strings and
    containers (enough to tell a truncated id from a swapped field)."""
    if isinstance(value, str):
        return f"string of length {len(value)}"
    if isinstance(value, list | tuple):
        return f"array of {len(value)} items"
    if isinstance(value, dict):
        return f"object of {len(value)} keys"
    return json_type(value)


def json_type(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _JSON_TYPE.get(type(value), "value")


def _lower_first(msg: str) -> str:
    return msg[:1].lower() + msg[1:] if msg else msg
