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
                    if offset <= self._minute_version(partition, dimension, key, start):
                        continue
                    entry = self._minute_entry(partition, dimension, key, start, end)
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

    def _minute_version(self, partition: int, dimension: str, key: str, start: int) -> int:
        """The offset of the last evaluation ``key``'s minute entry counted (-1: none)."""
        single = entry_key(partition, dimension, key, "1m", start)
        entry = self._pending.get(single) or self._state.get(single)
        if entry is None:
            bundle = self._pending.get(bundle_key(partition, dimension, start))
            bundle = bundle or self._state.get(bundle_key(partition, dimension, start))
            entry = bundle["entries"].get(key) if bundle is not None else None
        return -1 if entry is None else int(entry["version"])

    def _minute_entry(
        self, partition: int, dimension: str, key: str, start: int, end: int
    ) -> dict[str, Any]:
        """``key``'s entry in its minute bundle, ready to change (copied on first touch in a
        batch, so that a batch that fails half-way leaves the durable bundle untouched).

        A key the bundle has no room for (``BUNDLE_KEYS``) has a record of its own, as does
        a minute counted before bundles (an upgrade): such an entry stays on its own."""
        name = bundle_key(partition, dimension, start)
        bundle = self._pending.get(name)
        if bundle is None:
            stored = self._state.get(name)
            if stored is None:
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
                bundle = {**stored, "entries": dict(stored["entries"])}
        touched = (name, key)
        if touched in self._touched:
            return bundle["entries"][key]  # type: ignore[no-any-return]
        single = entry_key(partition, dimension, key, "1m", start)
        alone = self._pending.get(single)
        if alone is not None:
            return alone
        if single in self._state:
            # on its own, where it stays; a copy left in the bundle by a crash between the
            # two records of a move (the bundle written after) is older, and goes
            if key in bundle["entries"]:
                del bundle["entries"][key]
                self._pending[name] = bundle
            alone = self._pending[single] = self._load(
                single, dimension, key, "1m", start, end, partition
            )
            return alone
        entry = bundle["entries"].get(key)
        if entry is None:
            if len(bundle["entries"]) >= BUNDLE_KEYS:
                alone = self._pending[single] = self._load(
                    single, dimension, key, "1m", start, end, partition
                )
                return alone
            entry = {"version": -1, "levels": [0, 0, 0, 0, 0]}
        else:
            entry = _copy(entry)
        if name not in self._pending:
            self._pending[name] = bundle
            if name not in self._state:
                ends = self._ends.get(partition)
                if ends is not None:
                    heapq.heappush(ends, (end + self.lateness["1m"], name))
        self._touched.add(touched)
        bundle["entries"][key] = entry
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
        ends = self._ends.get(partition)
        if ends is not None:
            heapq.heappush(ends, (end + self.lateness[window], name))
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

    def drain(self) -> dict[str, dict[str, Any]]:
        """The entries changed since the last drain, written through to the state (a minute
        bundle as one record); each by its own ``entry_key``, with its window's fields."""
        pending, self._pending = self._pending, {}
        touched, self._touched = self._touched, set()
        changed: dict[str, dict[str, Any]] = {}
        for name, value in pending.items():
            if "entries" in value:
                for single, entry in self._overflow(value, pending):
                    # written before the bundle that no longer holds it: the changelog never
                    # has the bundle without the entry unless the entry is there too
                    self._state[single] = entry
                    changed[single] = entry
            self._state[name] = value
            if "entries" not in value:
                changed[name] = value
        for name, key in touched:
            bundle = pending[name]
            if key not in bundle["entries"]:
                continue  # moved out of the bundle above, reported there
            p, dimension, start = bundle["partition"], bundle["dimension"], bundle["start"]
            changed[entry_key(p, dimension, key, "1m", start)] = {
                "dimension": dimension,
                "key": key,
                "window": "1m",
                "start": start,
                "end": bundle["end"],
                "partition": p,
                **bundle["entries"][key],
            }
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
            moved.append(
                (
                    single,
                    {
                        "dimension": dimension,
                        "key": key,
                        "window": "1m",
                        "start": start,
                        "end": bundle["end"],
                        "partition": p,
                        **entry,
                    },
                )
            )
            ends = self._ends.get(p)
            if ends is not None:
                heapq.heappush(ends, (bundle["end"] + self.lateness["1m"], single))
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
