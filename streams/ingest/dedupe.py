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


# Claims per changelog record: a claim is at most about 200 bytes of JSON (a 64-character
# evaluation id, a 50-character transaction id, its offset and time), so a record stays far
# below Kafka's 1 MB whatever the batch size.
CLAIMS_PER_RECORD = 2000

# A claim in memory and in its batch record: [offset, evaluation_id, claimed_at].
ClaimData = list[object]


def batch_key(partition: int, first_offset: int) -> str:
    return f"{partition}|b|{first_offset}"


class Deduplicator:
    """Decides FIRST / REPEAT / DUPLICATE_TRANSACTION; the state mapping is its only memory.

    The state holds one record per partition and batch, ``"<p>|b|<first offset>"`` →
    ``{"claims": {claim key: [offset, evaluation_id, claimed_at]}}``: the claims that batch
    made, written by ``drain`` at the end of the batch, so the changelog costs one message per
    partition and batch instead of one per evaluation (issue 14). It is sent with the batch's
    outputs, before its offsets are committed, so a replay finds every claim that an output
    it already sent depended on; a batch whose record was lost is decided again from the same
    state, hence the same way. Lookups go through an index of claims per partition, built
    from the state the first time a partition is seen (after a recovery, that is from the
    recovered changelog). Records of the previous format (one claim per key, a list) are
    read too and expire the same way, so an upgraded worker recovers an old changelog.
    """

    def __init__(self, state: MutableMapping[str, object]) -> None:
        self._state = state
        # per partition: claim key -> claim, over every record of the state
        self._index: dict[int, dict[str, ClaimData]] = {}
        # per partition: the claims of the batch in progress, written by drain()
        self._pending: dict[int, dict[str, ClaimData]] = {}
        # per partition, (newest claim of the record, record key): expiry pops what is due
        # instead of a full scan
        self._expiry: dict[int, list[tuple[float, str]]] = {}

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
        claims = self._claims(partition)
        record = claims.get(key)
        if record is None:
            record = [offset, evaluation_id, timestamp]
            claims[key] = record
            self._pending.setdefault(partition, {})[key] = record
            return Verdict.FIRST, None
        claim = Claim(int(record[0]), str(record[1]), float(record[2]))  # type: ignore[call-overload, arg-type]
        if claim.offset == offset:
            return Verdict.FIRST, claim
        if claim.evaluation_id == evaluation_id:
            return Verdict.REPEAT, claim
        return Verdict.DUPLICATE_TRANSACTION, claim

    def drain(self) -> int:
        """Write the claims made since the last drain, one record per partition; returns
        how many records were written."""
        pending, self._pending = self._pending, {}
        written = 0
        for partition, batch in pending.items():
            # in offset order (the order they were claimed), CLAIMS_PER_RECORD at a time
            items = list(batch.items())
            for start in range(0, len(items), CLAIMS_PER_RECORD):
                claims = dict(items[start : start + CLAIMS_PER_RECORD])
                self._write(partition, claims)
                written += 1
        return written

    def _write(self, partition: int, claims: dict[str, ClaimData]) -> None:
        first = min(int(claim[0]) for claim in claims.values())  # type: ignore[call-overload]
        name = batch_key(partition, first)
        stored = self._state.get(name)
        if isinstance(stored, dict):
            # the same first offset twice: a batch decided again after its record was
            # written, whose claims were then forgotten (a rebalance); keep both
            claims = {**stored["claims"], **claims}
        self._state[name] = {"claims": claims}
        heap = self._expiry.get(partition)
        if heap is not None:
            newest = max(float(claim[2]) for claim in claims.values())  # type: ignore[arg-type]
            heapq.heappush(heap, (newest, name))

    def forget(self, name: str) -> None:
        """Delete a record ``expired`` returned, and its claims."""
        record = self._state.pop(name, None)
        partition = int(name.split("|", 1)[0])
        index = self._index.get(partition)
        if index is None:
            return
        for key in _claims_of(name, record):
            index.pop(key, None)

    def expired(self, partition: int, watermark: float, ttl_s: float) -> Iterable[str]:
        """Records of this partition whose every claim was made more than ``ttl_s`` before
        the partition's watermark; each is returned once (the caller forgets it)."""
        heap = self._expiry.get(partition)
        if heap is None:
            heap = self._expiry[partition] = self._scan(partition)
        horizon, due = watermark - ttl_s, []
        while heap and heap[0][0] < horizon:
            newest, name = heapq.heappop(heap)
            record = self._state.get(name)
            if record is not None and _newest(name, record) == newest:
                due.append(name)
        return due

    def _claims(self, partition: int) -> dict[str, ClaimData]:
        index = self._index.get(partition)
        if index is None:
            index = self._index[partition] = {}
            for name, record in self._records(partition):
                index.update(_claims_of(name, record))
        return index

    def _records(self, partition: int) -> list[tuple[str, object]]:
        prefix = f"{partition}|"
        return [(k, v) for k, v in list(self._state.items()) if k.startswith(prefix)]

    def _scan(self, partition: int) -> list[tuple[float, str]]:
        heap = [(_newest(name, record), name) for name, record in self._records(partition)]
        heapq.heapify(heap)
        return heap

    def forget_partition(self, partition: int) -> None:
        """The partition moved away; its next owner rebuilds the index from the state."""
        self._index.pop(partition, None)
        self._pending.pop(partition, None)
        self._expiry.pop(partition, None)


def _claims_of(name: str, record: object) -> dict[str, ClaimData]:
    if isinstance(record, dict):
        return record["claims"]  # type: ignore[no-any-return]
    if isinstance(record, list):  # the previous format: one claim under its own key
        return {name: record}
    return {}


def _newest(name: str, record: object) -> float:
    claims = _claims_of(name, record)
    return max((float(c[2]) for c in claims.values()), default=float("-inf"))  # type: ignore[arg-type]
