"""Noticing a process that has stopped consuming: new input waits, nothing is processed.

A Faust worker can stay Ready but no longer fetch after a rebalance, and a kafka-python
consumer can stop returning records while its partitions have lag. The decision is kept
apart from both clients so it can be tested with numbers: the worker and the sink feed it end
offsets and the time they last made progress, and exit with ``STALLED`` when it says so, for
their supervisor to start them afresh from the committed offsets.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

STALLED = 75  # EX_TEMPFAIL: restart me
UNDELIVERED = 74  # EX_IOERR: Kafka refused output; restart me, reading again from the commit


class StallDetector:
    def __init__(self, stall_s: float, *, pause_bound_s: float | None = None) -> None:
        self.stall_s = stall_s
        # a rebalance or recovery may pause the clock, but not for ever: known client hangs
        # happen exactly there
        self.pause_bound_s = pause_bound_s
        self._ends: dict[Any, int] = {}
        self._grew_at: float | None = None
        self._paused_at: float | None = None

    def pause(self, now: float | None = None) -> bool:
        """Restoring tables or rebalancing: waiting input is expected, not a stall. True when
        the pause has lasted longer than ``pause_bound_s``: that is a stall too."""
        self._grew_at = None
        if now is None:
            return False
        if self._paused_at is None:
            self._paused_at = now
        return self.pause_bound_s is not None and now - self._paused_at > self.pause_bound_s

    def resume(self) -> None:
        """The pause is over (``pause`` counts its length from its first call)."""
        self._paused_at = None

    def stalled(
        self,
        ends: Mapping[Any, int],
        last_batch_at: float,
        now: float,
        positions: Mapping[Any, int] | None = None,
    ) -> bool:
        """True once input has waited ``stall_s`` with no batch processed.

        Input waits when the end offsets grew since the last look; with ``positions`` (the
        committed offsets), also while any end is past its position: a backlog that was
        already there when the process started is waiting input too."""
        self._paused_at = None
        grew = any(end > self._ends.get(tp, end) for tp, end in ends.items())
        self._ends = dict(ends)
        backlog = positions is not None and any(
            end > positions.get(tp, 0) for tp, end in ends.items()
        )
        if positions is not None and not backlog:
            self._grew_at = None  # everything is processed
            return False
        if grew or backlog:
            self._grew_at = self._grew_at if self._grew_at is not None else now
        if self._grew_at is None:
            return False
        if last_batch_at >= self._grew_at:
            # processing goes on; a backlog still there waits from now
            self._grew_at = now if backlog else None
            return False
        return now - self._grew_at > self.stall_s


def exit_stalled(who: str, stall_s: float) -> None:
    """Leave at once with ``STALLED``: the stuck client cannot be trusted to shut down, and
    everything not committed is read again by the fresh process (at-least-once, idempotent)."""
    line = (
        f"{who}: stalled: input waited {stall_s:.0f}s with nothing processed; "
        f"exiting ({STALLED}) to be restarted"
    )
    logging.getLogger(f"haochaping.{who}").error(line)
    print(line, file=sys.stderr, flush=True)
    os._exit(STALLED)


def exit_undelivered(who: str, error: BaseException) -> None:
    """Leave at once with ``UNDELIVERED``: output Kafka refused must not be followed by a
    commit of the offsets it came from; the fresh process reads them again."""
    line = f"{who}: output not delivered ({error!r}); exiting ({UNDELIVERED}) to be restarted"
    logging.getLogger(f"haochaping.{who}").error(line)
    print(line, file=sys.stderr, flush=True)
    os._exit(UNDELIVERED)
