"""The ingest step's evaluated-transaction records, as the invitations step reads them: per
batch and partition of ``<app>-evaluated``, one record ``{"evaluated": [[transaction_id,
evaluated_at epoch seconds], ...]}`` of at most ``BUNDLE_MAX`` (a record per evaluation was
one message more per evaluation, docs/benchmarks.md "Issue 28"). The partition is the
transaction's home partition (murmur2 of its id, as its 办件 on ``transactions.valid``), so
both sides of a transaction meet in one worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Final

log = logging.getLogger(__name__)

BUNDLE_MAX: Final = 500  # about 35 KB a record: far below any record limit
Evaluated = tuple[str, int]  # transaction_id, evaluated_at (epoch seconds)


def bundle_evaluated(marks: Iterable[Evaluated]) -> Iterator[bytes]:
    batch: list[Evaluated] = []
    for mark in marks:
        batch.append(mark)
        if len(batch) >= BUNDLE_MAX:
            yield _record(batch)
            batch = []
    if batch:
        yield _record(batch)


def unbundle_evaluated(value: bytes | None) -> list[Evaluated]:
    """The marks of one record; a record that is not a bundle is skipped (only the worker
    writes this topic)."""
    if not value:
        return []
    try:
        return [(str(tid), int(at)) for tid, at in json.loads(value)["evaluated"]]
    except (ValueError, KeyError, TypeError):
        log.error("not a bundle of evaluated transactions: skipped")
        return []


def _record(batch: list[Evaluated]) -> bytes:
    return json.dumps({"evaluated": batch}, ensure_ascii=False, separators=(",", ":")).encode()
