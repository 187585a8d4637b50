"""Noticing a worker that has stopped consuming: new input waits, nothing is processed.

faust-streaming can leave a worker Ready but no longer fetching after a rebalance (#629;
seen twice in this project's test runs). The decision is kept apart from Faust so it can be
tested with numbers: the worker feeds it end offsets and the time of its last batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class StallDetector:
    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._ends: dict[Any, int] = {}
        self._grew_at: float | None = None

    def pause(self) -> None:
        """Restoring tables or rebalancing: waiting input is expected, not a stall."""
        self._grew_at = None

    def stalled(self, ends: Mapping[Any, int], last_batch_at: float, now: float) -> bool:
        """True once input that arrived has waited ``stall_s`` with no batch processed."""
        if any(end > self._ends.get(tp, end) for tp, end in ends.items()):
            self._grew_at = self._grew_at if self._grew_at is not None else now
        self._ends = dict(ends)
        if self._grew_at is None:
            return False
        if last_batch_at >= self._grew_at:
            self._grew_at = None  # the new input is being processed
            return False
        return now - self._grew_at > self.stall_s
