"""Window counts: the value on ``satisfaction.windows``.

The worker aggregates each source partition separately (two-phase aggregation, see
FIELD-NOTES): one message is the cumulative count of one (dimension, key, window) over the
evaluations of one partition of ``ratings.raw``, versioned by the offset of the last one
counted. The numbers of a window are the sum over partitions of each partition's newest
version; ClickHouse's ``satisfaction`` view does that sum, so emitting a window many times,
in any order, or again after a replay never changes the result.

A minute's counts travel bundled: one record per source partition, dimension and minute
(key ``"<partition>|<dimension>||1m|<start>"``, the key part empty) holds every key of that
dimension counted in that minute under ``entries`` (key → version and levels). At a few
evaluations a second most minute windows count one or two evaluations, so a record per key
was more than one message per evaluation (docs/benchmarks.md, issue 14). ``window_states``
turns either kind of record into the states of single windows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from schemas.dimensions import DIMENSIONS

WindowKind = Literal["1m", "1d"]


def known_dimension(value: str) -> str:
    if value not in DIMENSIONS:
        raise ValueError(f"unknown dimension {value!r} (known: {', '.join(DIMENSIONS)})")
    return value


class WindowCounts(BaseModel):
    dimension: str
    key: str
    window: WindowKind
    window_start: datetime
    window_end: datetime
    source_partition: int = Field(ge=0)
    version: int = Field(ge=0, description="offset of the last evaluation counted")
    level_1: int = 0
    level_2: int = 0
    level_3: int = 0
    level_4: int = 0
    level_5: int = 0

    @field_validator("dimension")
    @classmethod
    def _known(cls, value: str) -> str:
        return known_dimension(value)

    @property
    def total(self) -> int:
        return self.level_1 + self.level_2 + self.level_3 + self.level_4 + self.level_5

    @property
    def bad(self) -> int:
        return self.level_1 + self.level_2

    @property
    def good(self) -> int:
        return self.level_3 + self.level_4 + self.level_5

    @property
    def good_rate(self) -> float:
        return self.good / self.total if self.total else 0.0

    @property
    def bad_rate(self) -> float:
        return self.bad / self.total if self.total else 0.0

    @property
    def mean_level(self) -> float:
        if not self.total:
            return 0.0
        weighted = (
            self.level_1 + 2 * self.level_2 + 3 * self.level_3 + 4 * self.level_4 + 5 * self.level_5
        )
        return weighted / self.total

    @classmethod
    def from_state(cls, state: dict[str, object]) -> WindowCounts:
        """Build from the compact state the worker keeps (see streams/ingest/counts.py)."""
        levels = state["levels"]
        assert isinstance(levels, list)
        return cls(
            dimension=str(state["dimension"]),
            key=str(state["key"]),
            window=state["window"],  # type: ignore[arg-type]
            window_start=datetime.fromtimestamp(float(state["start"]), UTC),  # type: ignore[arg-type]
            window_end=datetime.fromtimestamp(float(state["end"]), UTC),  # type: ignore[arg-type]
            source_partition=int(state["partition"]),  # type: ignore[call-overload]
            version=int(state["version"]),  # type: ignore[call-overload]
            level_1=levels[0],
            level_2=levels[1],
            level_3=levels[2],
            level_4=levels[3],
            level_5=levels[4],
        )


def window_states(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The single windows' states in a record of ``satisfaction.windows``: a bundle's
    entries each with their bundle's dimension, window, bounds and partition, or the record
    itself when it is one window."""
    entries = record.get("entries")
    if not isinstance(entries, dict):
        return [record]
    return [bundled_state(record, key) for key in entries]


def bundled_state(bundle: dict[str, Any], key: str) -> dict[str, Any]:
    """``key``'s entry in ``bundle`` as the state of a single window (the form it has in a
    record of its own)."""
    return {
        "dimension": bundle["dimension"],
        "key": key,
        "window": bundle["window"],
        "start": bundle["start"],
        "end": bundle["end"],
        "partition": bundle["partition"],
        **bundle["entries"][key],
    }
