"""An action from a form: checked as the worker will check it, stamped with who acted, sent to
``cases.actions``, and its verdict looked up afterwards (the worker's event on
``cases.events``, or its refusal on ``ratings.rejected``, as the sink landed them)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from schemas.actions import CaseAction, parse_case_action
from workorders.casefiles import Execute
from workorders.users import User

Send = Callable[[CaseAction], tuple[int, int]]  # → (partition, offset) on cases.actions

VERDICT_EVENT: Final = """
SELECT event FROM case_events FINAL
WHERE case_id = %(case_id)s AND action_id = %(action_id)s LIMIT 1
"""
VERDICT_REFUSAL: Final = """
SELECT message FROM rejected FINAL
WHERE source_topic = %(topic)s AND source_partition = %(partition)s AND source_offset = %(offset)s
LIMIT 1
"""
_YES_NO: Final = {"yes": True, "no": False}
_FIELDS: Final = ("department_code", "category", "outcome", "satisfaction", "note")


class FormProblem(ValueError):
    """The form does not make an action; the message says which field and why."""


def action_from_form(case_id: str, form: Mapping[str, Any], user: User) -> CaseAction:
    value: dict[str, Any] = {
        "action_id": uuid.uuid4().hex,
        "case_id": case_id,
        "action": str(form.get("action", "")),
        "at": datetime.now(UTC).isoformat(),
        "actor": user.user_id,
        "actor_role": user.role,
        "actor_departments": list(user.departments),
    }
    for name in _FIELDS:
        text = str(form.get(name, "")).strip()
        if text:
            value[name] = text
    for name in ("truthful", "reasonable"):
        if form.get(name) in _YES_NO:
            value[name] = _YES_NO[str(form.get(name))]
    parsed = parse_case_action(json.dumps(value, ensure_ascii=False).encode())
    if isinstance(parsed, tuple):
        raise FormProblem(parsed[1])
    return parsed


def kafka_sender(settings: Any) -> Send:
    """Sends to cases.actions with kafka-python (thread-safe: one producer for all requests),
    waiting for the broker's acknowledgement."""
    from kafka import KafkaProducer

    from runtime.kafka_security import kafka_security

    producer: list[KafkaProducer] = []

    def send(action: CaseAction) -> tuple[int, int]:
        if not producer:
            producer.append(
                KafkaProducer(
                    bootstrap_servers=settings.kafka_servers,
                    acks="all",
                    **kafka_security(settings),
                )
            )
        future = producer[0].send(
            settings.topic_case_actions, key=action.kafka_key(), value=action.to_json_bytes()
        )
        metadata = future.get(timeout=10)
        return metadata.partition, metadata.offset

    return send


def verdict(
    read: Execute, topic: str, case_id: str, action_id: str, partition: int, offset: int
) -> tuple[str, str] | None:
    """("accepted", event) or ("refused", why) once landed; None while the worker and the sink
    are still at it."""
    found = read(VERDICT_EVENT, {"case_id": case_id, "action_id": action_id})
    if found:
        return "accepted", str(found[0][0])
    params = {"topic": topic, "partition": partition, "offset": offset}
    refused = read(VERDICT_REFUSAL, params)
    if refused:
        return "refused", str(refused[0][0])
    return None
