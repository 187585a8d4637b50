"""Records Faust took from aiokafka but never handed to an agent are fetched again.

Faust's ``Consumer.getmany`` drains a batch from aiokafka (whose position then moves past
it) and yields it record by record; it silently skips the rest of the batch when the flow
stops or the generation changes mid-batch, and skips the records of a partition no longer in
its active set (paused since the batch was fetched). Faust relies on a seek to the committed
offsets after the rebalance to read them again. When no such seek follows, aiokafka's
position stays past records nobody processed: the partition then looks read to the end, its
next records arrive after a gap, and a worker with no later records waits for ever (issue 26
part 3, seen in CI as a case action never judged after a restart).

So after each batch the worker compares what it took with what it yielded and moves
aiokafka's position back to the first record not yielded. Moving back is always safe: the
worker is at-least-once and every step is idempotent; it never moves a position forward.
Unless a rebalance is under way (the flow stopped) or came since the batch was taken: the
new generation seeks every partition to its committed offset, and a position moved to the old
batch's first undelivered record after that seek would skip the records between the two,
which nobody processed yet.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

log = logging.getLogger("haochaping.worker")


def first_undelivered(
    taken: Mapping[Any, Sequence[Any]], delivered: Mapping[Any, int]
) -> dict[Any, int]:
    """For each partition, the offset of the first record taken but not delivered.

    ``taken``: the records of a batch per partition, in offset order; ``delivered``: the
    offset of the last record yielded per partition (a partition's records are yielded in
    order, so everything after it was not)."""
    missed = {}
    for tp, records in taken.items():
        if not records:
            continue
        last = delivered.get(tp)
        first = records[0].offset if last is None else last + 1
        if first <= records[-1].offset:
            missed[tp] = first
    return missed


class RefetchUndelivered:
    """A mixin for Faust's aiokafka ``Consumer``: every batch ``getmany`` did not deliver in
    full is fetched again from its first undelivered record."""

    _taken: Mapping[Any, Sequence[Any]] | None = None
    _taken_generation: int | None = None

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        records = await super()._getmany(active_partitions, timeout)  # type: ignore[misc]
        self._taken = records
        self._taken_generation = _generation(self)
        return records

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        self._taken = None
        delivered: dict[Any, int] = {}
        async for tp, message in super().getmany(timeout):  # type: ignore[misc]
            delivered[tp] = message.offset
            yield tp, message
        taken, self._taken = self._taken, None
        if taken:
            await self._rewind(first_undelivered(taken, delivered))

    async def _rewind(self, missed: Mapping[Any, int]) -> None:
        consumer: Any = self
        if not missed or _stopping(consumer):
            return  # a process shutting down reads nothing more: its successor reads the commit
        if not consumer.flow_active or _generation(consumer) != self._taken_generation:
            return  # a rebalance: the new generation reads from the committed offsets
        assigned = consumer.assignment()
        for tp, offset in missed.items():
            position = _position(consumer, tp)
            if tp not in assigned or position is None or position <= offset:
                continue  # revoked (its next owner reads from the commit), or already back
            log.warning(
                "records %s:%d from offset %d to %d were fetched but not delivered "
                "(partition %s); fetching them again",
                tp.topic,
                tp.partition,
                offset,
                position - 1,
                "active" if tp in (consumer._active_partitions or ()) else "inactive",
            )
            try:
                await consumer.seek(tp, offset)
            except Exception as exc:  # a rebalance took it meanwhile: its seek wins
                log.info("no refetch of %s:%d: %s", tp.topic, tp.partition, exc)


def _generation(consumer: Any) -> int | None:
    app = getattr(consumer, "app", None)
    return getattr(app, "consumer_generation_id", None)


def _stopping(consumer: Any) -> bool:
    # the app stops its fetcher before its consumer: the app's flag is set first
    app = getattr(consumer, "app", None)
    return bool(consumer.should_stop or getattr(app, "should_stop", False))


def _position(consumer: Any, tp: Any) -> int | None:
    """aiokafka's position of ``tp``, read (not changed) from the event loop's thread."""
    try:
        kafka = consumer._thread._consumer
        state = kafka._subscription.subscription.assignment.state_value(tp)
    except (AttributeError, KeyError, TypeError):
        return None
    if state is None or not state.has_valid_position:
        return None
    return int(state.position)
