from streams.dedupe import Deduplicator, Verdict


def decide(
    d: Deduplicator, offset: int, eid: str, txn: str | None = None, rnd: int = 1, partition: int = 0
) -> Verdict:
    verdict, _ = d.decide(
        partition=partition,
        offset=offset,
        timestamp=1000.0 + offset,
        evaluation_id=eid,
        transaction_id=txn,
        evaluation_round=rnd,
    )
    return verdict


def test_first_evaluation_counts_and_a_resend_is_a_repeat() -> None:
    d = Deduplicator({})
    assert decide(d, 1, "e1", "t1") is Verdict.FIRST
    assert decide(d, 5, "e1", "t1") is Verdict.REPEAT


def test_second_evaluation_of_the_same_round_is_a_duplicate_transaction() -> None:
    d = Deduplicator({})
    assert decide(d, 1, "e1", "t1", 1) is Verdict.FIRST
    assert decide(d, 2, "e2", "t1", 1) is Verdict.DUPLICATE_TRANSACTION
    # a follow-up evaluation (追评) is round 2: allowed once
    assert decide(d, 3, "e3", "t1", 2) is Verdict.FIRST
    assert decide(d, 4, "e4", "t1", 2) is Verdict.DUPLICATE_TRANSACTION


def test_without_transaction_the_evaluation_id_is_the_unit() -> None:
    d = Deduplicator({})
    assert decide(d, 1, "e1") is Verdict.FIRST
    assert decide(d, 2, "e1") is Verdict.REPEAT
    assert decide(d, 3, "e2") is Verdict.FIRST


def test_a_replay_decides_exactly_as_the_first_run() -> None:
    state: dict[str, list[object]] = {}
    first = Deduplicator(state)
    stream = [(1, "e1", "t1"), (2, "e1", "t1"), (3, "e2", "t1"), (4, "e3", "t2")]
    verdicts = [decide(first, o, e, t) for o, e, t in stream]
    # after a crash the worker recovers the state and re-reads from an older offset
    replayed = Deduplicator(state)
    assert [decide(replayed, o, e, t) for o, e, t in stream] == verdicts
    assert verdicts == [Verdict.FIRST, Verdict.REPEAT, Verdict.DUPLICATE_TRANSACTION, Verdict.FIRST]


def test_state_is_per_partition_and_expires_by_message_time() -> None:
    state: dict[str, list[object]] = {}
    d = Deduplicator(state)
    decide(d, 1, "e1", partition=0)
    decide(d, 900, "e2", partition=0)
    decide(d, 1, "e9", partition=1)
    assert all(key.split("|")[0] in {"0", "1"} for key in state)
    expired = list(d.expired(partition=0, watermark=1000.0 + 900, ttl_s=100))
    assert expired == ["0|e|e1"]


def test_expiry_returns_each_old_claim_once_and_keeps_new_ones() -> None:
    state: dict = {}
    dedupe = Deduplicator(state)
    assert list(dedupe.expired(0, 0, 100)) == []  # builds the index
    for offset in range(10):
        dedupe.decide(
            partition=0,
            offset=offset,
            timestamp=float(offset * 50),
            evaluation_id=f"E{offset}",
            transaction_id=None,
            evaluation_round=1,
        )
    due = list(dedupe.expired(0, watermark=300.0, ttl_s=100))
    assert due == ["0|e|E0", "0|e|E1", "0|e|E2", "0|e|E3"]  # claimed before 200
    for key in due:
        dedupe.forget(key)
    assert list(dedupe.expired(0, watermark=300.0, ttl_s=100)) == []
    assert len(state) == 6
