"""Exactly-once counting at ingest: repeated evaluations and "一次一评".

State is kept per source partition (every key starts with the partition number) so that
it lives in the changelog partition of the same number and moves with its partition on a
rebalance. A record names the message that first claimed an evaluation or a transaction
round, by offset: when Faust replays that very message after a crash it is recognised as
the same message, not as a duplicate, so a replay decides exactly as the first run did.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass


class Verdict(enum.Enum):
    FIRST = "first"  # count it (also a replay of the message that first claimed it)
    REPEAT = "repeat"  # the same evaluation sent again: drop silently, count in a metric
    DUPLICATE_TRANSACTION = "duplicate_transaction"  # another evaluation of a rated round


@dataclass(frozen=True, slots=True)
class Claim:
    offset: int
    evaluation_id: str
    claimed_at: float  # message timestamp, epoch seconds; used for expiry


def claim_key(
    partition: int, evaluation_id: str, transaction_id: str | None, evaluation_round: int
) -> str:
    # With a transaction the round is the unit of "一次一评"; a resent evaluation lands on the
    # same round key too, so one record answers both questions.
    if transaction_id:
        return f"{partition}|t|{transaction_id}|{evaluation_round}"
    return f"{partition}|e|{evaluation_id}"


class Deduplicator:
    """Decides FIRST / REPEAT / DUPLICATE_TRANSACTION; the state mapping is its only memory."""

    def __init__(self, state: MutableMapping[str, list[object]]) -> None:
        self._state = state
        # per partition, (claimed at, key): expiry pops what is due instead of a full scan
        self._claims: dict[int, list[tuple[float, str]]] = {}

    def decide(
        self,
        *,
        partition: int,
        offset: int,
        timestamp: float,
        evaluation_id: str,
        transaction_id: str | None,
        evaluation_round: int,
    ) -> tuple[Verdict, Claim | None]:
        key = claim_key(partition, evaluation_id, transaction_id, evaluation_round)
        record = self._state.get(key)
        if record is None:
            self._state[key] = [offset, evaluation_id, timestamp]
            claims = self._claims.get(partition)
            if claims is not None:
                heapq.heappush(claims, (timestamp, key))
            return Verdict.FIRST, None
        claim = Claim(int(record[0]), str(record[1]), float(record[2]))  # type: ignore[call-overload, arg-type]
        if claim.offset == offset:
            return Verdict.FIRST, claim
        if claim.evaluation_id == evaluation_id:
            return Verdict.REPEAT, claim
        return Verdict.DUPLICATE_TRANSACTION, claim

    def forget(self, key: str) -> None:
        del self._state[key]

    def expired(self, partition: int, watermark: float, ttl_s: float) -> Iterable[str]:
        """Keys of this partition claimed more than ``ttl_s`` before the partition's watermark;
        each is returned once (the caller forgets it)."""
        claims = self._claims.get(partition)
        if claims is None:
            claims = self._claims[partition] = self._scan(partition)
        horizon, due = watermark - ttl_s, []
        while claims and claims[0][0] < horizon:
            claimed_at, key = heapq.heappop(claims)
            record = self._state.get(key)
            if record is not None and float(record[2]) == claimed_at:  # type: ignore[arg-type]
                due.append(key)
        return due

    def _scan(self, partition: int) -> list[tuple[float, str]]:
        prefix = f"{partition}|"
        claims = [
            (float(record[2]), key)  # type: ignore[arg-type]
            for key, record in list(self._state.items())
            if key.startswith(prefix)
        ]
        heapq.heapify(claims)
        return claims

    def forget_partition(self, partition: int) -> None:
        """The partition moved away; its next owner rebuilds the index from the state."""
        self._claims.pop(partition, None)
