"""The simulator's 办件 (issue 28): valid on the contract, completed before their evaluation,
rated at each channel's share, the same for the same seed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from channels.simulation import Simulator
from channels.simulation.transactions import RATED_SHARE, TransactionMaker
from schemas.codes import Channel
from schemas.transaction import Transaction
from streams.transactions.decision import check

NOW = datetime.fromisoformat("2026-12-01T12:00:00+08:00")


def evaluations(count: int) -> list[dict[str, object]]:
    messages = Simulator(seed=3).stream(count, scenario="steady", start=NOW.replace(hour=9))
    return [json.loads(m.value) for m in messages]


def test_every_transaction_passes_the_check_and_comes_before_its_evaluation() -> None:
    maker = TransactionMaker(seed=1)
    for evaluation in evaluations(500):
        made = maker.for_evaluation(evaluation)
        for transaction in made:
            kept = check(json.dumps(transaction).encode(), now=NOW, clock_skew_s=300)
            assert isinstance(kept, Transaction), kept
        if made:
            own = made[0]
            assert own["transaction_id"] == evaluation["transaction_id"]
            assert own["completed_at"] < str(evaluation["evaluated_at"])
            assert {t["transaction_id"] for t in made[1:]}.isdisjoint({own["transaction_id"]})


def test_each_channel_is_rated_at_its_share() -> None:
    maker = TransactionMaker(seed=2)
    made: Counter[Channel] = Counter()
    rated: Counter[Channel] = Counter()
    for evaluation in evaluations(6000):
        for transaction in maker.for_evaluation(evaluation):
            channel = Channel.parse(transaction["channel"])
            made[channel] += 1
            rated[channel] += transaction["transaction_id"] == evaluation["transaction_id"]
    for channel, count in made.items():
        if rated[channel] >= 100:  # enough to judge the share
            assert abs(rated[channel] / count - RATED_SHARE[channel]) < 0.08, channel


def test_no_transaction_without_an_id_or_for_a_follow_up() -> None:
    maker = TransactionMaker(seed=3)
    evaluation = evaluations(1)[0]
    assert maker.for_evaluation({**evaluation, "transaction_id": None}) == []
    assert maker.for_evaluation({**evaluation, "evaluation_round": 2}) == []


def test_the_same_seed_makes_the_same_transactions() -> None:
    batch = evaluations(50)
    one, two, other = TransactionMaker(seed=9), TransactionMaker(seed=9), TransactionMaker(seed=8)
    first = [one.for_evaluation(e) for e in batch]
    assert [two.for_evaluation(e) for e in batch] == first
    assert [other.for_evaluation(e) for e in batch] != first
