"""What one batch produces, sent together: one Kafka batch per topic and partition.

Faust's ``send_soon`` and table writes go through a buffer that sends message by message;
at two or three messages per evaluation that, not our logic, capped the worker (measured in
docs/benchmarks.md). Here a batch's output is grouped per partition and handed to aiokafka as
whole record batches. It uses Faust's own producer, whose flush before every offset commit
covers these batches too, so at-least-once holds.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Iterator, MutableMapping
from typing import Any, Protocol

import pydantic_core
from aiokafka import AIOKafkaProducer

from streams.ingest.rekey import home_partition, state_partition


class OutboxPort(Protocol):
    """Where a step puts what it produces; sent (or, in tests, kept) by whoever drives it.
    ``timestamp`` (epoch seconds) keeps a record's time when it is passed on unchanged; None:
    the time it is sent."""

    def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        timestamp: float | None = None,
    ) -> None: ...


Message = tuple[int | None, bytes | None, bytes | None, int | None]


class Outbox:
    def __init__(self) -> None:
        self._messages: dict[str, list[Message]] = defaultdict(list)
        self._partitions: dict[str, list[int]] = {}

    def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        timestamp: float | None = None,
    ) -> None:
        millis = None if timestamp is None else int(timestamp * 1000)
        self._messages[topic].append((partition, key, value, millis))

    async def send(self, producer: AIOKafkaProducer) -> None:
        """Send everything added since the last call; returns when Kafka has acknowledged it."""
        await asyncio.gather(*await self.hand_over(producer))

    async def hand_over(self, producer: AIOKafkaProducer) -> list[asyncio.Future[Any]]:
        """Put everything added since the last call into aiokafka's record batches; returns
        their deliveries, one future per record batch, without waiting for them.

        Once this returns, the records are in the producer's accumulator, which Faust's flush
        before every offset commit waits for: an offset acknowledged after this is not
        committed before these records are delivered. The flush also returns when a delivery
        failed, so whoever does not await the deliveries at once must make a failure stop
        the process before Faust can commit (streams/worker/kafka.py: ``watch_deliveries``)."""
        messages, self._messages = self._messages, defaultdict(list)
        deliveries: list[asyncio.Future[Any]] = []
        for topic, items in messages.items():
            partitions = self._partitions.get(topic)
            if partitions is None:
                partitions = self._partitions[topic] = sorted(await producer.partitions_for(topic))
            by_partition: dict[int, list[tuple[bytes | None, bytes | None, int | None]]] = (
                defaultdict(list)
            )
            for partition, key, value, millis in items:
                if partition is None:
                    # the same murmur2 partitioner as kafka-python and the Java client
                    partition = (
                        partitions[home_partition(key, len(partitions))]
                        if key is not None
                        else random.choice(partitions)
                    )
                by_partition[partition].append((key, value, millis))
            for partition, records in by_partition.items():
                batch = producer.create_batch()
                for key, value, millis in records:
                    if batch.append(key=key, value=value, timestamp=millis) is None:
                        deliveries.append(
                            await producer.send_batch(batch, topic, partition=partition)
                        )
                        batch = producer.create_batch()
                        batch.append(key=key, value=value, timestamp=millis)
                deliveries.append(await producer.send_batch(batch, topic, partition=partition))
        return deliveries


class ChangelogState(MutableMapping[str, Any]):
    """A Faust table's local data, with every change recorded in the outbox as a changelog
    record of the partition named by the key's ``"<partition>|"`` prefix (a source id of the
    rekeyed topic, streams/ingest/rekey.py, lives with its ratings.raw partition).

    Faust replays exactly these records into the table on recovery (raw key, JSON value).
    """

    def __init__(self, table: Any, outbox: Outbox) -> None:
        store = table.data
        # The memory store keeps its entries in a plain dict, which it reads and writes
        # itself (recovery included): used directly, a missing key costs a dict lookup, not
        # the KeyError the store's Mapping.get and `in` raise and catch (2.9 % of the
        # worker's samples with minute bundles, docs/benchmarks.md)
        inner = getattr(store, "data", None)
        self._data = inner if type(inner) is dict else store
        self._topic = table.changelog_topic.get_topic_name()
        self._outbox = outbox

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._outbox.add(
            self._topic,
            key.encode(),
            # pydantic-core's encoder: 4-7x json.dumps on window bundles (docs/benchmarks.md)
            pydantic_core.to_json(value),
            partition=state_partition(int(key.split("|", 1)[0])),
        )

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        partition = state_partition(int(key.split("|", 1)[0]))
        self._outbox.add(self._topic, key.encode(), None, partition=partition)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data.keys()))

    def __len__(self) -> int:
        return len(self._data)
