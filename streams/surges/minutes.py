"""The second phase for surge detection: one count per key and minute, and when to judge it.

The worker counts each source partition apart (streams/ingest/counts.py). For department and
service minute windows it forwards every changed partial here; this merger keeps the newest
version of each partition's partial and, once event time has moved ``grace_s`` past a
minute, hands that minute over for judgement exactly once. Replayed partials carry versions
already seen and change nothing; partials of a minute already judged are ignored.

Event time (the surge clock) is one that a wrong clock cannot push:

- each partial carries its source partition's ``clock``: the newest
  ``min(evaluated_at, Kafka record timestamp)`` of that partition (streams/ingest/step.py),
  so a rating pad running minutes fast moves it no further than the time Kafka got its
  evaluation;
- the merger's ``watermark`` is the *low* watermark: the oldest clock among the source
  partitions that sent partials within ``idle_s`` (by the arrival time of the partials, the
  timestamps of the merged-minute topic), so one partition cannot advance the others; one
  that sent nothing for longer stops holding the clock back. It never goes back.

A partial without ``clock`` (written before this rule) counts with its window ``end``, the
rule before.

When traffic stops (issue 26), partials stop too, and a clock moved only by them would leave
the last minutes unjudged until unrelated traffic came. So the ingest half also writes a
*heartbeat* for each source partition it has read to the end: the wall clock at that check
less the partition's own lag (how far its newest record's timestamp was behind the wall clock
when it was read), the earliest event time it can still bring on time. A partition's
``bound`` is that heartbeat less ``grace_s`` (records written before the check but not yet
read). It raises the partition's clock while the partition is active, and when every partition
has been idle for ``idle_s`` the watermark follows the oldest bound: the clock goes on with the
wall clock, never past it less the grace, never past what a partition could still send, and
never back. Heartbeats are records, so a replay moves the clock exactly as the first run did.

A second look: a judged minute keeps its partials for ``recheck_s`` of event time past its
end. Partials that still change it (evaluations that arrived after it was judged: a slow pad,
a batch of late ones, a partition that was idle) mark it changed; once no new change has come
for ``grace_s`` (by arrival or event time), or a minute and the grace after the first change,
it is handed over again with the keys that changed, at most ``second_looks`` times. Each look
is a test at the detector's ``alpha``, so a minute with late evaluations can raise a false
alarm at most ``1 + second_looks`` times as often as one without; minutes without late
evaluations are looked at once, as before.

Early looks: a minute still in progress is handed over with its counts so far each time event
time passes another ``early_every_s`` into it (at most once per step, until it is complete), so
a clear surge alerts within seconds instead of after the minute and its grace; the detector
judges those at its stricter ``early_alpha``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.dimensions import FACET_NAMES
from streams.surges.lifecycle import Explanation
from streams.windows import MINUTE

STATE_FORMAT = 4
# loadable: format 1 had no source clocks, 2 no second looks, 3 no heartbeat bounds
OLD_STATE_FORMATS = (1, 2, 3)


# How many minute partials travel in one record of the surge-minutes topic. One record per
# partial made it the second largest share of what the worker wrote, and each cost the surge
# agent a Faust event (issue 14). A partial with its bad-review explanation is at most about
# 3 KB (three sample comments of 200 characters), so 200 stay well under Kafka's 1 MB.
PARTIALS_PER_RECORD = 200


def bundle_partials(partials: list[dict[str, Any]]) -> list[bytes]:
    """The records that carry ``partials`` on the surge-minutes topic, in order."""
    return [
        json.dumps({"partials": partials[i : i + PARTIALS_PER_RECORD]}).encode()
        for i in range(0, len(partials), PARTIALS_PER_RECORD)
    ]


def heartbeat_record(clocks: Mapping[int, int | None]) -> bytes:
    """The record that says, per source partition read to its end, the earliest event time it
    can still bring on time, or None when the process that read it has read none of its
    records (streams/ingest/step.py: ``IngestStep.heartbeat``)."""
    return json.dumps({"heartbeats": {str(p): clock for p, clock in clocks.items()}}).encode()


def unbundle_partials(values: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The partials in records of the surge-minutes topic; a record that is one partial
    (written before issue 14, still there after an upgrade) is taken as it is."""
    return unbundle(values)[0]


Heartbeats = dict[str, int | None]


def unbundle(values: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], Heartbeats]:
    """The partials and the newest heartbeat per source partition in records of the
    surge-minutes topic (a clock wins over a None)."""
    partials: list[dict[str, Any]] = []
    heartbeats: Heartbeats = {}
    for value in values:
        bundled = value.get("partials")
        beats = value.get("heartbeats")
        if isinstance(bundled, list):
            partials.extend(bundled)
        elif isinstance(beats, dict):
            for partition, clock in beats.items():
                known = heartbeats.get(str(partition))
                if clock is not None:
                    clock = max(int(clock), known or 0)
                heartbeats[str(partition)] = known if clock is None else clock
        else:
            partials.append(value)
    return partials, heartbeats


@dataclass(frozen=True)
class CompleteMinute:
    dimension: str
    window_start: int
    counts: dict[str, tuple[int, int]]  # key -> (total, bad)
    explanations: Mapping[str, Explanation]
    changed: frozenset[str] | None = None
    """None on the first look; on a second look, the keys whose counts changed since the
    previous one (``counts`` still holds every key of the minute: the same family of tests)."""
    early: bool = False
    """An early look: the minute is still in progress and ``counts`` are its counts so far."""


class MinuteMerger:
    def __init__(
        self,
        grace_s: int = 30,
        idle_s: int = 60,
        recheck_s: int = 600,
        second_looks: int = 2,
        early_every_s: int = 0,
    ) -> None:
        self.grace_s = grace_s
        self.early_every_s = early_every_s
        self.idle_s = idle_s
        self.recheck_s = recheck_s
        self.second_looks = second_looks
        # "dimension|key|start" -> {partition: partial entry}; judged minutes stay here for
        # ``recheck_s`` so that a second look has every key's counts
        self._pending: dict[str, dict[str, dict[str, Any]]] = {}
        self._judged: dict[str, int] = {}  # dimension -> last minute handed over
        # "dimension|start" of a judged minute -> {"looks": n, "changed": [keys], "since": t}
        self._reviews: dict[str, dict[str, Any]] = {}
        # "dimension|start" of a minute in progress -> how many early-look marks it has passed
        self._early: dict[str, int] = {}
        # source partition -> [its clock, arrival time of its newest partial] and, once a
        # heartbeat came, its bound and the arrival time it was set: [clock, seen, bound, at]
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
        judged = start <= self._judged.get(dimension, -1)
        if judged and not self._reviewable(start):
            return False
        name = f"{dimension}|{entry['key']}|{start}"
        partials = self._pending.setdefault(name, {})
        known = partials.get(partition)
        if known is not None and known["version"] >= entry["version"]:
            return False
        partials[partition] = entry
        if judged:
            review = self._reviews.setdefault(
                f"{dimension}|{start}", {"looks": 1, "changed": [], "since": self.now}
            )
            if not review["changed"]:
                review["first"], review["first_event"] = self.now, self.watermark
            review["since"], review["since_event"] = self.now, self.watermark
            if entry["key"] not in review["changed"]:
                review["changed"].append(entry["key"])
        return True

    def heartbeat(self, partition: str, clock: int | None, at: float | None = None) -> None:
        """Take a heartbeat: ``partition`` was read to its end and can bring no evaluation on
        time older than ``clock``. Arrival time moves on with it; the partition's idleness
        does not (it is measured by partials: a partition that only beats is idle).

        ``clock`` None: read to its end by a process that has read none of its records (it
        started since, and the partition stayed quiet): its lag is unknown, but nothing came,
        so its bound goes on from the last one by the arrival time passed since."""
        if at is not None:
            self.now = max(self.now, int(at))
        source = self._sources.get(partition)
        if clock is None:
            if source is None or len(source) < 3:
                return  # no bound to go on from
            since = source[3] if len(source) > 3 else self.now
            bound = source[2] + max(0, self.now - since)
        else:
            bound = int(clock) - self.grace_s
        if source is None:
            # idle from the start: seen long enough ago that it holds nothing back
            self._sources[partition] = [bound, self.now - self.idle_s - 1, bound, self.now]
            return
        # [clock, seen, bound, when the bound was set]
        source[2:] = [max(source[2], bound) if len(source) > 2 else bound, self.now]

    def _settled(self, review: dict[str, Any]) -> bool:
        """No change for ``grace_s`` since the last one, by arrival time (live) or by event
        time (a worker catching up on a backlog, whose partials all arrive within seconds);
        or the first change after the last look waited a minute and the grace (late
        evaluations of one minute that arrive with the same delay trickle in over a minute:
        by then they are all there, and a minute changed without pause still gets its look).

        Settling ``grace_s`` after the *first* change judged a minute whose late evaluations
        were still arriving: evaluations 3 minutes late, read 5 s at a time, were judged on
        their first 15 s and then 30 s, both too few, and the alert came 3 minutes late."""
        last = (review["since"], review.get("since_event", self.watermark))
        first = (review.get("first", last[0]), review.get("first_event", last[1]))
        return self._passed(last, self.grace_s) or self._passed(first, MINUTE + self.grace_s)

    def _passed(self, since: tuple[int, int], seconds: int) -> bool:
        """``seconds`` have passed since ``since`` (arrival time, event time) by either."""
        return self.now - since[0] >= seconds or self.watermark - since[1] >= seconds

    def _reviewable(self, start: int) -> bool:
        """A judged minute can still get a second look (its late partials are kept)."""
        return self.second_looks > 0 and start + MINUTE + self.recheck_s > self.watermark

    def active_sources(self) -> dict[str, int]:
        """The clocks of the source partitions that hold the watermark: those whose newest
        partial arrived at most ``idle_s`` before the newest arrival of any (a clock raised to
        the partition's bound, if a heartbeat gave one)."""
        return {
            partition: max(source[0], source[2]) if len(source) > 2 else source[0]
            for partition, source in self._sources.items()
            if self.now - source[1] <= self.idle_s
        }

    def advance(self) -> int:
        """Move the watermark to the oldest clock of the active source partitions or, when
        every partition is idle, to the oldest bound their heartbeats gave (never back), and
        return it."""
        active = self.active_sources()
        if active:
            self.watermark = max(self.watermark, min(active.values()))
        else:
            bounds = [source[2] for source in self._sources.values() if len(source) > 2]
            if bounds:
                self.watermark = max(self.watermark, min(bounds))
        return self.watermark

    def closed_minute(self) -> int:
        """The newest minute that event time has left behind by ``grace_s``."""
        return (self.watermark - self.grace_s) // MINUTE * MINUTE - MINUTE

    def judged_until(self, dimension: str) -> int:
        """The newest minute of ``dimension`` handed over (-1: none)."""
        return self._judged.get(dimension, -1)

    def close_quiet(self, dimension: str, minute: int) -> None:
        """``minute`` of ``dimension`` passed without a partial and was judged quiet: partials
        that come for it or before it later get a second look, not a first one."""
        self._judged[dimension] = max(self._judged.get(dimension, -1), minute)

    def complete(self) -> list[CompleteMinute]:
        """Minutes that event time has left behind by ``grace_s``, oldest first, each once;
        then the judged minutes due a second look."""
        self.advance()
        ready: dict[tuple[int, str], list[tuple[str, dict[str, dict[str, Any]]]]] = {}
        judged: dict[tuple[int, str], list[tuple[str, dict[str, dict[str, Any]]]]] = {}
        early: dict[tuple[int, str], list[tuple[str, dict[str, dict[str, Any]]]]] = {}
        for name, partials in list(self._pending.items()):
            dimension, rest = name.split("|", 1)
            key, start = rest.rsplit("|", 1)
            minute = int(start)
            if minute <= self._judged.get(dimension, -1):
                if self._reviewable(minute):
                    judged.setdefault((minute, dimension), []).append((key, partials))
                else:
                    del self._pending[name]
            elif minute + MINUTE + self.grace_s <= self.watermark:
                ready.setdefault((minute, dimension), []).append((key, partials))
            elif self.early_every_s and self.watermark - minute >= self.early_every_s:
                early.setdefault((minute, dimension), []).append((key, partials))
        minutes = []
        for minute, dimension in sorted(ready):
            counts, explanations = _merged(ready[(minute, dimension)])
            self._judged[dimension] = max(self._judged.get(dimension, -1), minute)
            self._early.pop(f"{dimension}|{minute}", None)
            if self._reviewable(minute):
                self._reviews[f"{dimension}|{minute}"] = {"looks": 1, "changed": [], "since": 0}
            else:
                for key in counts:
                    del self._pending[f"{dimension}|{key}|{minute}"]
            minutes.append(CompleteMinute(dimension, minute, counts, explanations))
        for minute, dimension in sorted(early):
            name, mark = f"{dimension}|{minute}", (self.watermark - minute) // self.early_every_s
            if mark > self._early.get(name, 0):
                self._early[name] = mark
                counts, explanations = _merged(early[(minute, dimension)])
                minutes.append(CompleteMinute(dimension, minute, counts, explanations, early=True))
        for name, review in sorted(self._reviews.items()):
            dimension, start = name.rsplit("|", 1)
            minute = int(start)
            if not self._reviewable(minute):
                del self._reviews[name]
            elif (
                review["changed"] and review["looks"] <= self.second_looks and self._settled(review)
            ):
                counts, explanations = _merged(judged.get((minute, dimension), []))
                changed = frozenset(review["changed"])
                review["looks"] += 1
                review["changed"] = []
                minutes.append(CompleteMinute(dimension, minute, counts, explanations, changed))
        return minutes

    def to_state(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "grace_s": self.grace_s,
            "idle_s": self.idle_s,
            "recheck_s": self.recheck_s,
            "second_looks": self.second_looks,
            "early_every_s": self.early_every_s,
            "early": self._early,
            "pending": self._pending,
            "judged": self._judged,
            "reviews": self._reviews,
            "sources": {p: list(source) for p, source in self._sources.items()},
            "now": self.now,
            "watermark": self.watermark,
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        *,
        grace_s: int | None = None,
        idle_s: int | None = None,
        recheck_s: int | None = None,
        second_looks: int | None = None,
        early_every_s: int | None = None,
    ) -> MinuteMerger:
        """A merger from ``to_state`` (this format or an older one). The settings, when
        given, replace the saved ones: those of the running worker win over those of the one
        that saved the state."""
        version = state.get("format")
        if version != STATE_FORMAT and version not in OLD_STATE_FORMATS:
            raise ValueError(f"unsupported minute merger state {version!r}")
        merger = cls(
            int(state["grace_s"]) if grace_s is None else grace_s,
            int(state.get("idle_s", 60)) if idle_s is None else idle_s,
            int(state.get("recheck_s", 0)) if recheck_s is None else recheck_s,
            int(state.get("second_looks", 0)) if second_looks is None else second_looks,
            int(state.get("early_every_s", 0)) if early_every_s is None else early_every_s,
        )
        merger._early = {str(k): int(v) for k, v in state.get("early", {}).items()}
        merger._pending = {k: dict(v) for k, v in state["pending"].items()}
        merger._judged = {k: int(v) for k, v in state["judged"].items()}
        merger._reviews = {
            str(k): {**v, "looks": int(v["looks"]), "changed": list(v["changed"])}
            for k, v in state.get("reviews", {}).items()
        }
        # format 1 knew no sources: the clock starts again from the partials that arrive,
        # and never goes back behind the watermark saved then
        merger._sources = {
            str(p): [int(value) for value in source]
            for p, source in state.get("sources", {}).items()
        }
        merger.now = int(state.get("now", 0))
        merger.watermark = int(state["watermark"])
        return merger


def _merged(
    keys: list[tuple[str, dict[str, dict[str, Any]]]],
) -> tuple[dict[str, tuple[int, int]], Mapping[str, Explanation]]:
    counts: dict[str, tuple[int, int]] = {}
    for key, partials in keys:
        counts[key] = _total_and_bad(partials.values())
    # a copy of each key's partials: later ones for the minute must not change this look
    return counts, _Explanations({key: dict(partials) for key, partials in keys})


class _Explanations(Mapping[str, Explanation]):
    """A minute's explanations, each made when first read: only a key that opens or feeds an
    alert needs one, and making one for every key of every minute was most of the surge
    step's time (docs/benchmarks.md, issue 14)."""

    def __init__(self, partials: dict[str, dict[str, dict[str, Any]]]) -> None:
        self._partials = partials
        self._made: dict[str, Explanation] = {}

    def __getitem__(self, key: str) -> Explanation:
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = _explanation(self._partials[key].values())
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._partials)

    def __len__(self) -> int:
        return len(self._partials)


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
