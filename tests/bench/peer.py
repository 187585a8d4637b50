"""A single-process Quix Streams peer on the bench's topic (issue 31): the lighter job a team
might write instead of haochaping, to measure the worker against every run.

Each evaluation is validated against the channel contract with pydantic
(schemas.evaluation.RawEvaluation, the model the worker uses), and one-minute tumbling window
counts are kept per department and per service item (Quix's own windows, after a group_by).
No scrubbing, deduplication, screening, surges, cases or ClickHouse rows: lighter than the
worker's job, which is why it is the bar.

Run by tests/bench/run.py as a separate process, with the interpreter of ``.venv-peer``
(quixstreams pins pydantic below the project's version, so it gets a virtualenv of its own,
made by ``make bench``; ``schemas`` needs nothing but pydantic):
``python -m tests.bench.peer <bootstrap> <topic> <group> <expected> <result.json> <state dir>``
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from quixstreams import Application
from quixstreams.kafka.configuration import ConnectionConfig

from schemas.evaluation import RawEvaluation


def _connection(bootstrap: str) -> ConnectionConfig:
    """The bench's Kafka login, from the environment tests/bench/run.py gives this process."""
    if os.environ.get("HAOCHAPING_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT") == "PLAINTEXT":
        return ConnectionConfig(bootstrap_servers=bootstrap)
    return ConnectionConfig(
        bootstrap_servers=bootstrap,
        security_protocol="sasl_plaintext",
        sasl_mechanism=os.environ.get("HAOCHAPING_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        sasl_username=os.environ["HAOCHAPING_KAFKA_SASL_USERNAME"],
        sasl_password=os.environ["HAOCHAPING_KAFKA_SASL_PASSWORD"],
    )


def main() -> None:
    bootstrap, topic_name, group, expected, result, state_dir = sys.argv[1:7]
    app = Application(
        broker_address=_connection(bootstrap),
        consumer_group=group,
        auto_offset_reset="earliest",
        state_dir=state_dir,
        processing_guarantee="at-least-once",
        loglevel="WARNING",
    )
    topic = app.topic(topic_name, key_deserializer="bytes", value_deserializer="bytes")
    seen = {"count": 0, "invalid": 0, "first": 0.0, "cpu": 0.0, "department": 0, "service": 0}

    def finish_when_done() -> None:
        # done when every evaluation was validated and every valid one reached both windows
        # (they come back through Quix's repartition topics, after the validation)
        valid = seen["count"] - seen["invalid"]
        if seen["count"] >= int(expected) and min(seen["department"], seen["service"]) >= valid:
            _finish(seen, Path(result))
            app.stop()

    def validate(value: bytes) -> dict[str, Any] | None:
        if not seen["count"]:
            seen["first"], seen["cpu"] = time.perf_counter(), time.process_time()
        seen["count"] += 1
        try:
            evaluation = RawEvaluation.model_validate_json(value)
        except ValidationError:
            seen["invalid"] += 1
            finish_when_done()
            return None
        return {"department": evaluation.department_code, "service": evaluation.service_code}

    def arrived(dimension: str) -> Any:
        def count(value: dict[str, Any]) -> None:
            seen[dimension] += 1
            finish_when_done()

        return count

    valid = app.dataframe(topic).apply(validate).filter(lambda value: value is not None)
    for dimension in ("department", "service"):
        grouped = valid.group_by(dimension, name=dimension).update(arrived(dimension))
        grouped.tumbling_window(timedelta(minutes=1)).count().final()
    app.run()


def _finish(seen: dict[str, float], result: Path) -> None:
    if result.exists():
        return
    events = seen["count"] - 1  # counted from the first one's arrival
    result.write_text(
        json.dumps(
            {
                "events": events,
                "invalid": seen["invalid"],
                "seconds": time.perf_counter() - seen["first"],
                "cpu_seconds": time.process_time() - seen["cpu"],
            }
        )
    )


if __name__ == "__main__":
    main()
