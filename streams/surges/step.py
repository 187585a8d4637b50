"""Step 2: merged minute counts → judged for bad-review surges → alert lifecycle events.

Its input is the far smaller stream of minute partials the ingest step forwards (one
partition, so one worker judges every key of a dimension together: the false-alarm control
works across keys). State is loaded from its table on first use after an assignment, and
written back as one record per batch in which a minute was judged.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import pydantic_core

from runtime.settings import default
from schemas.alerts import AlertEvent
from schemas.dimensions import SURGE_DIMENSIONS
from streams import metrics
from streams.outbox import OutboxPort
from streams.surges.detector import SurgeConfig, SurgeDetector
from streams.surges.lifecycle import AlertLifecycle, Explanation
from streams.surges.minutes import CompleteMinute, MinuteMerger
from streams.surges.splitstate import SplitState

# One record each for what is small (detector and merger settings and clocks, open alerts),
# one record per key for what grows with the keys (streams/surges/splitstate.py).
JUDGED_KEY = "0|judged"
MERGER_KEY = "0|merger"
KEYS_PREFIX = "0|keys|"  # + dimension + "|" + key: a key's detector state
# + "minute|" + start: every partial of one unjudged (or recently judged) minute, one record;
# a record per dimension|key|minute (before issue 14) cost a write and a delete per key and
# minute, about 0.35 records per evaluation at a few evaluations a second
PENDING_PREFIX = "0|pending|"
MINUTE_GROUP = "minute|"
NOTHING = Explanation()  # what a quiet minute's explanation would be used for: nothing


@dataclass(frozen=True, slots=True)
class SurgeRules:
    detector: SurgeConfig
    grace_s: int
    update_every_s: int
    quiet_minutes: int
    idle_s: int = default("surge_idle_s")  # a silent partition stops holding the clock back
    recheck_s: int = default("surge_recheck_s")  # a judged minute can get a second look …
    second_looks: int = default("surge_second_looks")  # … at most this many times
    early_every_s: int = default("surge_early_every_s")  # a minute in progress is looked at
    # the largest a record of pending partials may be (JSON bytes; a quarter of Kafka's limit)
    record_bytes: int = 262_144


class SurgeStep:
    def __init__(
        self,
        *,
        rules: SurgeRules,
        state: MutableMapping[str, Any],
        outbox: OutboxPort,
        alerts_topic: str,
    ) -> None:
        self.rules = rules
        self._state = state
        self._outbox = outbox
        self._alerts_topic = alerts_topic
        self._merger: MinuteMerger | None = None
        self._keys = {d: SplitState(state, f"{KEYS_PREFIX}{d}|") for d in SURGE_DIMENSIONS}
        self._pending = SplitState(state, PENDING_PREFIX)
        self._detectors: dict[str, SurgeDetector] = {}
        self._lifecycles: dict[str, AlertLifecycle] = {}

    def _load(self) -> MinuteMerger:
        # after recovery the table holds the last state written; absent on a fresh start
        judged = self._state.get(JUDGED_KEY) or {}
        merger = self._state.get(MERGER_KEY)
        pending = _ungrouped(self._pending.read())
        self._merger = (
            MinuteMerger.from_state(
                {"pending": pending, **merger},
                grace_s=self.rules.grace_s,
                idle_s=self.rules.idle_s,
                recheck_s=self.rules.recheck_s,
                second_looks=self.rules.second_looks,
                early_every_s=self.rules.early_every_s,
            )
            if merger
            else MinuteMerger(
                self.rules.grace_s,
                self.rules.idle_s,
                self.rules.recheck_s,
                self.rules.second_looks,
                self.rules.early_every_s,
            )
        )
        detectors, lifecycles = judged.get("detectors", {}), judged.get("lifecycles", {})
        self._detectors = {}
        for d in SURGE_DIMENSIONS:
            keys = self._keys[d].read()
            if d in detectors:
                # a state written before keys had records of their own still holds "keys"
                state = {**detectors[d], "keys": {**detectors[d].get("keys", {}), **keys}}
                self._detectors[d] = SurgeDetector.from_state(self.rules.detector, state)
            else:
                self._detectors[d] = SurgeDetector(self.rules.detector)
        self._lifecycles = {d: self._lifecycle(d, lifecycles.get(d)) for d in SURGE_DIMENSIONS}
        return self._merger

    def _lifecycle(self, dimension: str, state: dict[str, Any] | None) -> AlertLifecycle:
        options = {
            "update_every_s": self.rules.update_every_s,
            "quiet_windows_to_resolve": self.rules.quiet_minutes,
        }
        if state is None:
            return AlertLifecycle(dimension, **options)
        return AlertLifecycle.from_state(dimension, state, **options)

    def forget(self) -> None:
        """The partition moved away: whoever owns it next reloads from the table."""
        self._merger = None

    def process(
        self,
        entries: Iterable[dict[str, Any]],
        *,
        at: float | None = None,
        heartbeats: Mapping[str, int | None] | None = None,
    ) -> list[AlertEvent]:
        """Judge what a batch of minute partials and heartbeats completes. ``at``: the newest
        record timestamp of the batch on the merged-minute topic (when they were written), the
        clock by which a silent source partition is found idle; ``heartbeats``: per source
        partition read to its end, the earliest event time it can still bring on time."""
        merger = self._merger or self._load()
        for entry in entries:
            merger.add(entry, at)
        for partition, clock in (heartbeats or {}).items():
            merger.heartbeat(partition, clock, at)
        minutes = merger.complete()
        raised = self._judge(minutes, merger)
        quiet = self._close_quiet(merger, raised)
        for alert in raised:
            self._outbox.add(self._alerts_topic, alert.alert_id.encode(), alert.to_json_bytes())
            metrics.alerts_raised.labels(dimension=alert.dimension, state=alert.state).inc()
        if minutes or quiet:
            self._save_judged()
        merger_state = merger.to_state()
        self._pending.write(_by_minute(merger_state.pop("pending"), self.rules.record_bytes))
        self._state[MERGER_KEY] = merger_state
        return raised

    def _judge(self, minutes: list[CompleteMinute], merger: MinuteMerger) -> list[AlertEvent]:
        raised: list[AlertEvent] = []
        for minute in minutes:
            detector = self._detectors[minute.dimension]
            lifecycle = self._lifecycles[minute.dimension]
            if minute.changed is not None:
                raised += self._second_look(minute, merger.watermark)
                continue
            if minute.early:
                raised += self._early_look(minute, merger.watermark)
                continue
            judgements = detector.judge_minute(minute.window_start, minute.counts)
            for key, judgement in sorted(judgements.items()):
                # only an anomalous minute's explanation is read (it opens or feeds an alert)
                explanation = minute.explanations[key] if judgement.anomalous else NOTHING
                raised += lifecycle.step(judgement, explanation, at=judgement.window_end)
            raised += lifecycle.tick(minute.window_start)
            metrics.open_alerts.labels(dimension=minute.dimension).set(len(lifecycle.open_alerts))
        return raised

    def _close_quiet(self, merger: MinuteMerger, raised: list[AlertEvent]) -> bool:
        """Minutes the clock passed without a partial (traffic stopped) are quiet: an open
        alert counts them and resolves after its quiet minutes, as it would under traffic. The
        detector and the merger take such a minute as judged on no counts, so that partials
        that come for it later get a second look. Adds to ``raised``; True if one closed."""
        closed, any_closed = merger.closed_minute(), False
        for dimension in SURGE_DIMENSIONS:
            lifecycle = self._lifecycles[dimension]
            if not lifecycle.open_alerts or closed <= merger.judged_until(dimension):
                continue
            self._detectors[dimension].judge_minute(closed, {})
            merger.close_quiet(dimension, closed)
            raised += lifecycle.tick(closed)
            metrics.open_alerts.labels(dimension=dimension).set(len(lifecycle.open_alerts))
            any_closed = True
        return any_closed

    def _early_look(self, minute: CompleteMinute, now: int) -> list[AlertEvent]:
        detector = self._detectors[minute.dimension]
        lifecycle = self._lifecycles[minute.dimension]
        raised: list[AlertEvent] = []
        for key, judgement in sorted(
            detector.judge_early(minute.window_start, minute.counts).items()
        ):
            if judgement.anomalous:
                raised += lifecycle.open_early(judgement, minute.explanations[key], at=now)
        metrics.open_alerts.labels(dimension=minute.dimension).set(len(lifecycle.open_alerts))
        return raised

    def _second_look(self, minute: CompleteMinute, now: int) -> list[AlertEvent]:
        """Only the keys that late evaluations changed can open an alert now; the others
        were judged on their full counts the first time."""
        metrics.second_looks.labels(dimension=minute.dimension).inc()
        detector = self._detectors[minute.dimension]
        lifecycle = self._lifecycles[minute.dimension]
        judgements = detector.revise_minute(minute.window_start, minute.counts)
        raised: list[AlertEvent] = []
        for key in sorted(minute.changed or ()):
            judgement = judgements.get(key)
            if judgement is not None and judgement.anomalous:
                at = max(now, judgement.window_end)
                raised += lifecycle.open_late(judgement, minute.explanations[key], at=at)
        metrics.open_alerts.labels(dimension=minute.dimension).set(len(lifecycle.open_alerts))
        return raised

    def _save_judged(self) -> None:
        # The clocks before the keys, and both before the merger: a crash part-way re-offers
        # judged minutes, which are then neither learned twice nor alerted twice.
        detectors = {d: self._detectors[d].to_state() for d in SURGE_DIMENSIONS}
        keys = {d: state.pop("keys") for d, state in detectors.items()}
        self._state[JUDGED_KEY] = {
            "detectors": detectors,
            "lifecycles": {d: self._lifecycles[d].to_state() for d in SURGE_DIMENSIONS},
        }
        for d in SURGE_DIMENSIONS:
            self._keys[d].write(keys[d])


def _by_minute(pending: dict[str, Any], record_bytes: int) -> dict[str, dict[str, Any]]:
    """The merger's pending partials ("dimension|key|start" → partials) grouped by minute,
    in as many records ("minute|<start>|<bucket>/<buckets>", by a hash of the name) as keep
    each within ``record_bytes`` of JSON. A name stays in its record while its minute's
    count of buckets stays, which doubles only as the minute's bytes do."""
    minutes: dict[str, dict[str, int]] = {}
    for name, partials in pending.items():
        size = len(pydantic_core.to_json(partials)) + len(name) + 4
        minutes.setdefault(name.rsplit("|", 1)[1], {})[name] = size
    grouped: dict[str, dict[str, Any]] = {}
    for start, sizes in minutes.items():
        buckets, of = _buckets(sizes, record_bytes)
        for name, bucket in of.items():
            grouped.setdefault(f"{MINUTE_GROUP}{start}|{bucket}/{buckets}", {})[name] = pending[
                name
            ]
    return grouped


def _buckets(sizes: dict[str, int], record_bytes: int) -> tuple[int, dict[str, int]]:
    buckets = 1
    while True:
        of = {name: zlib.crc32(name.encode()) % buckets for name in sizes}
        filled = [0] * buckets
        for name, bucket in of.items():
            filled[bucket] += sizes[name]
        # one name alone is never near the limit (a few partitions' partials of one key)
        if max(filled) <= record_bytes or buckets >= len(sizes):
            return buckets, of
        buckets *= 2


def _ungrouped(entries: dict[str, Any]) -> dict[str, Any]:
    pending: dict[str, Any] = {}
    for entry, value in entries.items():
        if entry.startswith(MINUTE_GROUP):
            pending.update(value)
        else:
            pending[entry] = value  # one record per key and minute, written before groups
    return pending
