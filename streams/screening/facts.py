"""What the screening step needs of an accepted evaluation, forwarded by the ingest step.

A fact travels once per evaluation on the worker's internal topic (bundled like the surge
minutes) as a JSON array of its fields in declaration order, trailing empty ones left off
(``to_row``): no key names to write and parse. Records of the earlier form, an object per
fact (``to_dict``), are still read, so a worker rebuilding its state from facts written
before an upgrade reads them too. Identifiers are already pseudonyms, never raw ids or
addresses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pydantic_core

from schemas.evaluation import Evaluation

# facts per record on the internal topic: far below Kafka's 1 MB with comments of 2,000 chars
BUNDLE_MAX = 200


@dataclass(frozen=True, slots=True)
class ScreenFact:
    evaluation_id: str
    at: int  # evaluated_at, epoch seconds: the event time every window of the screener uses
    department_code: str
    service_code: str
    channel: str
    level: int
    has_transaction: bool
    evaluator: str = ""  # evaluator_hash
    device: str = ""  # device_hash
    network: str = ""  # network_hash
    hall_code: str = ""
    window_code: str = ""
    staff_id: str = ""
    comment: str = ""  # bad reviews only (the malicious-comment signal reads nothing else)

    @property
    def window(self) -> str:
        """The hall window, "" without one: a window code is unique within its hall only
        (issue 28's 办件 name W1 in two halls), so a window is its hall's and its own code."""
        return f"{self.hall_code}|{self.window_code}" if self.window_code else ""

    @classmethod
    def of(cls, evaluation: Evaluation) -> ScreenFact:
        e = evaluation
        return cls(
            evaluation_id=e.evaluation_id,
            at=int(e.evaluated_at.timestamp()),
            department_code=e.department_code,
            service_code=e.service_code,
            channel=str(e.channel),
            level=int(e.level),
            has_transaction=e.transaction_id is not None,
            evaluator=e.evaluator_hash or "",
            device=e.device_hash or "",
            network=e.network_hash or "",
            hall_code=e.hall_code or "",
            window_code=e.window_code or "",
            staff_id=e.staff_id or "",
            comment=(e.comment or "") if e.is_bad else "",
        )

    def to_dict(self) -> dict[str, Any]:
        # by hand: dataclasses.asdict deep-copies every value, and was most of the
        # screening's CPU (measured with cProfile)
        return {
            name: value
            for name in _FIELDS
            if (value := getattr(self, name)) is not None and value != ""
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreenFact:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def to_row(self) -> list[Any]:
        """The fields in declaration order, without the trailing empty ones."""
        row: list[Any] = [
            self.evaluation_id,
            self.at,
            self.department_code,
            self.service_code,
            self.channel,
            self.level,
            self.has_transaction,
            self.evaluator,
            self.device,
            self.network,
            self.hall_code,
            self.window_code,
            self.staff_id,
            self.comment,
        ]
        while len(row) > _REQUIRED and row[-1] == "":
            row.pop()
        return row

    @classmethod
    def from_row(cls, row: list[Any]) -> ScreenFact:
        if len(row) > len(_FIELDS):
            raise ValueError("a fact row with more fields than a fact has")
        return cls(*row)

    def without_comment(self) -> ScreenFact:
        """What a window keeps of it to flag it later: only the stateless comment signal
        reads the comment, so a busy key's state stays small."""
        return replace(self, comment="") if self.comment else self


_FIELDS = tuple(ScreenFact.__dataclass_fields__)
_REQUIRED = 7  # evaluation_id … has_transaction: the fields without a default


def bundle_facts(facts: Iterable[ScreenFact]) -> Iterator[bytes]:
    """Records of at most ``BUNDLE_MAX`` facts each, ``{"facts": [...]}``."""
    batch: list[list[Any]] = []
    for fact in facts:
        batch.append(fact.to_row())
        if len(batch) >= BUNDLE_MAX:
            yield _record(batch)
            batch = []
    if batch:
        yield _record(batch)


def unbundle_facts(values: Iterable[bytes | None]) -> list[ScreenFact]:
    """The facts of these records; a record that is not a bundle of facts is skipped (only
    the worker writes this topic)."""
    out: list[ScreenFact] = []
    for value in values:
        if not value:
            continue
        try:
            document = json.loads(value)
            out.extend(
                ScreenFact.from_row(item) if isinstance(item, list) else ScreenFact.from_dict(item)
                for item in document["facts"]
            )
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _record(batch: list[list[Any]]) -> bytes:
    # pydantic-core's encoder: the same compact JSON at a fifth of json.dumps's cost
    return pydantic_core.to_json({"facts": batch})
