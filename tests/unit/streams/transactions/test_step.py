"""The 办件 step on the in-memory harness (the routing production runs): accepted to
transactions.valid keyed by transaction_id, the rest on ratings.rejected, and a replay writes
the very same records (issue 28)."""

from __future__ import annotations

from runtime.settings import Settings
from schemas.rejection import RejectedMessage
from schemas.transaction import Transaction
from streams.testing import InMemoryPipeline
from tests.unit.streams.transactions.test_decision import raw

AT = 1_764_554_400.0  # 2025-12-01 02:00 UTC


def test_transactions_are_checked_and_a_replay_writes_the_same_records() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    pipeline = InMemoryPipeline(settings)
    good = [raw(transaction_id=f"T{i}", completed_at="2025-12-01T09:00:00+08:00") for i in range(5)]
    bad = [b"{oops", raw(channel="fax")]
    pipeline.send(settings.topic_transactions, [(None, m) for m in good + bad], at=AT)
    pipeline.run()

    valid = pipeline.log(settings.topic_transactions_valid).records()
    assert sorted(r.key for r in valid if r.key) == [f"T{i}".encode() for i in range(5)]
    kept = {Transaction.from_json_bytes(r.value).transaction_id for r in valid if r.value}
    assert kept == {f"T{i}" for i in range(5)}
    rejected = [
        RejectedMessage.from_json_bytes(r.value)
        for r in pipeline.log(settings.topic_rejected).records()
        if r.value
    ]
    assert sorted(r.reason.value for r in rejected) == ["not_json", "unknown_channel"]
    assert {r.source_topic for r in rejected} == {settings.topic_transactions}

    first = sorted(r.value for r in valid if r.value)
    pipeline.crash()
    pipeline.replay(settings.topic_transactions)
    pipeline.run()
    both = sorted(
        r.value for r in pipeline.log(settings.topic_transactions_valid).records() if r.value
    )
    assert both == sorted(first * 2)  # byte for byte: the table keeps one row per transaction
