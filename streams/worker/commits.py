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

And Faust fills a gap into the acknowledged offsets as soon as any offset after its start is
acknowledged, so a commit passed records not yet processed: the fetch loop records a gap when
a record comes past the read offset, also a prefetched one that is then not delivered
(``streams.worker.generations``), whose offsets are read again after it. Seen in a restart
test: right after a start, ``ratings.raw:0`` 1012..1243 recorded as a gap, committed with the
first batch after the commit; a stop before those records were processed loses them, which
for the screening facts meant evaluations never screened (CI, 2026-12-06). So a gap counts
only once the record after it is acknowledged: every offset before that record has been
delivered by then, or was skipped.
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


def is_closed(gap_end: int, acked: set[int], committed: int | None) -> bool:
    """Whether a gap ending before offset ``gap_end`` may count: the record after it is
    acknowledged, or committed already."""
    # Faust commits the offset after the last one processed: the record at it is not
    return gap_end in acked or (committed is not None and gap_end < committed)


class ExactCommits:
    """A mixin for Faust's ``Consumer``: acknowledged offsets counted once, gaps exact, and
    a gap counted only once the record after it is acknowledged."""

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
        committed = consumer._committed_offset.get(tp)
        gaps: Any = consumer._gap.get(tp) or set()
        for interval in [i for i in gaps if is_closed(i.end, consumer._acked_index[tp], committed)]:
            gaps.remove(interval)
            # its offsets may have been read after all (acknowledged already): each counts once
            distinct += range(max(interval.begin, committed or 0), interval.end)
        acked[:] = distinct_sorted(distinct)
        # the open ones wait, out of Faust's sight
        waiting = list(gaps)
        for interval in waiting:
            gaps.remove(interval)
        try:
            offset: int | None = super()._new_offset(tp)  # type: ignore[misc]
        finally:
            for interval in waiting:
                gaps.add(interval)
        return offset

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        # Faust passes the offset of the record after the gap as the gap's last
        gap = gap_between(offset_from - 1, offset_to)
        if gap is not None:
            # the worker's topics have a record at every offset: these come later (a record
            # not delivered, streams/worker/generations.py) or were skipped (fetched by the
            # agents themselves, streams/worker/gaps.py)
            log.warning(
                "%s:%d: Faust passed over offsets %d..%d; they count as read once the record "
                "after them is acknowledged",
                tp.topic, tp.partition, *gap,
            )  # fmt: skip
            await super()._add_gap(tp, *gap)  # type: ignore[misc]
