"""The second phase for surge detection: one count per key and minute, and when to judge it.

The worker counts each source partition apart (streams/aggregate.py). For department and
service minute windows it forwards every changed partial here; this merger keeps the newest
version of each partition's partial and, once event time has moved ``grace_s`` past a
minute, hands that minute over for judgement exactly once. Replayed partials carry versions
already seen and change nothing; partials of a minute already judged are ignored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from schemas.dimensions import FACET_NAMES
from streams.alerting import Explanation
from streams.windows import MINUTE

STATE_FORMAT = 1


@dataclass(frozen=True)
class CompleteMinute:
    dimension: str
    window_start: int
    counts: dict[str, tuple[int, int]]  # key -> (total, bad)
    explanations: dict[str, Explanation]


class MinuteMerger:
    def __init__(self, grace_s: int = 30) -> None:
        self.grace_s = grace_s
        # "dimension|key|start" -> {partition: partial entry}
        self._pending: dict[str, dict[str, dict[str, Any]]] = {}
        self._judged: dict[str, int] = {}  # dimension -> last minute handed over
        self.watermark = 0

    def add(self, entry: dict[str, Any]) -> bool:
        """Take one partial (the worker's window entry); False when it changes nothing."""
        dimension, start = entry["dimension"], int(entry["start"])
        if start <= self._judged.get(dimension, -1):
            return False
        name = f"{dimension}|{entry['key']}|{start}"
        partials = self._pending.setdefault(name, {})
        partition = str(entry["partition"])
        known = partials.get(partition)
        if known is not None and known["version"] >= entry["version"]:
            return False
        partials[partition] = entry
        self.watermark = max(self.watermark, int(entry["end"]))
        return True

    def complete(self) -> list[CompleteMinute]:
        """Minutes that event time has left behind by ``grace_s``, oldest first, each once."""
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
            "pending": self._pending,
            "judged": self._judged,
            "watermark": self.watermark,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MinuteMerger:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported minute merger state {state.get('format')!r}")
        merger = cls(int(state["grace_s"]))
        merger._pending = {k: dict(v) for k, v in state["pending"].items()}
        merger._judged = {k: int(v) for k, v in state["judged"].items()}
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
