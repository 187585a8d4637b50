"""The second phase for surge detection: one count per key and minute, and when to judge it.

The worker counts each source partition apart (streams/aggregate.py). For department and
service minute windows it forwards every changed partial here; this merger keeps the newest
version of each partition's partial and, once event time has moved ``grace_s`` past a
minute, hands that minute over for judgement exactly once. Replayed partials carry versions
already seen and change nothing; partials of a minute already judged are ignored.

Event time (the surge clock) is one that a wrong clock cannot push:

- each partial carries its source partition's ``clock``: the newest
  ``min(evaluated_at, Kafka record timestamp)`` of that partition (streams/steps/ingest.py),
  so a rating pad running minutes fast moves it no further than the time Kafka got its
  evaluation;
- the merger's ``watermark`` is the *low* watermark: the oldest clock among the source
  partitions that sent partials within ``idle_s`` (by the arrival time of the partials, the
  timestamps of the merged-minute topic), so one partition cannot advance the others; one
  that sent nothing for longer stops holding the clock back. It never goes back.

A partial without ``clock`` (written before this rule) counts with its window ``end``, the
rule before.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from schemas.dimensions import FACET_NAMES
from streams.alerting import Explanation
from streams.windows import MINUTE

STATE_FORMAT = 2
OLD_STATE_FORMATS = (1,)  # loadable: format 1 had no source clocks


@dataclass(frozen=True)
class CompleteMinute:
    dimension: str
    window_start: int
    counts: dict[str, tuple[int, int]]  # key -> (total, bad)
    explanations: dict[str, Explanation]


class MinuteMerger:
    def __init__(self, grace_s: int = 30, idle_s: int = 60) -> None:
        self.grace_s = grace_s
        self.idle_s = idle_s
        # "dimension|key|start" -> {partition: partial entry}
        self._pending: dict[str, dict[str, dict[str, Any]]] = {}
        self._judged: dict[str, int] = {}  # dimension -> last minute handed over
        # source partition -> [its clock, arrival time of its newest partial]
        self._sources: dict[str, list[int]] = {}
        self.now = 0  # newest arrival time seen (epoch seconds; 0 when none was given)
        self.watermark = 0

    def add(self, entry: dict[str, Any], at: float | None = None) -> bool:
        """Take one partial (the worker's window entry) that arrived at ``at`` (the record
        timestamp on the merged-minute topic; None: no later than the newest arrival known).
        False when it changes no count; it still moves its partition's clock."""
        partition = str(entry["partition"])
        if at is not None:
            self.now = max(self.now, int(at))
        clock = int(entry["clock"]) if "clock" in entry else int(entry["end"])
        source = self._sources.get(partition)
        if source is None:
            self._sources[partition] = [clock, self.now]
        else:
            source[0], source[1] = max(source[0], clock), self.now
        dimension, start = entry["dimension"], int(entry["start"])
        if start <= self._judged.get(dimension, -1):
            return False
        name = f"{dimension}|{entry['key']}|{start}"
        partials = self._pending.setdefault(name, {})
        known = partials.get(partition)
        if known is not None and known["version"] >= entry["version"]:
            return False
        partials[partition] = entry
        return True

    def active_sources(self) -> dict[str, int]:
        """The clocks of the source partitions that hold the watermark: those whose newest
        partial arrived at most ``idle_s`` before the newest arrival of any."""
        return {
            partition: clock
            for partition, (clock, seen) in self._sources.items()
            if self.now - seen <= self.idle_s
        }

    def advance(self) -> int:
        """Move the watermark to the oldest clock of the active source partitions (never
        back) and return it."""
        active = self.active_sources()
        if active:
            self.watermark = max(self.watermark, min(active.values()))
        return self.watermark

    def complete(self) -> list[CompleteMinute]:
        """Minutes that event time has left behind by ``grace_s``, oldest first, each once."""
        self.advance()
        ready: dict[tuple[int, str], list[tuple[str, dict[str, dict[str, Any]]]]] = {}
        for name, partials in self._pending.items():
            dimension, rest = name.split("|", 1)
            key, start = rest.rsplit("|", 1)
            minute = int(start)
            if minute + MINUTE + self.grace_s <= self.watermark:
                ready.setdefault((minute, dimension), []).append((key, partials))
        minutes = []
        for minute, dimension in sorted(ready):
            counts: dict[str, tuple[int, int]] = {}
            explanations: dict[str, Explanation] = {}
            for key, partials in ready[(minute, dimension)]:
                counts[key] = _total_and_bad(partials.values())
                explanations[key] = _explanation(partials.values())
                del self._pending[f"{dimension}|{key}|{minute}"]
            self._judged[dimension] = max(self._judged.get(dimension, -1), minute)
            minutes.append(CompleteMinute(dimension, minute, counts, explanations))
        return minutes

    def to_state(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "grace_s": self.grace_s,
            "idle_s": self.idle_s,
            "pending": self._pending,
            "judged": self._judged,
            "sources": {p: list(source) for p, source in self._sources.items()},
            "now": self.now,
            "watermark": self.watermark,
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], *, grace_s: int | None = None, idle_s: int | None = None
    ) -> MinuteMerger:
        """A merger from ``to_state`` (this format or an older one). ``grace_s`` and
        ``idle_s``, when given, replace the saved ones: the settings of the running worker
        win over those of the one that saved the state."""
        version = state.get("format")
        if version != STATE_FORMAT and version not in OLD_STATE_FORMATS:
            raise ValueError(f"unsupported minute merger state {version!r}")
        merger = cls(
            int(state["grace_s"]) if grace_s is None else grace_s,
            int(state.get("idle_s", 60)) if idle_s is None else idle_s,
        )
        merger._pending = {k: dict(v) for k, v in state["pending"].items()}
        merger._judged = {k: int(v) for k, v in state["judged"].items()}
        # format 1 knew no sources: the clock starts again from the partials that arrive,
        # and never goes back behind the watermark saved then
        merger._sources = {
            str(p): [int(clock), int(seen)] for p, (clock, seen) in state.get("sources", {}).items()
        }
        merger.now = int(state.get("now", 0))
        merger.watermark = int(state["watermark"])
        return merger


def _total_and_bad(partials: Any) -> tuple[int, int]:
    total = bad = 0
    for entry in partials:
        levels = entry["levels"]
        total += sum(levels)
        bad += levels[0] + levels[1]
    return total, bad


def _explanation(partials: Any) -> Explanation:
    parts: dict[str, Counter[str]] = {name: Counter() for name in FACET_NAMES}
    comments: list[str] = []
    for entry in partials:
        detail = entry.get("bad_reviews")
        if not detail:
            continue
        for name, counter in parts.items():
            counter.update(detail.get(name, {}))
        comments.extend(detail.get("comments", []))
    return Explanation.from_facets(parts, comments=comments)
