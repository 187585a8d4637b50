"""Issue 26: 一次一评 whatever key a channel sends with (streams/ingest/rekey.py).

Through the worker's steps in memory (streams/testing.py): copies of one transaction keyed by
the transaction id, by the evaluation id, by a device, or not keyed at all, each in whatever
partition its key or the producer chose, count once, with and without a crash between them.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from channels.simulation import Simulator
from runtime.settings import Settings
from schemas.windows import window_states
from streams.ingest.rekey import REKEYED_BASE, contract_key, home_partition, origin
from streams.records import Record
from streams.testing import InMemoryPipeline

SETTINGS = Settings(demo_mode=True, topic_partitions=4, allowed_lateness_s=7 * 86_400)
AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Shanghai
AIOKAFKA = DefaultPartitioner()


def evaluations(count: int, seed: int = 1) -> list[dict[str, Any]]:
    simulator = Simulator(seed=seed, pii_rate=0.0, followup_rate=0.0)
    out = []
    for message in simulator.stream(count * 3, scenario="steady", start=AT):
        value = json.loads(message.value)
        if message.kind == "valid" and value.get("transaction_id"):
            out.append(value)
    return out[:count]


def home(evaluation: dict[str, Any]) -> int:
    key = contract_key(evaluation.get("transaction_id"), evaluation["evaluation_id"])
    return home_partition(key, SETTINGS.topic_partitions)


def elsewhere(evaluation: dict[str, Any], shift: int) -> int:
    return (home(evaluation) + shift) % SETTINGS.topic_partitions


def send(pipe: InMemoryPipeline, value: dict[str, Any], key: bytes | None, partition: int) -> None:
    pipe.send_raw([(key, json.dumps(value).encode())], AT.timestamp() + 60, partition=partition)


def counted(pipe: InMemoryPipeline, window: str) -> Counter[str]:
    """Evaluations per department in ``window`` entries, summed over every source."""
    totals: Counter[str] = Counter()
    for record in pipe.states.windows.values():
        for entry in window_states(record):
            if entry["dimension"] == "department" and entry["window"] == window:
                totals[entry["key"]] += sum(entry["levels"])
    return totals


def valid_ids(pipe: InMemoryPipeline) -> Counter[str]:
    return Counter(v["evaluation_id"] for v in pipe.values(SETTINGS.topic_valid))


def test_the_home_partition_is_where_kafka_clients_put_the_contract_key() -> None:
    # murmurhash2's murmur2 against aiokafka's (kafka-python's and the Java client's): the
    # partitions the outbox uses too, and every other client of the topics
    chooser = random.Random(31)
    for n in range(20_000):
        key = f"{chooser.choice(['T', 'E', '办件-'])}{n:08d}-{chooser.getrandbits(40):x}".encode()
        for partitions in (1, 3, 4, 12):
            every = list(range(partitions))
            assert home_partition(key, partitions) == AIOKAFKA(key, every, every), key
    assert contract_key("T-1", "E-1") == b"T-1" and contract_key(None, "E-1") == b"E-1"


@given(st.binary(max_size=200), st.integers(min_value=1, max_value=256))
def test_every_key_lands_where_aiokafka_puts_it(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert home_partition(key, partitions) == AIOKAFKA(key, every, every)


@pytest.mark.parametrize("crash_after", [None, 1, 2, 3])
def test_one_evaluation_under_three_keys_and_none_counts_once(crash_after: int | None) -> None:
    pipe = InMemoryPipeline(SETTINGS)
    [value] = evaluations(1)
    department = value["department_code"]
    copies = [
        (value["transaction_id"].encode(), home(value)),  # as the contract asks
        (value["evaluation_id"].encode(), elsewhere(value, 1)),  # keyed by evaluation id
        (b"device-7", elsewhere(value, 2)),  # keyed by device
        (None, elsewhere(value, 3)),  # no key: round-robin
    ]
    for n, (key, partition) in enumerate(copies, start=1):
        send(pipe, value, key, partition)
        pipe.run(crash_after=1 if crash_after == n else None)
    pipe.run()
    # a replay may send an accepted evaluation again: `ratings FINAL` keeps one per id
    assert set(valid_ids(pipe)) == {value["evaluation_id"]}
    assert counted(pipe, "1d")[department] == 1
    assert counted(pipe, "1m")[department] == 1
    assert pipe.values(SETTINGS.topic_rejected) == []
    # three went home through the rekeyed topic, each once (a crash may send one twice)
    rekeyed = pipe.log(f"{SETTINGS.app_id}-ratings-rekeyed").records()
    assert {r.partition for r in rekeyed} == {home(value)}
    assert {origin(r).partition for r in rekeyed} == {elsewhere(value, s) for s in (1, 2, 3)}


@pytest.mark.parametrize("crash_after", [None, 2])
def test_ten_transactions_evaluated_again_under_new_ids_are_rejected_as_duplicates(
    crash_after: int | None,
) -> None:
    """Issue 26's report: 100 evaluations, then 10 with new evaluation ids on used
    transaction ids, keyed by their evaluation id: 110 rows in ratings, want 100."""
    pipe = InMemoryPipeline(SETTINGS)
    first = evaluations(100, seed=2)
    for value in first:
        send(pipe, value, value["transaction_id"].encode(), home(value))
    pipe.run()
    again = [{**value, "evaluation_id": f"{value['evaluation_id']}-again"} for value in first[:10]]
    for value in again:
        partition = home_partition(value["evaluation_id"].encode(), SETTINGS.topic_partitions)
        send(pipe, value, value["evaluation_id"].encode(), partition)
    pipe.run(crash_after=crash_after)
    pipe.run()
    assert set(valid_ids(pipe)) == {v["evaluation_id"] for v in first}
    assert sum(counted(pipe, "1d").values()) == 100
    # a replay may repeat a rejection: ClickHouse keeps one row per source message
    rejected = list(
        {
            (r["source_topic"], r["source_partition"], r["source_offset"]): r
            for r in pipe.values(SETTINGS.topic_rejected)
        }.values()
    )
    assert Counter(r["reason"] for r in rejected) == Counter({"duplicate_transaction": 10})
    # each named by the message it came from, on ratings.raw
    assert {r["source_topic"] for r in rejected} == {SETTINGS.topic_raw}


def test_a_rekeyed_source_has_its_own_clock_and_offsets_but_shares_its_partitions_state() -> None:
    pipe = InMemoryPipeline(SETTINGS)
    [value] = evaluations(1, seed=3)
    send(pipe, value, None, elsewhere(value, 1))
    pipe.run()
    clocks = pipe.steps.ingest.surge_clocks
    assert set(clocks) == {home(value) + REKEYED_BASE}
    # state keys of the rekeyed source live in its ratings.raw partition's changelog
    prefixes = {key.split("|", 1)[0] for key in pipe.states.windows}
    assert prefixes == {str(home(value) + REKEYED_BASE)}
    changelog = [r for r in pipe.log(f"{SETTINGS.app_id}-windows-changelog").records()]
    assert changelog == [] or {r.partition for r in changelog} == {home(value)}


def test_origin_names_the_message_a_rekeyed_copy_came_from() -> None:
    copy = Record("app-ratings-rekeyed", 2, 5, 1.0, b"ratings.raw/3/41", b"{}")
    assert origin(copy) == Record("ratings.raw", 3, 41, 1.0, None, b"{}")
    odd = Record("app-ratings-rekeyed", 2, 5, 1.0, b"no slashes", b"{}")
    assert origin(odd) == odd
