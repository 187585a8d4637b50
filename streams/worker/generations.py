"""A record fetched before a rebalance is not delivered after it, nor marks its partition read.

Faust's fetch loop (``Consumer._drain_messages``) hands each record to the conductor and then
sets its partition's read offset to it, whatever happened meanwhile. The loop also commits
inline, every ``broker_commit_every`` acknowledgements, and a commit waits out a rebalance:
when it returns, the new generation has sought every partition to its committed offset C,
and the loop still hands over the old generation's record (offset m > C) and sets the read
offset to m. The new generation then drops the records C..m-1 as already read ("DROPPED
MESSAGE ROFF"); their acknowledgements never come, Faust commits only the run of acknowledged
offsets that follows C, so the commit stays at C for ever, and the watchdog, which reads the
commit, ends the worker as stalled (issue 26, part 3: a warm ``make demo`` on a loaded
machine, the follow-up half's ``transactions.done`` commits held at the offsets it started at).

So a record of a past generation is not delivered (the new generation reads it again from the
committed offset) and the read offset the loop then sets for it is put back: to the committed
offset the new generation sought to, or to none when the partition has no commit yet (Faust's
rebalance removed it; its seek sets it again).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

log = logging.getLogger("haochaping.worker")


def is_stale(message: Any, generation: int) -> bool:
    """A record converted in another generation than the consumer's current one."""
    return bool(message.generation_id != generation)


def restored_read_offset(committed: int | None) -> int | None:
    """What a rebalance's seek sets a read offset to (Faust's ``perform_seek``): the committed
    offset, none for a partition without a commit."""
    return committed if committed else None


class CurrentGenerationOnly:
    """A mixin for Faust's aiokafka ``Consumer``: records of a past generation are dropped
    before the conductor sees them, and the fetch loop's read offset for them undone."""

    _stale: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        consumer: Any = self
        consumer.callback = self._current_only(consumer.callback)

    def _current_only(
        self, deliver: Callable[[Any], Awaitable[None]]
    ) -> Callable[[Any], Awaitable[None]]:
        consumer: Any = self

        async def deliver_current(message: Any) -> None:
            if is_stale(message, consumer.app.consumer_generation_id):
                self._stale = message
                return
            await deliver(message)

        return deliver_current

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        consumer: Any = self
        self._stale = None
        async for tp, message in super().getmany(timeout):  # type: ignore[misc]
            yield tp, message
            # the fetch loop has handed the record over and set its read offset by now
            if self._stale is message:
                self._stale = None
                self._undo_read_offset(consumer, tp, message.offset)

    @staticmethod
    def _undo_read_offset(consumer: Any, tp: Any, offset: int) -> None:
        read = consumer._read_offset
        if read.get(tp) != offset:
            return  # a seek came after the loop's write: it stands
        restored = restored_read_offset(consumer._committed_offset.get(tp))
        log.warning(
            "record %s:%d at offset %d is of a past generation: not delivered, read offset "
            "put back to %s (the new generation reads it again from its commit)",
            tp.topic,
            tp.partition,
            offset,
            restored,
        )
        if restored is None:
            read.pop(tp, None)
        else:
            read[tp] = restored
