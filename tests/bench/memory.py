"""Worker state after a city's traffic, measured in memory: the worker's three steps over
plain dicts (streams/testing.py), fed N evaluations over K services, as the worker would be.

    python -m tests.bench.memory 1000000 10000

Prints the state entries per table and the process's peak RSS. No Kafka: what is measured is
the state the steps keep, which is what a long-running worker holds (Faust's own buffers come
on top and do not grow with the keys).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime, timedelta

from runtime.settings import Settings
from streams.pipeline import StepStates, build_steps
from streams.records import Record
from streams.testing import ListOutbox


def evaluation(n: int, keys: int, at: datetime) -> bytes:
    key = n % keys
    return json.dumps(
        {
            "evaluation_id": f"E{n}",
            "transaction_id": f"T{n}",
            "service_code": f"310000-{key:012d}-1",
            "department_code": f"D{key % 200}",
            "region_code": "310101",
            "channel": "web" if n % 3 else "counter",
            "hall_code": f"H{key % 300}" if n % 3 == 0 else None,
            "level": 1 if n % 50 == 0 else 5,
            "evaluated_at": at.isoformat(),
        }
    ).encode()


def measure(count: int, keys: int, batch: int = 2000) -> dict[str, float]:
    states = StepStates({}, {}, {}, {})
    outbox = ListOutbox()
    steps = build_steps(Settings(demo_mode=True), secret=b"s" * 32, outbox=outbox, states=states)
    start = datetime.now(UTC) - timedelta(hours=6)
    began = time.perf_counter()
    for first in range(0, count, batch):
        at = start + timedelta(seconds=first * 6 * 3600 / count)  # six hours of traffic
        records = [
            Record("ratings.raw", n % 4, n // 4, at.timestamp() + 1, None, evaluation(n, keys, at))
            for n in range(first, min(count, first + batch))
        ]
        steps.ingest.process(records)
        minutes = [json.loads(s.value or b"{}") for s in outbox.sent if "surge-minutes" in s.topic]
        outbox.sent.clear()
        steps.surges.process(minutes)
        outbox.sent.clear()
        if first % (batch * 50) == 0:
            steps.ingest.expire()
    steps.ingest.expire()
    return {
        "evaluations": count,
        "keys": keys,
        "seconds": time.perf_counter() - began,
        "window_entries": len(states.windows),
        "dedupe_entries": len(states.dedupe),
        "surge_records": len(states.surge),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    print(json.dumps(measure(count, keys), indent=2))
