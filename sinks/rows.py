"""Kafka records to ClickHouse rows: pure conversions, one per landed table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from schemas.alerts import AlertEvent
from schemas.cases import CaseEvent, CaseWarning
from schemas.codes import SCORE_INDICATORS
from schemas.evaluation import Evaluation
from schemas.invitation import DefaultRating, Invitation
from schemas.rejection import RejectedMessage
from schemas.suspects import SuspectEvent
from schemas.transaction import Transaction
from schemas.windows import WindowCounts, window_states

RATINGS_COLUMNS = (
    "evaluation_id",
    "transaction_id",
    "evaluation_round",
    "service_code",
    "service_name",
    "department_code",
    "department_name",
    "region_code",
    "channel",
    "channel_code",
    "level",
    "tags",
    "comment",
    *(f"score_{name}" for name in SCORE_INDICATORS),
    "evaluator_hash",
    "evaluator_type",
    "device_hash",
    "network_hash",
    "hall_code",
    "window_code",
    "staff_id",
    "evaluated_at",
    "ingested_at",
    "late",
    "beyond_horizon",
    "miskeyed",
    "source",
)

REJECTED_COLUMNS = (
    "reason",
    "message",
    "raw",
    "source_topic",
    "source_partition",
    "source_offset",
    "rejected_at",
)

PARTIALS_COLUMNS = (
    "dimension",
    "key",
    "window",
    "window_start",
    "window_end",
    "source_partition",
    "version",
    "level_1",
    "level_2",
    "level_3",
    "level_4",
    "level_5",
)


SUSPECTS_COLUMNS = (
    "evaluation_id",
    "version",
    "reasons",
    "score",
    "evidence",
    "department_code",
    "service_code",
    "channel",
    "level",
    "hall_code",
    "window_code",
    "staff_id",
    "evaluator_hash",
    "device_hash",
    "network_hash",
    "evaluated_at",
)


def _utc(moment: datetime) -> datetime:
    # Always aware: clickhouse-driver reads a naive datetime in the column's time zone
    # (Asia/Shanghai here), which would shift every time by eight hours.
    return moment.astimezone(UTC)


def rating_row(evaluation: Evaluation) -> tuple[Any, ...]:
    e = evaluation
    return (
        e.evaluation_id,
        e.transaction_id or "",
        e.evaluation_round,
        e.service_code,
        e.service_name or "",
        e.department_code,
        e.department_name or "",
        e.region_code,
        str(e.channel),
        e.channel_code,
        int(e.level),
        list(e.tags),
        e.comment or "",
        *(int(e.scores.get(name, 0)) for name in SCORE_INDICATORS),
        e.evaluator_hash or "",
        e.evaluator_type or 0,
        e.device_hash or "",
        e.network_hash or "",
        e.hall_code or "",
        e.window_code or "",
        e.staff_id or "",
        _utc(e.evaluated_at),
        _utc(e.ingested_at),
        1 if e.late else 0,
        1 if e.beyond_horizon else 0,
        1 if e.miskeyed else 0,
        e.source or "",
    )


TRANSACTIONS_COLUMNS = (
    "transaction_id",
    "service_code",
    "service_name",
    "department_code",
    "department_name",
    "region_code",
    "channel",
    "channel_code",
    "hall_code",
    "window_code",
    "staff_id",
    "stage",
    "completed_at",
    "ingested_at",
    "source",
)


def transaction_row(transaction: Transaction) -> tuple[Any, ...]:
    t = transaction
    return (
        t.transaction_id,
        t.service_code,
        t.service_name or "",
        t.department_code,
        t.department_name or "",
        t.region_code,
        str(t.channel),
        t.channel_code,
        t.hall_code or "",
        t.window_code or "",
        t.staff_id or "",
        str(t.stage),
        _utc(t.completed_at),
        _utc(t.ingested_at),
        t.source or "",
    )


INVITATIONS_COLUMNS = (
    "transaction_id",
    "service_code",
    "department_code",
    "region_code",
    "channel",
    "hall_code",
    "window_code",
    "completed_at",
    "due_at",
    "invited_at",
)


def invitation_row(invitation: Invitation) -> tuple[Any, ...]:
    i = invitation
    return (
        i.transaction_id,
        i.service_code,
        i.department_code,
        i.region_code,
        i.channel,
        i.hall_code or "",
        i.window_code or "",
        _utc(i.completed_at),
        _utc(i.due_at),
        _utc(i.invited_at),
    )


DEFAULT_RATINGS_COLUMNS = (
    "transaction_id",
    "service_code",
    "department_code",
    "region_code",
    "channel",
    "hall_code",
    "window_code",
    "level",
    "completed_at",
    "defaulted_at",
)


def default_rating_row(rating: DefaultRating) -> tuple[Any, ...]:
    r = rating
    return (
        r.transaction_id,
        r.service_code,
        r.department_code,
        r.region_code,
        r.channel,
        r.hall_code or "",
        r.window_code or "",
        r.level,
        _utc(r.completed_at),
        _utc(r.defaulted_at),
    )


def rejected_row(rejection: RejectedMessage) -> tuple[Any, ...]:
    r = rejection
    return (
        str(r.reason),
        r.message,
        r.raw_scrubbed,
        r.source_topic,
        r.source_partition,
        r.source_offset,
        _utc(r.rejected_at),
    )


def partial_row(window: WindowCounts) -> tuple[Any, ...]:
    w = window
    return (
        w.dimension,
        w.key,
        w.window,
        _utc(w.window_start),
        _utc(w.window_end),
        w.source_partition,
        w.version,
        w.level_1,
        w.level_2,
        w.level_3,
        w.level_4,
        w.level_5,
    )


ALERTS_COLUMNS = (
    "alert_id",
    "dimension",
    "key",
    "state",
    "bad",
    "total",
    "expected",
    "score",
    "window_start",
    "window_end",
    "at",
    "explanation",
)


def alert_row(alert: AlertEvent) -> tuple[Any, ...]:
    a = alert
    return (
        a.alert_id,
        a.dimension,
        a.key,
        a.state,
        a.bad,
        a.total,
        a.expected,
        a.score,
        _utc(a.window_start),
        _utc(a.window_end),
        _utc(a.at),
        a.explanation.model_dump_json(),
    )


CASE_EVENTS_COLUMNS = (
    "case_id",
    "event",
    "at",
    "department_code",
    "actor",
    "service_code",
    "level",
    "evaluated_at",
    "callback_due_at",
    "rectification_due_at",
    "action_id",
    "truthful",
    "reasonable",
    "category",
    "outcome",
    "satisfaction",
)

CASE_WARNINGS_COLUMNS = ("case_id", "deadline", "kind", "due_at", "at", "department_code")

_NEVER = datetime.fromtimestamp(0, UTC)


def case_event_row(event: CaseEvent) -> tuple[Any, ...]:
    e = event
    return (
        e.case_id,
        e.event,
        _utc(e.at),
        e.department_code,
        e.actor or "",
        e.service_code or "",
        e.level or 0,
        _utc(e.evaluated_at or _NEVER),
        _utc(e.callback_due_at or _NEVER),
        _utc(e.rectification_due_at or _NEVER),
        e.action_id or "",
        _flag(e.truthful),
        _flag(e.reasonable),
        e.category or "",
        e.outcome or "",
        e.satisfaction or "",
    )


# what a case event that came from no action lands with in the issue-27 columns
NO_ACTION: dict[str, Any] = {
    "action_id": "",
    "truthful": -1,
    "reasonable": -1,
    "category": "",
    "outcome": "",
    "satisfaction": "",
}


def _flag(value: bool | None) -> int:
    """-1 where the event does not say (only a 核实 does), else 0 or 1."""
    return -1 if value is None else int(value)


def case_warning_row(warning: CaseWarning) -> tuple[Any, ...]:
    w = warning
    return (w.case_id, w.deadline, w.kind, _utc(w.due_at), _utc(w.at), w.department_code)


def window_rows(value: bytes) -> list[tuple[Any, ...]]:
    """A record of satisfaction.windows: one window, or a minute bundle of many."""
    return [
        partial_row(WindowCounts.from_state(state)) for state in window_states(json.loads(value))
    ]


def suspect_row(event: SuspectEvent) -> tuple[Any, ...]:
    e = event
    return (
        e.evaluation_id,
        e.version,
        list(e.reasons),
        float(e.score),
        # reason → why, as "reason: why" lines (18.16 has no Map)
        [f"{reason}: {why}" for reason, why in sorted(e.evidence.items())],
        e.department_code,
        e.service_code,
        e.channel,
        e.level,
        e.hall_code,
        e.window_code,
        e.staff_id,
        e.evaluator_hash,
        e.device_hash,
        e.network_hash,
        _utc(e.evaluated_at),
    )
