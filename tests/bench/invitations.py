"""The invitations step's join (issue 28), measured in memory: N 办件 and the evaluated-
transaction records of two in three of them, through ``InvitationStep`` over a plain dict, as
the worker's follow-up half reads them; then one look of the invitation timer.

    python -m tests.bench.invitations            # a million 办件
    python -m tests.bench.invitations 200000

Prints the cost per record of each input, the entries kept and their changelog bytes (the
JSON the table writes), the process's RSS growth, and the timer's look. No Kafka: Faust's own
cost per record comes on top and is what `make bench`'s pipeline rows measure.
"""

from __future__ import annotations

import resource
import sys
import time
from datetime import UTC, datetime, timedelta

import pydantic_core

from schemas.codes import Channel
from schemas.transaction import Transaction
from streams.invitations.book import InvitationRules
from streams.invitations.evaluated import bundle_evaluated
from streams.invitations.step import InvitationStep
from streams.records import Record
from streams.testing import ListOutbox

START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
PARTITIONS = 4


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def transactions(count: int) -> list[Record]:
    records = []
    for n in range(count):
        value = Transaction(
            transaction_id=f"310101202612010{n:010d}",
            service_code=f"310000-{n % 5000:012d}-1",
            department_code=f"D{n % 200}",
            region_code="310101",
            channel=Channel.COUNTER,
            channel_code=4,
            hall_code=f"HL{n % 300:08d}",
            window_code=f"W{n % 12:02d}",
            completed_at=START + timedelta(seconds=n % 86_400),
            ingested_at=START + timedelta(seconds=n % 86_400 + 5),
        ).to_json_bytes()
        records.append(Record("transactions.valid", n % PARTITIONS, n, 0.0, None, value))
    return records


def evaluated(count: int) -> list[Record]:
    """As the ingest step bundles them; the partition as in ``transactions``."""
    at = int(START.timestamp()) + 3600
    by_partition: dict[int, list[tuple[str, int]]] = {}
    for n in range(count):
        if n % 3 != 2:
            by_partition.setdefault(n % PARTITIONS, []).append((f"310101202612010{n:010d}", at))
    return [
        Record("x-evaluated", partition, offset, 0.0, None, value)
        for partition, marks in by_partition.items()
        for offset, value in enumerate(bundle_evaluated(marks))
    ]


def main(count: int) -> None:
    rules = InvitationRules(after_s=72 * 3600, horizon_s=15 * 86_400)
    state: dict[str, object] = {}
    step = InvitationStep(
        rules=rules,
        state=state,
        outbox=ListOutbox(),
        invitations_topic="invitations",
        transactions_topic="transactions.valid",
        default_ratings_topic="ratings.default",
    )
    made, marks = transactions(count), evaluated(count)
    rated = count - count // 3
    before = rss_mb()
    started = time.perf_counter()
    for begin in range(0, len(marks), 2000):
        step.process(marks[begin : begin + 2000])
    marks_s = time.perf_counter() - started
    started = time.perf_counter()
    for begin in range(0, len(made), 2000):
        step.process(made[begin : begin + 2000])
    made_s = time.perf_counter() - started
    grown = rss_mb() - before
    changelog = sum(len(pydantic_core.to_json(entry)) for entry in state.values())
    started = time.perf_counter()
    invited = step.send_due(START.timestamp() + 4 * 86_400, range(PARTITIONS))
    look_s = time.perf_counter() - started
    print(f"办件 {count:,}, evaluated {rated:,} ({len(marks):,} records), entries {len(state):,}")
    print(f"per 办件: {made_s / count * 1e6:.1f} µs; per evaluated transaction: "
          f"{marks_s / rated * 1e6:.1f} µs")  # fmt: skip
    print(f"changelog JSON: {changelog / len(state):.0f} bytes per entry, "
          f"{changelog / 1e6:.0f} MB in all")  # fmt: skip
    print(f"RSS growth: {grown:.0f} MB ({grown * 1e6 / len(state):.0f} bytes per entry)")
    per_entry = look_s / len(state) * 1e6
    print(f"one timer look: {invited:,} invited in {look_s:.2f} s "
          f"(the first look indexes the table: {per_entry:.1f} µs per entry)")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
