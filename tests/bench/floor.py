"""The Faust floor: an agent that only iterates a topic in batches and does nothing else.

Run by tests/bench/run.py as a separate process (like the real worker):
``python -m tests.bench.floor <bootstrap> <topic> <app_id> <expected> <result.json> [tuned]``;
with ``tuned``, under the garbage collector settings the worker runs with
(runtime/collector.py), to tell what they save Faust's own path from what they save ours.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import faust

from runtime.collector import tune_collector
from runtime.settings import Settings
from streams.worker.kafka import faust_credentials


def main() -> None:
    bootstrap, topic_name, app_id, expected, result = sys.argv[1:6]
    tuned = sys.argv[6:7] == ["tuned"]
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        # the login of the checkout's settings (.deploy/secrets.env), as the bench's own
        broker_credentials=faust_credentials(Settings()),
        store="memory://",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        datadir=f"/tmp/{app_id}",
    )
    topic = app.topic(
        topic_name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    seen = {"count": 0, "first": 0.0, "first_batch": 0, "cpu": 0.0}

    @app.agent(topic, concurrency=1)
    async def floor(stream: faust.StreamT) -> None:
        async for batch in stream.take(5000, within=0.5):
            now = time.perf_counter()
            if not seen["count"]:
                seen["first"], seen["first_batch"] = now, len(batch)
                seen["cpu"] = time.process_time()
            seen["count"] += len(batch)
            if seen["count"] >= int(expected):
                elapsed = now - seen["first"]
                events = seen["count"] - seen["first_batch"]
                # the process's CPU over the same span: what Faust's per-event path costs
                cpu = time.process_time() - seen["cpu"]
                Path(result).write_text(
                    json.dumps({"events": events, "seconds": elapsed, "cpu_seconds": cpu})
                )

    if tuned:
        tune_collector()
    sys.argv = [sys.argv[0], "worker", "-l", "error"]
    app.main()


if __name__ == "__main__":
    main()
