"""Worker state after a city's traffic, measured in memory: the worker's steps over
plain dicts (streams/testing.py), fed N evaluations over K services, as the worker would be.

    python -m tests.bench.memory 1000000 10000          # six hours of traffic
    python -m tests.bench.memory 1000000 10000 30       # spread over 30 days, arriving late

With a number of days, the evaluations arrive over that many days and some arrive late, as
they do (one in ten hours after it was given, one in fifty days after): day windows are kept
for the 30-day horizon, so this is the state of a worker in its steady state.

Prints the state entries per table (window entries split into minutes and days) and the
process's peak RSS. No Kafka: what is measured is the state the steps keep, which is what a
long-running worker holds (Faust's own buffers come on top and do not grow with the keys).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime, timedelta

from runtime.settings import Settings
from schemas.windows import window_states
from streams.pipeline import StepStates, build_steps
from streams.records import Record
from streams.surges.minutes import unbundle_partials
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


def delay(n: int, late: bool) -> timedelta:
    """How long after it was given evaluation ``n`` arrives: seconds, or with ``late`` hours
    for one in ten (SMS, hotline) and days for one in fifty (a pad offline)."""
    if late and n % 50 == 1:
        return timedelta(days=1 + n % 3, seconds=n % 3600)
    if late and n % 10 == 0:
        return timedelta(hours=1 + n % 23)
    return timedelta(seconds=1)


def measure(count: int, keys: int, days: float = 0.25, batch: int = 2000) -> dict[str, float]:
    states = StepStates({}, {}, {}, {})
    outbox = ListOutbox()
    steps = build_steps(Settings(demo_mode=True), secret=b"s" * 32, outbox=outbox, states=states)
    span = days * 86_400
    late = days >= 1
    start = datetime.now(UTC) - timedelta(seconds=span)
    began = time.perf_counter()
    for first in range(0, count, batch):
        arrival = start + timedelta(seconds=first * span / count)
        records = [
            Record(
                "ratings.raw",
                n % 4,
                n // 4,
                arrival.timestamp(),
                None,
                evaluation(n, keys, arrival - delay(n, late)),
            )
            for n in range(first, min(count, first + batch))
        ]
        steps.ingest.process(records)
        minutes = unbundle_partials(
            json.loads(s.value or b"{}") for s in outbox.sent if "surge-minutes" in s.topic
        )
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
        "days": days,
        "window_entries": len(states.windows),  # records: a minute bundle is one
        "minute_entries": sum(
            len(window_states(value)) for name, value in states.windows.items() if "|1m|" in name
        ),
        "day_entries": sum(1 for name in states.windows if "|1d|" in name),
        "days_kept": len({name.rsplit("|", 1)[1] for name in states.windows if "|1d|" in name}),
        # claims, not records: the state keeps one record per partition and batch
        "dedupe_entries": sum(
            len(r["claims"]) if isinstance(r, dict) else 1 for r in states.dedupe.values()
        ),
        "surge_records": len(states.surge),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    keys = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    days = float(sys.argv[3]) if len(sys.argv) > 3 else 0.25
    print(json.dumps(measure(count, keys, days), indent=2))
