"""Per-partition window counts, versioned by offset (the first phase of two-phase aggregation).

An entry counts one (dimension, key, window) over the evaluations of one source partition and
remembers the offset of the last evaluation it counted. Messages of a partition arrive in
offset order, so an evaluation whose offset is not above the entry's version was already
counted before a crash: skipping it makes a replay leave the entry exactly as it was. The
version travels with the counts in one record, so the two can never disagree after a crash.

An entry stays in state while an evaluation may still reach its window: the short horizon
past a minute's end, the long one (30 days) past a day's end (``lateness``). A late
evaluation for a day that ended long ago updates the entry still there, and the new record
(a higher version) replaces the day's partial in ClickHouse, so the day ends with the right
number. Once the horizon has passed, the entry is dropped: state is bounded by the horizon.

Minute entries live in bundles, one per source partition, dimension and minute
(``bundle_key``; schemas/windows.py): a batch writes one record per bundle it changed, and
expiry deletes one, where a record per key cost a write and a tombstone per evaluation at
the few evaluations a minute that most keys see. Each entry in a bundle keeps its own version.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, MutableMapping
from typing import Any, NamedTuple

import pydantic_core

from schemas.dimensions import DIMENSIONS, EXPLAINED_DIMENSIONS, FACETS
from schemas.windows import bundled_state
from streams.windows import DAY, MINUTE, minute_window, shanghai_day_window

WINDOW_WIDTHS = {"1m": MINUTE, "1d": DAY}
WINDOWS = ("1m", "1d")
# keys a minute bundle holds at most: 200 entries with bad reviews explained (tags, channels,
# halls, windows and three comments of up to 200 characters each) stay well under Kafka's
# 1 MB record limit; the keys beyond have a record each, as every key had before bundles
BUNDLE_KEYS = 200
# and the JSON bytes it may take: a quarter of Kafka's default 1 MB record limit (the worker
# passes a quarter of HAOCHAPING_TOPIC_MAX_MESSAGE_BYTES)
DEFAULT_BUNDLE_BYTES = 262_144
# What each window waits for late evaluations unless told otherwise: the settings' defaults.
DEFAULT_LATENESS = {"1m": 3600, "1d": 30 * DAY}
SAMPLE_COMMENTS = 3


class BadReview(NamedTuple):
    """What a bad review (差评) adds to the explanation of its minute."""

    service_code: str
    channel: str
    hall_code: str | None
    window_code: str | None
    tags: tuple[str, ...]
    comment: str | None


def entry_key(partition: int, dimension: str, key: str, window: str, start: int) -> str:
    """The state key and the Kafka key on satisfaction.windows (a contract: people read it)."""
    return f"{partition}|{dimension}|{key}|{window}|{start}"


def bundle_key(partition: int, dimension: str, start: int) -> str:
    """The state key of the bundle of ``dimension``'s minute entries: the key part is empty,
    which no code can be (codes are at least one character)."""
    return entry_key(partition, dimension, "", "1m", start)


def parse_entry_key(entry: str) -> tuple[int, str, str, str, int]:
    partition, dimension, rest = entry.split("|", 2)
    key, window, start = rest.rsplit("|", 2)
    return int(partition), dimension, key, window, int(start)


class WindowAggregator:
    """Counts evaluations into minute and Shanghai-day windows for the four dimensions.

    ``state`` holds the durable entries (a Faust table in the worker, a dict in tests);
    changes are collected in ``pending`` and written back once per batch by ``drain``,
    so a key touched by a thousand evaluations in a batch costs one state write.
    """

    def __init__(
        self,
        state: MutableMapping[str, dict[str, Any]],
        lateness: Mapping[str, int] | None = None,
        bundle_bytes: int = DEFAULT_BUNDLE_BYTES,
    ) -> None:
        self._state = state
        # the largest a minute bundle's record may be (JSON bytes); past it, entries move out
        self.bundle_bytes = bundle_bytes
        # seconds past its end that a window still takes evaluations, per window name
        self.lateness = {**DEFAULT_LATENESS, **(lateness or {})}
        self._pending: dict[str, dict[str, Any]] = {}
        # (bundle, key) of the minute entries copied into ``_pending`` in this batch
        self._touched: set[tuple[str, str]] = set()
        # per partition, (when it closes, name) of its entries: expiry pops what is due
        # instead of scanning every entry (a scan of a million blocked the event loop for
        # seconds); a window closes at its end plus its lateness
        self._ends: dict[int, list[tuple[int, str]]] = {}

    def add(
        self,
        *,
        partition: int,
        offset: int,
        event_epoch: float,
        level: int,
        keys: Mapping[str, str | None],
        bad_review: BadReview | None = None,
        windows: Collection[str] = WINDOWS,
    ) -> bool:
        """Count one evaluation under its key in each dimension (``DIMENSIONS``; a missing
        key, such as the hall of an online evaluation, is not counted in that dimension),
        in ``windows`` (a late one only in its day). False when every entry had already
        counted it (a replay)."""
        counted = False
        for window, (start, end) in (
            ("1m", minute_window(event_epoch)),
            ("1d", shanghai_day_window(event_epoch)),
        ):
            if window not in windows:
                continue
            for dimension in DIMENSIONS:
                key = keys.get(dimension)
                if not key:
                    continue
                if window == "1m":
                    minute = self._minute_entry(partition, dimension, key, start, end, offset)
                    if minute is None:
                        continue
                    entry = minute
                else:
                    name = entry_key(partition, dimension, key, window, start)
                    pending = self._pending.get(name)
                    entry = (
                        pending
                        if pending is not None
                        else self._load(name, dimension, key, window, start, end, partition)
                    )
                    if offset <= entry["version"]:
                        continue
                    self._pending[name] = entry
                entry["levels"][level - 1] += 1
                entry["version"] = offset
                if bad_review is not None and window == "1m" and dimension in EXPLAINED_DIMENSIONS:
                    _explain(entry, bad_review)
                counted = True
        return counted

    def _minute_entry(
        self, partition: int, dimension: str, key: str, start: int, end: int, offset: int
    ) -> dict[str, Any] | None:
        """``key``'s minute entry ready to change, or None when it has counted ``offset``
        already. Copied on first touch in a batch, so that a batch that fails half-way
        leaves the durable records untouched.

        An entry lives in its bundle, or in a record of its own: a key the bundle has no room
        for (``BUNDLE_KEYS``), one moved out of it (``_overflow``), a minute counted before
        bundles (an upgrade). Once on its own, it stays there; a copy a crash left in the
        bundle between the two records of a move is older, and is dropped."""
        single = entry_key(partition, dimension, key, "1m", start)
        alone = self._pending.get(single)
        if alone is not None:
            return alone if offset > alone["version"] else None
        name = bundle_key(partition, dimension, start)
        bundle = self._pending.get(name)
        if bundle is not None and (name, key) in self._touched:
            entry: dict[str, Any] = bundle["entries"][key]
            return entry if offset > entry["version"] else None
        stored = self._state.get(single)
        if bundle is None:
            stored_bundle = self._state.get(name)
            current = stored or (stored_bundle["entries"].get(key) if stored_bundle else None)
        else:
            stored_bundle = None
            current = stored or bundle["entries"].get(key)
        if current is not None and offset <= current["version"]:
            return None
        if bundle is None:
            if stored_bundle is None:
                bundle = {
                    "dimension": dimension,
                    "key": "",
                    "window": "1m",
                    "start": start,
                    "end": end,
                    "partition": partition,
                    "entries": {},
                }
            else:
                bundle = {**stored_bundle, "entries": dict(stored_bundle["entries"])}
        entries = bundle["entries"]
        if stored is not None or (key not in entries and len(entries) >= BUNDLE_KEYS):
            if key in entries:
                del entries[key]  # the copy a crash left behind
                self._pending[name] = bundle
            alone = self._pending[single] = self._load(
                single, dimension, key, "1m", start, end, partition
            )
            return alone
        if name not in self._pending:
            self._pending[name] = bundle
            if name not in self._state:
                self._closes(partition, name, end, "1m")
        self._touched.add((name, key))
        entry = entries[key] = (
            _copy(entries[key]) if key in entries else {"version": -1, "levels": [0, 0, 0, 0, 0]}
        )
        return entry

    def _load(
        self,
        name: str,
        dimension: str,
        key: str,
        window: str,
        start: int,
        end: int,
        partition: int,
    ) -> dict[str, Any]:
        stored = self._state.get(name)
        if stored is not None:
            # a copy, so that a batch that fails half-way leaves the durable entry untouched
            return _copy(stored)
        self._closes(partition, name, end, window)
        return {
            "dimension": dimension,
            "key": key,
            "window": window,
            "start": start,
            "end": end,
            "partition": partition,
            "version": -1,
            "levels": [0, 0, 0, 0, 0],
        }

    def _closes(self, partition: int, name: str, end: int, window: str) -> None:
        """A new record ``name``: expiry will find it once its window closes."""
        ends = self._ends.get(partition)
        if ends is not None:
            heapq.heappush(ends, (end + self.lateness[window], name))

    def drain(self) -> dict[str, dict[str, Any]]:
        """The entries changed since the last drain, written through to the state (a minute
        bundle as one record); each by its own ``entry_key``, with its window's fields."""
        pending, self._pending = self._pending, {}
        touched, self._touched = self._touched, set()
        changed: dict[str, dict[str, Any]] = {}
        for name, value in pending.items():
            if "entries" not in value:
                changed[name] = self._state[name] = value
                continue
            for single, entry in self._overflow(value, pending):
                # written before the bundle that no longer holds it: the changelog never
                # has the bundle without the entry unless the entry is there too
                changed[single] = self._state[single] = entry
            self._state[name] = value
        for name, key in touched:
            bundle = pending[name]
            if key in bundle["entries"]:  # else moved out above, and reported there
                p, dimension, start = bundle["partition"], bundle["dimension"], bundle["start"]
                changed[entry_key(p, dimension, key, "1m", start)] = bundled_state(bundle, key)
        return changed

    def _overflow(
        self, bundle: dict[str, Any], pending: Mapping[str, Any]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Entries moved out of ``bundle`` into records of their own, largest first, until
        its record fits ``bundle_bytes`` (bad reviews' sample comments make some entries
        large); each keeps its version, and stays on its own for the rest of the minute.

        A key that already has a record of its own is only dropped: the bundle's copy is one
        a crash left behind between the two records of an earlier move, older than that
        record, which must not be overwritten with it."""
        size = len(pydantic_core.to_json(bundle))
        if size <= self.bundle_bytes:
            return []
        entries: dict[str, Any] = bundle["entries"]
        sizes = {key: len(pydantic_core.to_json({key: entry})) for key, entry in entries.items()}
        moved = []
        p, dimension, start = bundle["partition"], bundle["dimension"], bundle["start"]
        for key in sorted(sizes, key=lambda k: (-sizes[k], k)):
            if size <= self.bundle_bytes:
                break
            entry = entries.pop(key)
            size -= sizes[key]
            single = entry_key(p, dimension, key, "1m", start)
            if single in pending or single in self._state:
                continue
            moved.append((single, bundled_state({**bundle, "entries": {key: entry}}, key)))
            self._closes(p, single, bundle["end"], "1m")
        return moved

    def forget(self, name: str) -> None:
        del self._state[name]

    def closed_entries(self, partition: int, watermark: float) -> list[str]:
        """Entries of ``partition`` whose window no evaluation can reach any more (its end
        plus its lateness is before ``watermark``); each is returned once (the caller
        forgets it)."""
        ends = self._ends.get(partition)
        if ends is None:
            ends = self._ends[partition] = self._scan(partition)
        closed: list[str] = []
        while ends and ends[0][0] < watermark:
            _, name = heapq.heappop(ends)
            if name in self._state and name not in closed:
                closed.append(name)
        return closed

    def _scan(self, partition: int) -> list[tuple[int, str]]:
        prefix, ends = f"{partition}|", []
        for name in list(self._state.keys()):
            if not name.startswith(prefix):
                continue
            try:
                _, _, _, window, start = parse_entry_key(name)
                ends.append((start + WINDOW_WIDTHS[window] + self.lateness[window], name))
            except (ValueError, KeyError):
                # not one of ours: the windows changelog is a contract topic anyone may write
                # to, and recovery brings back whatever is there
                continue
        heapq.heapify(ends)
        return ends

    def forget_partition(self, partition: int) -> None:
        """The partition moved away; its next owner rebuilds the index from the state."""
        self._ends.pop(partition, None)


def _copy(stored: dict[str, Any]) -> dict[str, Any]:
    copy = {**stored, "levels": list(stored["levels"])}
    if "bad_reviews" in stored:
        copy["bad_reviews"] = {
            name: (list(part) if isinstance(part, list) else dict(part))
            for name, part in stored["bad_reviews"].items()
        }
    return copy


def _explain(entry: dict[str, Any], review: BadReview) -> None:
    detail = entry.setdefault(
        "bad_reviews", {**{facet.name: {} for facet in FACETS}, "comments": []}
    )
    for facet in FACETS:
        value = getattr(review, facet.field)
        part = detail.setdefault(facet.name, {})
        for code in value if facet.many else (value,):
            if code:
                part[code] = part.get(code, 0) + 1
    if review.comment and len(detail["comments"]) < SAMPLE_COMMENTS:
        detail["comments"].append(review.comment[:200])
