"""Surge detection measured (issue 18): how soon ten live surges alert, and how many false
alarms a day of steady traffic raises.

    python -m tests.bench.surges [--hours 24] [--skip-live] [--before]

* **False alarms**: ``--hours`` of steady simulated traffic (50 departments, 6 evaluations/s,
  1 % bad) plus a hall pad whose clock runs 4 minutes fast, through the worker's own steps in
  memory (streams/testing.py), fed every 10 s of broker time so early looks happen as live.
  Arrivals are realistic: most evaluations reach Kafka 0-5 s after they were made, one in ten
  (SMS, hotline) 1-30 minutes later, which brings judged minutes second looks. The ingest
  half's heartbeats (issue 26) come every 5 s of broker time, as live.
* **Delay**: against the real services, 20 minutes of steady history, then six minutes of live
  traffic (60 evaluations/s over 60 departments) in which ten departments surge one after
  another, 23 s apart so that they start at different seconds of their minutes. Each surge
  doubles its department's traffic with 30 % bad reviews. The delay is wall-clock time from
  the surge's first bad review sent to its ``opened`` event read from alerts.spikes.
* **Delay when traffic stops right after the surge** (issue 26): ten minutes of history, then
  60 s of live traffic (7 evaluations/s over 21 departments) whose last 25 s carry one
  department at three times its traffic and 60 % bad, then nothing at all; ``--quiet-runs``
  repetitions, each on topics of its own. Before issue 26 such a surge raised no alert.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from kafka import KafkaConsumer
from rich.console import Console

from channels.producer import ChannelProducer, message_key
from channels.simulation import Simulator
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from schemas.catalogue import synthetic_departments
from streams.testing import InMemoryPipeline
from tests import surge_traffic
from tests.integration.harness import Service, cleanup, prepare, send_timed, unique_settings

console = Console(stderr=True)

LIVE_RATE = 60.0
HISTORY_MIN = 20
LIVE_S = 360
SURGES = 10
SURGE_EVERY_S = 23
SURGE_LENGTH_S = 180
SURGE_BAD_SHARE = 0.3


def false_alarms(hours: float, seed: int = 3) -> dict[str, Any]:
    """Alerts raised by ``hours`` of steady traffic plus a fast pad, in memory."""
    settings = Settings(demo_mode=True, topic_partitions=4, allowed_lateness_s=7 * 86_400)
    pipeline = InMemoryPipeline(settings)
    rng = random.Random(seed)
    simulator = Simulator(
        seed=seed,
        departments=surge_traffic.DEPARTMENTS,
        bad_rate=0.01,
        pii_rate=0.0,
        followup_rate=0.0,
    )
    start = datetime(2026, 11, 2, tzinfo=UTC)
    count = int(hours * 3600 * surge_traffic.RATE)
    slots: dict[int, list[tuple[bytes | None, bytes]]] = {}

    def arrive(at: float, key: bytes | None, value: bytes) -> None:
        slots.setdefault(int(at // 10), []).append((key, value))

    for message in simulator.stream(
        count, start=start, rate_per_s=surge_traffic.RATE, rhythm=False
    ):
        made = message.at.timestamp()
        delay = rng.uniform(60, 1800) if rng.random() < 0.1 else rng.uniform(0, 5)
        arrive(made + delay, message.key, message.value)
    for at, key, value in surge_traffic.pad(start, int(hours * 60)):
        arrive(at, key, value)
    started = time.perf_counter()
    for slot in sorted(slots):
        pipeline.send_raw(slots[slot], at=slot * 10 + 9.999)
        pipeline.run()
        # the ingest half's heartbeats (issue 26), twice per slot as every 5 s live
        for beat in (5.0, 9.999):
            pipeline.heartbeat(slot * 10 + beat)
            pipeline.run()
    alerts = [a for a in pipeline.values(settings.topic_alerts) if a["state"] == "opened"]
    return {
        "hours": hours,
        "evaluations": count + len(surge_traffic.pad(start, int(hours * 60))),
        "false_alarms": len(alerts),
        "by_dimension": dict(Counter(a["dimension"] for a in alerts)),
        "seconds": time.perf_counter() - started,
    }


def _watch_openings(
    settings: Settings, opened: dict[str, float], stop: threading.Event
) -> threading.Thread:
    """A thread that notes when each department's first ``opened`` event is read."""

    def watch() -> None:
        consumer = KafkaConsumer(
            settings.topic_alerts,
            bootstrap_servers=settings.kafka_servers,
            auto_offset_reset="earliest",
            group_id=None,
            **kafka_security(settings),
        )
        try:
            while not stop.is_set():
                for records in consumer.poll(timeout_ms=200).values():
                    for record in records:
                        event = json.loads(record.value)
                        if event["state"] == "opened" and event["dimension"] == "department":
                            opened.setdefault(event["key"], time.time())
        finally:
            consumer.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


QUIET_RATE = 7.0
QUIET_DEPARTMENTS = 21


def quiet_after_surge(workdir: Path, seed: int) -> float | None:
    """One surge in the last 25 s of a minute of live traffic, then nothing: seconds from its
    first bad review sent to its ``opened`` event read (None: no alert within 180 s)."""
    settings = unique_settings(workdir, topic_partitions=4)
    prepare(settings)
    departments = synthetic_departments(QUIET_DEPARTMENTS)
    surging = departments[seed % QUIET_DEPARTMENTS]
    simulator = Simulator(
        seed=seed, departments=departments, bad_rate=0.01, pii_rate=0.0, followup_rate=0.0
    )
    rng = random.Random(seed)
    worker = Service(settings, "worker", workdir / f"quiet-{seed}-worker.log")
    opened: dict[str, float] = {}
    stop = threading.Event()
    watcher = _watch_openings(settings, opened, stop)
    try:
        now = time.time()
        history = [
            (m.at.timestamp() + 2, m.key, m.value)
            for m in simulator.stream(
                int(600 * QUIET_RATE),
                start=datetime.fromtimestamp(now - 600, UTC),
                rate_per_s=QUIET_RATE,
                rhythm=False,
            )
        ]
        send_timed(settings, history, live_from=now + 3600, pace=1.0)
        live_start = time.time() + 2
        planned = [
            (m.at.timestamp(), json.loads(m.value), False)
            for m in simulator.stream(
                int(60 * QUIET_RATE),
                start=datetime.fromtimestamp(live_start, UTC),
                rate_per_s=QUIET_RATE,
                rhythm=False,
            )
        ]
        t = live_start + 35 + rng.random()
        while t < live_start + 60:
            bad = rng.random() < 0.6
            level = rng.choice((1, 2)) if bad else rng.choice((4, 5))
            at = datetime.fromtimestamp(t, UTC)
            planned.append((t, simulator.evaluation(at, department=surging, level=level), bad))
            t += rng.expovariate(3 * QUIET_RATE / QUIET_DEPARTMENTS)
        planned.sort(key=lambda p: p[0])
        producer = ChannelProducer(
            settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
        )
        first_bad: float | None = None
        for at, evaluation, bad in planned:
            time.sleep(max(0.0, at - time.time()))
            value = json.dumps(evaluation, ensure_ascii=False).encode()
            producer.send_raw(message_key(evaluation), value)
            if bad and first_bad is None:
                first_bad = time.time()
        producer.close()
        deadline = time.time() + 180
        while time.time() < deadline and surging.code not in opened:
            time.sleep(1)
    finally:
        stop.set()
        watcher.join(timeout=10)
        worker.stop()
        cleanup(settings)
    if first_bad is None or surging.code not in opened:
        return None
    return opened[surging.code] - first_bad


def live_delays(workdir: Path, seed: int = 9, **overrides: Any) -> dict[str, Any]:
    """Ten staggered surges in live traffic through the real broker and worker (with the
    settings ``overrides``)."""
    settings = unique_settings(workdir, topic_partitions=4, **overrides)
    prepare(settings)
    departments = synthetic_departments(60)
    surging = departments[40 : 40 + SURGES]
    simulator = Simulator(
        seed=seed, departments=departments, bad_rate=0.01, pii_rate=0.0, followup_rate=0.0
    )
    rng = random.Random(seed)
    worker = Service(settings, "worker", workdir / "surges-worker.log")
    opened: dict[str, float] = {}
    stop = threading.Event()
    watcher = _watch_openings(settings, opened, stop)
    try:
        # history: 20 minutes before now, sent at once with their record timestamps
        now = time.time()
        history_start = datetime.fromtimestamp(now - HISTORY_MIN * 60, UTC)
        history = [
            (m.at.timestamp() + 2, m.key, m.value)
            for m in simulator.stream(
                int(HISTORY_MIN * 60 * LIVE_RATE),
                start=history_start,
                rate_per_s=LIVE_RATE,
                rhythm=False,
            )
        ]
        send_timed(settings, history, live_from=now + 3600, pace=1.0)
        console.print(f"  history sent ({len(history):,} evaluations); live for {LIVE_S} s")
        # live: steady traffic plus the surges, each evaluation sent when it is made
        live_start = time.time() + 2
        planned: list[tuple[float, dict[str, Any], str | None]] = []
        for message in simulator.stream(
            int(LIVE_S * LIVE_RATE),
            start=datetime.fromtimestamp(live_start, UTC),
            rate_per_s=LIVE_RATE,
            rhythm=False,
        ):
            planned.append((message.at.timestamp(), json.loads(message.value), None))
        per_department = LIVE_RATE / len(departments)
        for i, department in enumerate(surging):
            begin = live_start + 15 + i * SURGE_EVERY_S + rng.random()
            t = begin
            while t < begin + SURGE_LENGTH_S:
                bad = rng.random() < SURGE_BAD_SHARE
                level = rng.choice((1, 2)) if bad else rng.choice((4, 5))
                evaluation = simulator.evaluation(
                    datetime.fromtimestamp(t, UTC), department=department, level=level
                )
                planned.append((t, evaluation, department.code if bad else None))
                t += rng.expovariate(per_department)
        planned.sort(key=lambda p: p[0])
        producer = ChannelProducer(
            settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
        )
        first_bad_sent: dict[str, float] = {}
        for at, evaluation, surge_key in planned:
            time.sleep(max(0.0, at - time.time()))
            value = json.dumps(evaluation, ensure_ascii=False).encode()
            producer.send_raw(message_key(evaluation), value)
            if surge_key is not None and surge_key not in first_bad_sent:
                first_bad_sent[surge_key] = time.time()
        producer.close()
        deadline = time.time() + 120
        while time.time() < deadline and not set(first_bad_sent) <= set(opened):
            time.sleep(1)
    finally:
        stop.set()
        watcher.join(timeout=10)
        worker.stop()
        cleanup(settings)
    delays = {key: opened[key] - sent for key, sent in first_bad_sent.items() if key in opened}
    others = sorted(set(opened) - set(first_bad_sent))
    return {
        "surges": len(first_bad_sent),
        "alerted": len(delays),
        "delays_s": sorted(round(d, 1) for d in delays.values()),
        "median_s": statistics.median(delays.values()) if delays else None,
        "worst_s": max(delays.values()) if delays else None,
        "other_alerts": others,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="hours of steady traffic")
    parser.add_argument("--skip-live", action="store_true", help="skip the live delay run")
    parser.add_argument(
        "--before",
        action="store_true",
        help="also the live run as before issue 18 (no early looks, 30 s grace), for a ratio",
    )
    parser.add_argument(
        "--quiet-runs",
        type=int,
        default=3,
        help="runs of a surge followed by no traffic at all (issue 26); 0 skips them",
    )
    args = parser.parse_args()
    steady = None
    if args.hours > 0:
        console.print(f"surge false alarms: {args.hours:g} h of steady traffic, in memory")
        steady = false_alarms(args.hours)
        console.print(f"  {steady}")
    live: dict[str, Any] = {}
    runs = {"now": {}, "before": {"surge_early_every_s": 0, "surge_grace_s": 30}}
    for name, overrides in runs.items():
        if args.skip_live or (name == "before" and not args.before):
            continue
        console.print(f"surge delay ({name}): {SURGES} live surges, real services")
        with TemporaryDirectory() as tmp:
            live[name] = live_delays(Path(tmp), **overrides)
        console.print(f"  {live[name]}")
    quiet: dict[str, Any] = {}
    if not args.skip_live and args.quiet_runs > 0:
        console.print(f"surge delay, traffic stops right after it: {args.quiet_runs} runs")
        delays = []
        for run in range(args.quiet_runs):
            with TemporaryDirectory() as tmp:
                delays.append(quiet_after_surge(Path(tmp), seed=31 + run))
            console.print(
                f"  run {run + 1}: {delays[-1] if delays[-1] is None else round(delays[-1], 1)} s"
            )
        found = [d for d in delays if d is not None]
        quiet = {
            "surges": len(delays),
            "alerted": len(found),
            "delays_s": sorted(round(d, 1) for d in found),
            "median_s": statistics.median(found) if found else None,
            "worst_s": max(found) if found else None,
        }
        console.print(f"  {quiet}")
    print(json.dumps({"steady": steady, "live": live, "traffic_stops": quiet}))


if __name__ == "__main__":
    main()
