"""What the worker's consumer commits (streams/worker/commits.py), through Faust's own commit
arithmetic (``Consumer._new_offset``) on a consumer that is built but not started."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from aiokafka.structs import TopicPartition
from faust.transport.drivers.aiokafka import Consumer as AiokafkaConsumer

from streams.worker.commits import ExactCommits, distinct_sorted, gap_between
from streams.worker.kafka import IdempotentTransport, PromptConsumer

DONE = TopicPartition("transactions.done", 0)


def test_a_gap_is_the_offsets_between_two_records() -> None:
    assert gap_between(10, 14) == (11, 13)
    assert gap_between(10, 11) is None and gap_between(10, 12) == (11, 11)


def test_offsets_are_counted_once() -> None:
    assert distinct_sorted([12, 11, 11, 13, 12]) == [11, 12, 13]


def consumer_of(consumer_class: type[Any], acked: list[int], committed: int) -> Any:
    app = faust.App("test-commits", broker="kafka://127.0.0.1:1", store="memory://")
    app.transport = IdempotentTransport(app.conf.broker_consumer, app)

    async def ignore(message: Any) -> None:
        return None

    consumer = consumer_class(
        app.transport, callback=ignore, on_partitions_revoked=None, on_partitions_assigned=None
    )
    consumer._acked[DONE] = list(acked)
    consumer._acked_index[DONE] = set(acked)
    consumer._committed_offset[DONE] = committed
    return consumer


# what was found in the stalled follow-up half: a run of offsets acknowledged twice
TWICE = [10, 11, 11, 12, 12, 13, 13, 14, 15]


def test_offsets_acknowledged_twice_are_committed_in_one_step() -> None:
    assert consumer_of(PromptConsumer, TWICE, committed=10)._new_offset(DONE) == 16


def test_fausts_own_commit_moved_one_offset_at_a_time_past_them() -> None:
    consumer = consumer_of(AiokafkaConsumer, TWICE, committed=10)
    steps = []
    for _ in range(3):
        steps.append(consumer._new_offset(DONE))
        consumer._committed_offset[DONE] = steps[-1]
    assert steps == [12, 13, 14]


def test_a_gap_leaves_the_record_after_it_to_its_own_acknowledgement() -> None:
    def gaps(consumer_class: type[Any]) -> list[tuple[int, int]]:
        consumer = consumer_of(consumer_class, [10], committed=10)
        # Faust's fetch loop: record 15 read after 10
        asyncio.run(consumer._add_gap(DONE, 11, 15))
        return sorted((i.begin, i.end) for i in consumer._gap[DONE])

    assert gaps(Exact) == [(11, 15)]  # 11..14: 15 is committed when it is acknowledged
    assert gaps(AiokafkaConsumer) == [(11, 16)]  # Faust's: 15 taken as a gap too
    # with 10 and 16 acknowledged and 15 still being processed, Faust's committed past 15;
    # the gap waits for 15
    commits = []
    for consumer_class in (Exact, AiokafkaConsumer):
        consumer = consumer_of(consumer_class, [10, 16], committed=10)
        asyncio.run(consumer._add_gap(DONE, 11, 15))
        commits.append(consumer._new_offset(DONE))
    assert commits == [11, 17]


class Exact(ExactCommits, AiokafkaConsumer):
    pass


def test_a_gap_counts_only_once_the_record_after_it_is_acknowledged() -> None:
    """Seen after a restart: the fetch loop took 1012..1243 for a gap (a prefetched 1244, not
    delivered); 1011..1020 were then acknowledged, and Faust committed 1244."""
    acked = list(range(1011, 1021))
    faust_own = consumer_of(AiokafkaConsumer, acked, committed=1011)
    asyncio.run(faust_own._add_gap(DONE, 1012, 1244))
    rounds = []
    for _ in range(10):  # a commit a second
        rounds.append(faust_own._new_offset(DONE))
        faust_own._committed_offset[DONE] = rounds[-1]
    assert rounds[-1] == 1245  # 1021..1244 never processed
    consumer = consumer_of(Exact, acked, committed=1011)
    asyncio.run(consumer._add_gap(DONE, 1012, 1244))
    assert consumer._new_offset(DONE) == 1021
    consumer._committed_offset[DONE] = 1021
    # the records come again in order; once 1244 is acknowledged the rest counts as read
    for offset in range(1021, 1245):
        consumer._acked[DONE].append(offset)
        consumer._acked_index[DONE].add(offset)
    assert consumer._new_offset(DONE) == 1245
    assert not consumer._gap[DONE]


def test_a_gap_the_records_never_fill_is_passed_once_the_record_after_it_is_done() -> None:
    """Records gone (retention) or fetched by the agents themselves (streams/worker/gaps.py):
    nothing is acknowledged inside the gap, and the commit moves past it with the record
    after it."""
    consumer = consumer_of(Exact, [10], committed=10)
    asyncio.run(consumer._add_gap(DONE, 11, 20))
    assert consumer._new_offset(DONE) == 11
    consumer._committed_offset[DONE] = 11
    consumer._acked[DONE].append(20)
    consumer._acked_index[DONE].add(20)
    assert consumer._new_offset(DONE) == 21
