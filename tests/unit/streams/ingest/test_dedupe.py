from streams.ingest.dedupe import Deduplicator, Verdict


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
    state: dict[str, object] = {}
    first = Deduplicator(state)
    stream = [(1, "e1", "t1"), (2, "e1", "t1"), (3, "e2", "t1"), (4, "e3", "t2")]
    verdicts = [decide(first, o, e, t) for o, e, t in stream]
    first.drain()  # the batch's record, sent with its outputs before the offsets are committed
    # after a crash the worker recovers the state and re-reads from an older offset
    replayed = Deduplicator(state)
    assert [decide(replayed, o, e, t) for o, e, t in stream] == verdicts
    assert verdicts == [Verdict.FIRST, Verdict.REPEAT, Verdict.DUPLICATE_TRANSACTION, Verdict.FIRST]
    assert replayed.drain() == 0  # a replay claims nothing new, so it writes nothing


def test_a_batch_whose_record_was_lost_is_decided_again_the_same_way() -> None:
    state: dict[str, object] = {}
    d = Deduplicator(state)
    assert decide(d, 1, "e1", "t1") is Verdict.FIRST
    d.drain()
    stream = [(2, "e2", "t2"), (3, "e2", "t2"), (4, "e3", "t1")]
    verdicts = [decide(d, o, e, t) for o, e, t in stream]
    # crash before the second batch's record reached Kafka: only the first one recovers
    recovered = Deduplicator({k: v for k, v in state.items() if k == "0|b|1"})
    assert [decide(recovered, o, e, t) for o, e, t in stream] == verdicts


def test_one_record_per_partition_and_batch() -> None:
    state: dict[str, object] = {}
    d = Deduplicator(state)
    for offset in range(5):
        decide(d, offset, f"e{offset}", partition=0)
        decide(d, offset, f"e{offset}", partition=1)
    assert d.drain() == 2
    assert sorted(state) == ["0|b|0", "1|b|0"]
    assert len(state["0|b|0"]["claims"]) == 5  # type: ignore[index]


def test_claims_of_the_previous_format_are_read_and_expire() -> None:
    # a changelog written before issue 14: one claim per key
    state: dict[str, object] = {"0|t|t1|1": [7, "e1", 1000.0], "0|e|e5": [8, "e5", 5000.0]}
    d = Deduplicator(state)
    assert decide(d, 7, "e1", "t1") is Verdict.FIRST  # its replay
    assert decide(d, 9, "e1", "t1") is Verdict.REPEAT
    assert decide(d, 10, "e2", "t1") is Verdict.DUPLICATE_TRANSACTION
    assert list(d.expired(0, watermark=1200.0, ttl_s=100)) == ["0|t|t1|1"]


def test_state_is_per_partition_and_expires_by_message_time() -> None:
    state: dict[str, object] = {}
    d = Deduplicator(state)
    decide(d, 1, "e1", partition=0)
    d.drain()
    decide(d, 900, "e2", partition=0)
    decide(d, 1, "e9", partition=1)
    d.drain()
    assert all(key.split("|")[0] in {"0", "1"} for key in state)
    expired = list(d.expired(partition=0, watermark=1000.0 + 900, ttl_s=100))
    assert expired == ["0|b|1"]
    d.forget("0|b|1")
    # its claim is forgotten with it: the evaluation could come again as new
    assert decide(d, 950, "e1", partition=0) is Verdict.FIRST


def test_a_record_expires_once_its_newest_claim_is_past_the_horizon() -> None:
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
        if offset % 2:
            dedupe.drain()  # batches of two
    due = list(dedupe.expired(0, watermark=300.0, ttl_s=100))
    assert due == ["0|b|0", "0|b|2"]  # newest claims at 50 and 150, before 200
    for key in due:
        dedupe.forget(key)
    assert list(dedupe.expired(0, watermark=300.0, ttl_s=100)) == []
    assert len(state) == 3


def test_a_large_batch_is_split_so_that_no_record_nears_kafkas_limit() -> None:
    from streams.ingest.dedupe import CLAIMS_PER_RECORD

    state: dict[str, object] = {}
    d = Deduplicator(state)
    for offset in range(CLAIMS_PER_RECORD + 1):
        decide(d, offset, f"e{offset}")
    assert d.drain() == 2
    assert sorted(state) == ["0|b|0", f"0|b|{CLAIMS_PER_RECORD}"]
    replayed = Deduplicator(state)
    assert decide(replayed, CLAIMS_PER_RECORD, f"e{CLAIMS_PER_RECORD}") is Verdict.FIRST
    assert decide(replayed, CLAIMS_PER_RECORD + 5, "e0") is Verdict.REPEAT
