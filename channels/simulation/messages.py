"""What the simulator sends: messages with their kind (valid, duplicate, malformed, planted),
the scenarios that mix them, and their bytes and key on ratings.raw."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from runtime.clock import CHINA
from schemas.codes import Channel

# The rejection reason codes the ingest step must use for these (exact names).
MALFORMED_REASONS: Final[tuple[str, ...]] = (
    "not_utf8",
    "not_json",
    "not_object",
    "missing_field",
    "invalid_level",
    "unknown_channel",
    "tag_level_mismatch",
    "invalid_region_code",
    "naive_timestamp",
    "future_event",
    "field_too_long",
)


KIND_VALID: Final = "valid"


KIND_DUPLICATE: Final = "duplicate"


KIND_DUPLICATE_TRANSACTION: Final = "duplicate_transaction"


MALFORMED_PREFIX: Final = "malformed:"


FRAUD_SCENARIOS: Final[tuple[str, ...]] = ("staff_farming", "evaluator_flood", "malicious_campaign")


SCENARIOS: Final[tuple[str, ...]] = (
    "steady",
    "surge",
    "duplicates",
    "malformed",
    "mixed",
    *FRAUD_SCENARIOS,
)


@dataclass(frozen=True)
class SimulatedMessage:
    """One message for `ratings.raw`, labelled with what the pipeline should do with it.

    kind: ``valid``; ``duplicate`` (exact re-send of an earlier message: same bytes);
    ``duplicate_transaction`` (new evaluation_id, same transaction_id and round as an earlier
    one); ``malformed:<reason>`` with a reason from `MALFORMED_REASONS`.
    `at` is the simulated event time (for a re-send: when it was re-sent).
    """

    key: bytes | None
    value: bytes
    kind: str
    at: datetime
    # the fraud scenario that planted this (valid) evaluation, "" for genuine traffic
    planted: str = ""

    @property
    def malformed_reason(self) -> str | None:
        if self.kind.startswith(MALFORMED_PREFIX):
            return self.kind.removeprefix(MALFORMED_PREFIX)
        return None


@dataclass(frozen=True)
class Scenario:
    """What a stream is made of; rates are shares of all messages."""

    name: str
    surge: bool = False
    surge_department: str | None = None  # department code; None → the simulator's default
    surge_service: str | None = None  # service code; surges only that item
    surge_from: float = 0.5  # share of the stream after which the surge starts
    surge_traffic_factor: float = 3.0
    surge_bad_share: float = 0.4
    duplicate_rate: float = 0.0
    duplicate_transaction_rate: float = 0.0
    malformed_rate: float = 0.0
    fraud: str = ""  # one of FRAUD_SCENARIOS, or "" for none
    fraud_from: float = 0.3
    fraud_share: float = 0.03

    @classmethod
    def named(cls, name: str) -> Scenario:
        if name == "steady":
            return cls(name)
        if name == "surge":
            return cls(name, surge=True)
        if name == "duplicates":
            return cls(name, duplicate_rate=0.05, duplicate_transaction_rate=0.01)
        if name == "malformed":
            return cls(name, malformed_rate=0.10)
        if name == "mixed":
            return cls(
                name,
                surge=True,
                duplicate_rate=0.01,
                duplicate_transaction_rate=0.005,
                malformed_rate=0.01,
            )
        if name in FRAUD_SCENARIOS:
            return cls(name, fraud=name)
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")


def encode_message(
    evaluation: dict[str, Any], kind: str = KIND_VALID, *, at: datetime, planted: str = ""
) -> SimulatedMessage:
    """Serialize an evaluation as channels do: compact UTF-8 JSON, keyed by transaction."""
    return SimulatedMessage(
        key=message_key(evaluation),
        value=json.dumps(evaluation, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        kind=kind,
        at=at,
        planted=planted,
    )


def message_key(evaluation: dict[str, Any]) -> bytes | None:
    """transaction_id if present, else evaluation_id (utf-8), as the topic contract says."""
    key = evaluation.get("transaction_id") or evaluation.get("evaluation_id")
    return str(key).encode("utf-8") if key else None


def _channel_name(value: str) -> str:
    if value.isdigit():
        return Channel.from_pf(int(value)).value
    return value


def _iso(at: datetime) -> str:
    return at.astimezone(CHINA).isoformat(timespec="milliseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)
