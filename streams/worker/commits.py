"""What Faust commits: the run of acknowledged offsets after the commit, each offset once.

Faust keeps each partition's acknowledged offsets in a list and commits the end of the first
run of consecutive offsets in it, sorted; one repeated offset ends that run. Offsets do get in
twice: Faust adds the offsets it takes as gaps (no record there) to the list but not to the
index that refuses a second acknowledgement, so a range taken as a gap and then read after
all is there twice. With a hundred offsets in twice, each commit moved one offset, once a
second or slower, and the watchdog ended the worker as stalled (issue 26, part 3, caught with
a second member joining and leaving the follow-up group during a backlog:
``transactions.done:0`` had 23,022 acknowledgements over the 22,924 offsets from the commit to
the read offset, starting ``258930, 258931, 258931, 258932, 258932``).

And Faust's gap ran one offset too far: the record after a gap was taken as a gap itself, so
a commit could pass it before it was processed.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("haochaping.worker")


def distinct_sorted(offsets: list[int]) -> list[int]:
    return sorted(set(offsets))


def gap_between(last_read: int, next_read: int) -> tuple[int, int] | None:
    """The offsets with no record between two records read: (first, last), or None."""
    if next_read - last_read <= 1:
        return None
    return last_read + 1, next_read - 1


class ExactCommits:
    """A mixin for Faust's ``Consumer``: acknowledged offsets counted once, gaps exact."""

    def _new_offset(self, tp: Any) -> int | None:
        consumer: Any = self
        acked: list[int] = consumer._acked[tp]
        distinct = distinct_sorted(acked)
        if len(distinct) < len(acked):
            log.warning(
                "%s:%d: %d acknowledged offsets were there twice; each is committed once",
                tp.topic,
                tp.partition,
                len(acked) - len(distinct),
            )
        acked[:] = distinct
        offset: int | None = super()._new_offset(tp)  # type: ignore[misc]
        # the gaps Faust adds in there may repeat acknowledged offsets: the next one counts
        acked[:] = distinct_sorted(acked)
        return offset

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        # Faust passes the offset of the record after the gap as the gap's last
        gap = gap_between(offset_from - 1, offset_to)
        if gap is not None:
            await super()._add_gap(tp, *gap)  # type: ignore[misc]
