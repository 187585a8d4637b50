"""`make bench`'s cold start (issue 31): from `make up` with nothing started to the first
evaluation in ClickHouse, on the default topics and database, and whether supervisord
restarted a program on the way (a watchdog's exit 75 or a crash).

It stops what runs first (`make down`), then times `make up`, sends one evaluation as soon as
`make up` returns and waits for its row in ClickHouse `ratings`. It leaves the stack up, as
`make up` does (`make down` stops it). Prints Markdown rows to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from channels.producer import ChannelProducer
from channels.simulation import Simulator
from runtime.kafka_security import kafka_security
from runtime.settings import get_settings
from sinks.clickhouse import connect
from tests.integration.harness import scalar, wait_until

ROOT = Path(__file__).resolve().parents[2]
SUPERVISORD_LOG = ROOT / ".deploy" / "supervisor" / "supervisord.log"
console = Console(stderr=True)


def make(target: str, log: Path) -> float:
    """Run `make <target>` with its output in ``log``; its duration, or exit with one line."""
    started = time.monotonic()
    with log.open("ab") as out:
        done = subprocess.run(["make", "-s", target], cwd=ROOT, stdout=out, stderr=out)
    if done.returncode != 0:
        sys.exit(f"cold start: `make {target}` failed (exit {done.returncode}); see {log}")
    return time.monotonic() - started


def send_one(seed: int) -> str:
    """One valid evaluation of the simulator's steady traffic, stamped now; its id."""
    settings = get_settings()
    message = next(iter(Simulator(seed).stream(1, scenario="steady", rhythm=False)))
    producer = ChannelProducer(
        settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
    )
    producer.send_raw(message.key, message.value)
    producer.close()
    return str(json.loads(message.value)["evaluation_id"])


def restarts_since(supervisord_log: Path, offset: int) -> list[str]:
    """supervisord's lines, after ``offset`` bytes of its log, of a program that exited
    when it should not have (the restarts a watchdog or a crash caused)."""
    if not supervisord_log.exists():
        return []
    with supervisord_log.open("rb") as log:
        log.seek(offset)
        lines = log.read().decode(errors="replace").splitlines()
    return [line for line in lines if "exited:" in line and "not expected" in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the first row"
    )
    parser.add_argument("--log", type=Path, default=ROOT / ".data" / "bench" / "cold-start.log")
    args = parser.parse_args()
    args.log.parent.mkdir(parents=True, exist_ok=True)
    console.print("cold start: stopping everything (make down)")
    make("down", args.log)
    offset = SUPERVISORD_LOG.stat().st_size if SUPERVISORD_LOG.exists() else 0
    console.print(f"cold start: make up, then one evaluation (output in {args.log})")
    started = time.monotonic()
    up_s = make("up", args.log)
    evaluation_id = send_one(int(time.time()))
    client = connect(get_settings(), analyst=True)
    try:
        wait_until(
            f"evaluation {evaluation_id} in ClickHouse after `make up`",
            lambda: (
                scalar(
                    client,
                    "SELECT count() FROM ratings WHERE evaluation_id = %(id)s",
                    {"id": evaluation_id},
                )
                > 0
            ),
            timeout=args.timeout,
            every=0.1,
        )
    except AssertionError as exc:
        sys.exit(f"cold start: {exc}; see .deploy/supervisor/*.log")
    first_row_s = time.monotonic() - started
    restarts = restarts_since(SUPERVISORD_LOG, offset)
    print("| measurement | result |\n| --- | --- |")
    print(
        f"| cold start: `make up` with nothing started → first row in ClickHouse | "
        f"**{first_row_s:.1f} s** (`make up` {up_s:.1f} s, then {first_row_s - up_s:.1f} s "
        f"to the row) (target ≤ 30 s) |"
    )
    print(
        f"| supervisord restarts during the cold start | {len(restarts)}"
        + (f": {'; '.join(restarts)}" if restarts else "")
        + " |"
    )


if __name__ == "__main__":
    main()
