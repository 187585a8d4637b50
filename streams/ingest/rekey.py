"""一次一评 whatever key a channel sends with: mis-keyed evaluations go to their home partition.

Deduplication and window counts are per ``ratings.raw`` partition, so every copy of a
transaction must reach one partition. The contract asks producers to key by the transaction id
(else the evaluation id), but channel teams key by evaluation id, by device, or send no key.
An accepted evaluation found in another partition than its contract key's (murmur2, as Kafka's
clients place keyed records) is written, bytes and record time unchanged, to the worker's
internal topic ``<app>-ratings-rekeyed`` at that home partition, as Kafka Streams repartitions
after ``selectKey``; only mis-keyed records pay the extra write. Its Kafka key is where it came
from (``topic/partition/offset``), so that a rejection still names the original message.

The ingest step reads partition ``p`` of that topic as a source of its own,
``p + REKEYED_BASE``: its offsets have their own versions and hold-back order, while its state
lives with ``p`` (the same changelog partition, the same dedupe claims). Faust assigns both
topics' partition ``p`` to one worker (same partition count, same subscribers: co-partitioned).
"""

from __future__ import annotations

from typing import Final

from murmurhash2 import murmurhash2

from streams.records import Record

# Source ids of the rekeyed topic's partitions: p + REKEYED_BASE (ratings.raw has fewer
# partitions than this; settings refuse more). Window partials carry the source id.
REKEYED_BASE: Final = 10_000

# the seed of murmur2 in Kafka's clients (Java's Utils.murmur2, kafka-python's, aiokafka's)
MURMUR2_SEED: Final = 0x9747B28C


def contract_key(transaction_id: str | None, evaluation_id: str) -> bytes:
    """The key the contract asks for: the transaction id, else the evaluation id (utf-8)."""
    return (transaction_id or evaluation_id).encode()


def home_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's clients put a record keyed ``key`` in: murmur2 of the key, sign
    bit cleared, modulo the partition count (aiokafka's DefaultPartitioner, 30x faster)."""
    return (murmurhash2(key, MURMUR2_SEED) & 0x7FFFFFFF) % partitions


def state_partition(source: int) -> int:
    """The ratings.raw partition whose state (and changelog partition) a source shares."""
    return source % REKEYED_BASE


def is_rekeyed(source: int) -> bool:
    return source >= REKEYED_BASE


def origin(record: Record) -> Record:
    """A record of the rekeyed topic as the message it came from (its Kafka key names it), for
    a rejection; any other record as it is."""
    try:
        topic, partition, offset = (record.key or b"").decode().rsplit("/", 2)
        return Record(topic, int(partition), int(offset), record.timestamp, None, record.value)
    except ValueError:
        return record
