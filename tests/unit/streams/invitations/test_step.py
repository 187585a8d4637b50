"""主动邀评 on the in-memory harness, the routing production runs: 办件 and evaluations in
either order, the unrated ones invited once, never again after a crash and a replay of both
inputs (issue 28)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from runtime.settings import Settings
from schemas.invitation import DefaultRating, Invitation
from streams.testing import InMemoryPipeline
from streams.topology import evaluated_topic

DONE = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
AT = DONE.timestamp()
AFTER = 72 * 3600


def transaction(n: int, completed: datetime = DONE) -> tuple[bytes, bytes]:
    value = {
        "transaction_id": f"T{n}", "service_code": "S1", "department_code": "D1",
        "region_code": "310101", "channel": "counter", "hall_code": "H1", "window_code": "W1",
        "completed_at": completed.isoformat(),
    }  # fmt: skip
    return f"T{n}".encode(), json.dumps(value).encode()


def evaluation(n: int) -> tuple[bytes, bytes]:
    value = {
        "evaluation_id": f"E{n}", "transaction_id": f"T{n}", "service_code": "S1",
        "department_code": "D1", "region_code": "310101", "channel": "counter", "level": 5,
        "evaluated_at": (DONE + timedelta(minutes=5)).isoformat(),
    }  # fmt: skip
    return f"T{n}".encode(), json.dumps(value).encode()


def invited(pipeline: InMemoryPipeline) -> list[str]:
    log = pipeline.log(pipeline.settings.topic_invitations)
    return sorted(
        Invitation.from_json_bytes(r.value).transaction_id for r in log.records() if r.value
    )


def test_unrated_transactions_are_invited_once_whatever_the_order_and_the_replays() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    pipeline = InMemoryPipeline(settings)
    # T0..T2 rated before their 办件 came, T3..T5 after; T6..T9 never
    pipeline.send_raw([evaluation(n) for n in range(3)], at=AT + 600)
    pipeline.run()
    pipeline.send(settings.topic_transactions, [transaction(n) for n in range(10)], at=AT + 700)
    pipeline.run()
    pipeline.send_raw([evaluation(n) for n in range(3, 6)], at=AT + 800)
    pipeline.run()

    assert pipeline.invite(AT + AFTER - 60) == 0  # not due yet
    assert pipeline.invite(AT + AFTER + 5) == 4
    assert invited(pipeline) == ["T6", "T7", "T8", "T9"]
    assert pipeline.invite(AT + AFTER + 10) == 0

    # a crash, then every input read again, and the 办件 resent: nobody is invited twice
    pipeline.crash()
    pipeline.replay(settings.topic_raw)
    pipeline.replay(settings.topic_transactions)
    pipeline.send(settings.topic_transactions, [transaction(n) for n in range(10)], at=AT + 900)
    pipeline.run()
    assert pipeline.invite(AT + AFTER + 20) == 0
    assert invited(pipeline) == ["T6", "T7", "T8", "T9"]


def test_evaluations_before_their_transactions_are_kept_a_bundle_an_entry_through_a_crash() -> (
    None
):
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    pipeline = InMemoryPipeline(settings)
    pipeline.send_raw([evaluation(n) for n in range(100)], at=AT + 600)
    pipeline.run()
    bundles = pipeline.log(evaluated_topic(settings)).records()
    # one table entry (one changelog record) per evaluated record, not per evaluation
    assert sorted(pipeline.states.invitations) == sorted(
        f"{r.partition}|@{r.offset}" for r in bundles
    )
    assert len(bundles) < 100

    pipeline.crash()  # the index in memory is lost; the table and the offsets are kept
    pipeline.send(settings.topic_transactions, [transaction(n) for n in range(103)], at=AT + 700)
    pipeline.run()
    assert pipeline.invite(AT + AFTER + 5) == 3
    assert invited(pipeline) == ["T100", "T101", "T102"]

    # past the horizon every entry is dropped, the bundles with the rest
    horizon = settings.transaction_horizon_days * 86_400
    later = AT + horizon + 3600
    pipeline.steps.invitations.expire(later, range(settings.topic_partitions))
    assert pipeline.states.invitations == {}


def test_a_transaction_read_past_its_horizon_is_not_invited() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    pipeline = InMemoryPipeline(settings)
    old = DONE - timedelta(days=settings.transaction_horizon_days + 1)
    pipeline.send(settings.topic_transactions, [transaction(1, old)], at=AT)
    pipeline.run()
    assert pipeline.invite(AT + 60) == 0


def test_no_invitations_and_no_evaluated_records_when_the_setting_is_zero() -> None:
    settings = Settings(_env_file=None, invitation_after_hours=0)  # type: ignore[call-arg]
    pipeline = InMemoryPipeline(settings)
    pipeline.send_raw([evaluation(1)], at=AT + 600)
    pipeline.send(settings.topic_transactions, [transaction(2)], at=AT + 600)
    pipeline.run()
    assert pipeline.invite(AT + AFTER + 5) == 0
    assert pipeline.log(evaluated_topic(settings)).records() == []
    assert pipeline.log(settings.topic_transactions_valid).records() != []


def defaulted(pipeline: InMemoryPipeline) -> list[str]:
    log = pipeline.log(pipeline.settings.topic_default_ratings)
    return sorted(
        DefaultRating.from_json_bytes(r.value).transaction_id for r in log.records() if r.value
    )


def test_no_default_rating_unless_the_setting_is_on() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.default_rating_after_days == 0  # off by default, as the issue asks
    pipeline = InMemoryPipeline(settings)
    pipeline.send(settings.topic_transactions, [transaction(1)], at=AT + 600)
    pipeline.run()
    assert pipeline.invite(AT + 14 * 86_400) == 1  # the invitation, nothing else
    assert defaulted(pipeline) == []


def test_unrated_transactions_are_rated_by_default_once_after_the_invitation() -> None:
    settings = Settings(_env_file=None, default_rating_after_days=7)  # type: ignore[call-arg]
    pipeline = InMemoryPipeline(settings)
    # T0 rated before the default, T1 rated after its invitation, T2..T3 never rated
    pipeline.send_raw([evaluation(0)], at=AT + 600)
    pipeline.send(settings.topic_transactions, [transaction(n) for n in range(4)], at=AT + 700)
    pipeline.run()
    assert pipeline.invite(AT + AFTER + 5) == 3  # T1, T2, T3 invited
    assert defaulted(pipeline) == []
    pipeline.send_raw([evaluation(1)], at=AT + AFTER + 3600)
    pipeline.run()

    week = 7 * 86_400
    assert pipeline.invite(AT + week - 60) == 0
    assert pipeline.invite(AT + week + 5) == 2
    assert defaulted(pipeline) == ["T2", "T3"]
    sent = pipeline.values(settings.topic_default_ratings)[0]
    assert sent["level"] == 3 and sent["defaulted_at"] and "invited_at" not in sent
    # a default rating is not an evaluation: nothing reached ratings.valid for it
    rated = {v["transaction_id"] for v in pipeline.values(settings.topic_valid)}
    assert rated == {"T0", "T1"}

    pipeline.crash()
    pipeline.replay(settings.topic_raw)
    pipeline.replay(settings.topic_transactions)
    pipeline.run()
    assert pipeline.invite(AT + week + 60) == 0
    assert defaulted(pipeline) == ["T2", "T3"]
    assert invited(pipeline) == ["T1", "T2", "T3"]


def test_default_ratings_alone_need_no_invitations() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, invitation_after_hours=0, default_rating_after_days=7
    )
    pipeline = InMemoryPipeline(settings)
    pipeline.send_raw([evaluation(0)], at=AT + 600)
    pipeline.send(settings.topic_transactions, [transaction(n) for n in range(2)], at=AT + 700)
    pipeline.run()
    assert pipeline.invite(AT + 7 * 86_400 + 5) == 1
    assert defaulted(pipeline) == ["T1"] and invited(pipeline) == []
