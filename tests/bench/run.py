"""`make bench`: throughput of the Faust floor, the whole pipeline and a bare consumer on the
same topic in the same run, and event-to-ClickHouse latency at a fixed rate.

Everything runs against the local services (`make up`) on fresh, uniquely named topics and a
fresh database, which are deleted afterwards. Results are printed as a Markdown table to paste
into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from rich.console import Console

from channels.producer import ChannelProducer
from channels.simulation import Simulator
from haochaping.topics import admin_client, ensure_topics
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from sinks.clickhouse import connect
from streams.topology import raw_committer
from tests.bench.observe import (
    Offsets,
    TopicContent,
    Watch,
    broker_pid,
    output_topics,
    peak_rss_mb,
    rate_from_timestamps,
    read_topics,
    wait_for,
)
from tests.bench.pace import paces, probe
from tests.bench.scrub_fuzz import slowest_input
from tests.integration.harness import Service, cleanup, env_for, prepare, unique_settings

console = Console(stderr=True, soft_wrap=True)


# event-time rate of the pre-filled traffic of runs (a)-(c) (--traffic spread): the simulator's
# peak rate, at which 0-0.03 % of genuine evaluations are flagged (docs/analyst-guide.md)
SPREAD_RATE = 5.0


def spread_start(count: int, rate: float = SPREAD_RATE) -> datetime:
    """Where ``count`` evaluations at ``rate`` a second of event time start so as to end
    about two minutes before now (well inside the worker's clock skew)."""
    return datetime.now(UTC) - timedelta(seconds=count / rate + 120)


def produce(
    settings: Settings,
    count: int,
    seed: int,
    rate: float | None = None,
    start: datetime | None = None,
) -> list[float]:
    """Send `count` simulated evaluations; returns each one's send time (perf_counter).

    With ``start``, event times advance from it at ``SPREAD_RATE`` a second (flat, no office
    rhythm: a busy hour all along) instead of being the wall clock at sending, which stamps
    the whole pre-filled topic within seconds and puts every hall pad, device and network
    over its per-minute limit (the screening then flags a quarter of the traffic)."""
    producer = ChannelProducer(
        settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
    )
    sent_at: list[float] = []
    messages: Iterable[Any] = Simulator(seed).stream(
        count,
        scenario="steady",
        start=start,
        rate_per_s=SPREAD_RATE if start is not None else None,
        rhythm=False,
    )
    if rate:
        # made before the clock starts: the channels that send them run elsewhere, and the
        # simulation took a quarter of the sender's CPU (docs/benchmarks.md, 2026-12-08)
        messages = list(messages)
    started = time.perf_counter()
    for i, message in enumerate(messages, 1):
        if rate:
            ahead = i / rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)
        producer.send_raw(message.key, message.value)
        sent_at.append(time.perf_counter())
        if i % 20_000 == 0:
            console.print(f"  produced {i}/{count}")
    producer.close()
    return sent_at


async def ceiling(settings: Settings, count: int) -> float:
    consumer = AIOKafkaConsumer(
        settings.topic_raw,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        **kafka_security(settings),
    )
    await consumer.start()
    seen, first, first_batch = 0, 0.0, 0
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batches.values():
                for record in records:
                    json.loads(record.value)
                if not first and records:
                    # the rate counts what came after the first batch, as for (a) and (b)
                    first, first_batch = time.perf_counter(), len(records)
                seen += len(records)
        return (seen - first_batch) / (time.perf_counter() - first)
    finally:
        await consumer.stop()


ROOT = Path(__file__).resolve().parents[2]
PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"


def floor(
    settings: Settings, count: int, workdir: Path, tuned: bool = False
) -> tuple[float, float]:
    """The floor's evaluations/s, and its CPU seconds per 1,000 evaluations; ``tuned``: with
    the worker's garbage collector settings."""
    name = f"floor{'-tuned' * tuned}"
    argv = [sys.executable, "-m", "tests.bench.floor", settings.kafka_bootstrap,
            settings.topic_raw, f"{settings.app_id}-{name}", str(count),
            str(workdir / f"{name}.json"), *(["tuned"] if tuned else [])]  # fmt: skip
    measured = timed_process(argv, workdir / f"{name}.json", workdir / "floor.log", timeout=600)
    if isinstance(measured, str):
        raise SystemExit(f"floor run failed:\n{measured}")
    return measured


def batch_ingest(settings: Settings, count: int, workdir: Path) -> tuple[float, float]:
    """The ingest step on a plain aiokafka consumer (tests/bench/batch_ingest.py), into output
    topics of its own: its evaluations/s and CPU seconds per 1,000."""
    own = unique_settings(workdir, topic_partitions=settings.topic_partitions)
    outputs = own.model_copy(update={"topic_raw": settings.topic_raw})
    try:
        ensure_topics(outputs)  # no database: the ingest step writes only to Kafka
        result = workdir / "batch-ingest.json"
        argv = [sys.executable, "-m", "tests.bench.batch_ingest", str(count), str(result)]
        log = workdir / "batch-ingest.log"
        measured = timed_process(argv, result, log, timeout=600, env=env_for(outputs))
        if isinstance(measured, str):
            raise SystemExit(f"batch ingest run failed:\n{measured}")
        return measured
    finally:
        cleanup(own)  # not ``outputs``: its cleanup would delete the shared ratings.raw


def peer(settings: Settings, count: int, workdir: Path) -> tuple[float, float] | None:
    """The Quix Streams peer (tests/bench/peer.py): its evaluations/s and CPU seconds per
    1,000 evaluations, or None, with a printed line, when ``make peer`` could not install it."""
    if not PEER_PYTHON.exists():
        console.print(f"(p) peer skipped: no {PEER_PYTHON} (make peer installs Quix Streams)")
        return None
    group = f"{settings.app_id}-peer"
    argv = [str(PEER_PYTHON), "-m", "tests.bench.peer", settings.kafka_bootstrap,
            settings.topic_raw, group, str(count), str(workdir / "peer.json"),
            str(workdir / "peer-state")]  # fmt: skip
    try:
        # its Kafka login travels in the environment (not on a command line), as for the worker
        measured = timed_process(
            argv, workdir / "peer.json", workdir / "peer.log", timeout=900, env=env_for(settings)
        )
    finally:
        _delete_topics_of(settings, group)
    if isinstance(measured, str):
        console.print(f"(p) peer failed:\n{measured}")
        return None
    return measured


def timed_process(
    argv: list[str], result: Path, log: Path, timeout: float, env: dict[str, str] | None = None
) -> tuple[float, float] | str:
    """Run a measured process (the floor, the peer) until it writes ``result`` (events,
    seconds, CPU seconds): its evaluations/s and CPU seconds per 1,000, or the tail of its log
    when it ended or timed out without a result."""
    with open(log, "wb") as output:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        while not result.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                return log.read_text(errors="replace")[-2000:]
            time.sleep(0.2)
        measured = json.loads(result.read_text())
        events = measured["events"]
        return float(events / measured["seconds"]), measured["cpu_seconds"] / events * 1000
    finally:
        process.kill()
        process.wait()


def _delete_topics_of(settings: Settings, group: str) -> None:
    """Quix names its repartition and changelog topics after the consumer group."""
    admin = admin_client(settings)
    try:
        theirs = [topic for topic in admin.list_topics() if group in topic]
        if theirs:
            admin.delete_topics(theirs, raise_errors=False)
    finally:
        admin.close()


def py_spy(service: Service, output: Path, workdir: Path) -> subprocess.Popen[bytes]:
    """Sample ``service`` 100 times a second until stopped (raw stacks, idle included)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--idle",  # waiting in select is part of the picture (issue 14)
            "--format",
            "raw",
            "--rate",
            "100",
            "--output",
            str(output),
            "--pid",
            str(service.process.pid),
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / f"py-spy-{output.stem}.log", "wb"),
    )


def stop_py_spy(*spies: subprocess.Popen[bytes] | None) -> None:
    for spy in spies:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
    for spy in spies:
        if spy is not None:
            spy.wait(timeout=60)


@dataclass
class PipelineRun:
    """What run (b) measured, all from outside the worker (tests/bench/observe.py)."""

    # evaluations/s after the first batch until every agent was done: from the first output
    # record's timestamp to the last time the worker was seen busy (the screening agent reads
    # the facts topic behind the ingest step, and writes nothing for a genuine evaluation)
    rate: float
    # evaluations/s of the ingest step alone, from its output records' timestamps
    ingest_rate: float
    evaluations: int
    written: dict[str, TopicContent]  # per output topic: messages and bytes produced
    worker_cpu_per_1000: float  # CPU seconds of the worker per 1,000 evaluations
    processes_cpu_per_1000: list[float]  # of each of its processes (ingest, follow-up)
    peak_rss_mb: list[float]  # of each of its processes, at the end of the run
    broker_cpu: float  # CPU seconds of the broker over the same stretch
    seconds: float  # that stretch: from the first outputs to the last offset committed
    raw_bytes: int  # bytes (keys and values) of the input evaluations
    flagged: int  # distinct evaluations in ratings.suspect

    @property
    def flagged_share(self) -> float:
        return self.flagged / self.evaluations

    @property
    def messages_per_evaluation(self) -> float:
        return sum(t.messages for t in self.written.values()) / self.evaluations

    @property
    def bytes_per_evaluation(self) -> float:
        return sum(t.bytes for t in self.written.values()) / self.evaluations


# the worker as `make up` runs it (README, "The worker's two halves"), and as one process
TWO_PROCESSES = ("ingest", "follow-up")
ONE_PROCESS = ("all",)


def worker_processes(
    settings: Settings, roles: tuple[str, ...], workdir: Path, run: str
) -> list[Service]:
    return [
        Service(
            settings.model_copy(update={"worker_role": role}),
            "worker",
            workdir / f"{run}-worker-{role}.log",
        )
        for role in roles
    ]


def pipeline_settings(
    settings: Settings, roles: tuple[str, ...], traffic_start: datetime | None
) -> Settings:
    """The worker's settings for a run: its own app id, and the batch wait of ``settings``
    (``throughput`` sets the bench's --batch-within-s, production's 0.5 s unless told; the
    tests' harness cuts it to 0.2 s to be quick, as the floor's take(5000, within=0.5) does
    not)."""
    update: dict[str, Any] = {
        "app_id": f"{settings.app_id}-pipeline{len(roles)}",
        "worker_web_port": 0,
    }
    if traffic_start is not None:
        # spread traffic reaches back hours: every evaluation still counts in its minute
        # windows, as with traffic stamped at sending, rather than being marked late
        age = (datetime.now(UTC) - traffic_start).total_seconds()
        update["allowed_lateness_s"] = max(settings.allowed_lateness_s, int(age) + 3600)
    return settings.model_copy(update=update)


@dataclass
class Observed:
    """What a pipeline run saw from outside, between its first output and the end."""

    watch: Watch
    first_worker_cpu: float
    first_broker_cpu: float
    first_at: float
    first_processes_cpu: list[float]
    processed: int  # outputs written after the first look
    partitions: Any  # of the output topics and ratings.raw, to read them back
    peaks: list[float]


def observe_run(
    settings: Settings,
    worker_settings: Settings,
    processes: list[Service],
    count: int,
    profile: Path | None,
    workdir: Path,
) -> Observed:
    """Wait for the worker's first output, then until its group has committed every offset
    and every process has been idle for 2 s, and the other agents' topics are quiet."""
    app_id = worker_settings.app_id
    raw_reader_group = raw_committer(worker_settings)
    offsets = Offsets(settings)
    results = [settings.topic_valid, settings.topic_rejected]
    worker = processes[0]  # the one that reads ratings.raw

    def alive() -> bool:
        return all(p.alive() for p in processes)

    spies: list[subprocess.Popen[bytes]] = []
    try:
        watch = Watch([p.process.pid for p in processes], broker_pid())
        if not wait_for(lambda: sum(offsets.ends(results).values()) > 0, 300, alive):
            raise SystemExit(f"worker wrote nothing:\n{worker.output()[-2000:]}")
        watch.look()
        firsts = (watch.worker_cpu, watch.broker_cpu, watch.at, list(watch.processes_cpu))
        if profile is not None:  # from the first output to the last commit: processing only
            # pipeline.txt: the process that reads ratings.raw; the others after their logs
            names = ["pipeline", *(p.log_path.stem for p in processes[1:])]
            spies = [
                py_spy(p, profile / f"{n}.txt", workdir)
                for p, n in zip(processes, names, strict=True)
            ]
        out_at_first = sum(offsets.ends(results).values())

        def committed_all() -> bool:
            watch.look()
            return offsets.committed(raw_reader_group, settings.topic_raw) >= count

        # looks at 10 Hz: when the worker was last busy is known to 0.1 s
        if not wait_for(committed_all, 900, alive, poll_s=0.1):
            raise SystemExit(f"pipeline did not finish:\n{worker.output()[-2000:]}")
        # the screening and surge agents finish what ingest gave them
        wait_for(lambda: watch.idle_for(2.0), 120, alive, poll_s=0.1)
        stop_py_spy(*spies)
        spies = []
        processed = sum(offsets.ends(results).values()) - out_at_first
        topics = output_topics(settings, app_id, offsets.admin)
        wait_for(settled(offsets, topics), 60, alive)
        partitions = offsets.partitions([*topics, settings.topic_raw])
        peaks = [peak_rss_mb(p.process.pid) for p in processes]
    finally:
        stop_py_spy(*spies)
        offsets.close()
    return Observed(watch, *firsts, processed=processed, partitions=partitions, peaks=peaks)


def settled(offsets: Offsets, topics: list[str]) -> Callable[[], bool]:
    """A condition true once the ends of ``topics`` did not move between two looks."""
    previous: dict[str, int] = {}

    def quiet() -> bool:
        nonlocal previous
        now = offsets.ends(topics)
        same, previous = now == previous, now
        return same

    return quiet


def pipeline(
    settings: Settings,
    count: int,
    workdir: Path,
    profile: Path | None = None,
    traffic_start: datetime | None = None,
    roles: tuple[str, ...] = TWO_PROCESSES,
) -> PipelineRun:
    """Run the worker over the ``count`` evaluations on ``ratings.raw``, as processes of these
    roles. Nothing asks the worker anything while it runs (no metrics port): it is done when
    its group has committed every offset, which it does only after the batch's outputs were
    acknowledged, and every process has been idle for 2 s."""
    worker_settings = pipeline_settings(settings, roles, traffic_start)
    # the worker's own topics under this run's app id, as `haochaping topics` makes them
    # before `make up` starts it: the ingest half writes some that only the follow-up half reads
    ensure_topics(worker_settings)
    processes = worker_processes(worker_settings, roles, workdir, "pipeline")
    try:
        seen = observe_run(settings, worker_settings, processes, count, profile, workdir)
    finally:
        for process in processes:
            process.stop()
    return pipeline_result(settings, seen)


def pipeline_result(settings: Settings, seen: Observed) -> PipelineRun:
    results = {settings.topic_valid, settings.topic_rejected}
    content = read_topics(settings, seen.partitions, results, {settings.topic_suspect})
    raw = content.pop(settings.topic_raw)
    stamps = [t for topic in results for t in content[topic].timestamps]
    first = min(stamps)
    after_first_batch = sum(1 for t in stamps if t > first + 0.05)
    watch, processed = seen.watch, seen.processed
    return PipelineRun(
        rate=after_first_batch / (watch.busy_until - first),
        ingest_rate=rate_from_timestamps(stamps),
        evaluations=raw.messages,
        written=content,
        worker_cpu_per_1000=(watch.worker_cpu - seen.first_worker_cpu) / processed * 1000,
        processes_cpu_per_1000=[
            (cpu - first) / processed * 1000
            for cpu, first in zip(watch.processes_busy_cpu, seen.first_processes_cpu, strict=True)
        ],
        broker_cpu=watch.broker_cpu - seen.first_broker_cpu,
        peak_rss_mb=seen.peaks,
        seconds=watch.at - seen.first_at,
        raw_bytes=raw.bytes,
        flagged=len(suspects.keys) if (suspects := content.get(settings.topic_suspect)) else 0,
    )


def neighbour() -> subprocess.Popen[bytes]:
    """A process that burns one core, the way CI runs beside Kafka and ClickHouse (issue 31
    sets the latency target with one on the machine)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


class Landings:
    """When each row appeared in ClickHouse ``ratings``: a thread counts them at 10 Hz and
    stamps every new one with the time it was seen (a count() is cheap, but ClickHouse
    shares the cores with what is measured)."""

    def __init__(self, settings: Settings) -> None:
        self.client = connect(settings)
        self.at: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        landed = 0
        while not self._stop.is_set():
            now = time.perf_counter()
            count = self.client.execute("SELECT count() FROM ratings")[0][0]
            self.at.extend([now] * (count - landed))
            landed = max(landed, count)
            time.sleep(0.1)

    def start(self) -> None:
        self._thread.start()

    def wait(self, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.at) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        self._stop.set()
        self._thread.join()


def latency(
    settings: Settings,
    rate: float,
    seconds: float,
    workdir: Path,
    profile: Path | None = None,
    burn: bool = True,
) -> Latency:
    """Send at a fixed rate with the worker and the sink running (and, with ``burn``, a
    neighbour burning a core); the i-th row counted in ClickHouse is matched with the i-th
    evaluation sent (both roughly in order)."""
    workers = worker_processes(settings, TWO_PROCESSES, workdir, "latency")
    sink = Service(settings, "sink", workdir / "latency-sink.log")
    landings = Landings(settings)
    spy = None
    burner = neighbour() if burn else None
    try:
        time.sleep(8)  # both have joined their groups before the clock starts
        if profile is not None:
            spy = py_spy(workers[0], profile / "latency.txt", workdir)
        landings.start()
        sent_at = produce(settings, int(rate * seconds), seed=99, rate=rate)
        landings.wait(len(sent_at), 120)
        if not landings.at:
            logs = f"{workers[0].output()[-2000:]}\n{sink.output()[-2000:]}"
            raise SystemExit(f"nothing landed:\n{logs}")
    finally:
        stop_py_spy(spy)
        if burner is not None:
            burner.kill()
            burner.wait()
        for process in [*workers, sink]:
            process.stop()
    lat = sorted(b - a for a, b in zip(sent_at, landings.at, strict=False))
    worker_lat, written = worker_share(settings, sent_at)
    return Latency(
        p50=statistics.median(lat),
        p99=lat[int(0.99 * (len(lat) - 1))],
        worst=max(lat),
        achieved=len(sent_at) / (sent_at[-1] - sent_at[0]),
        landed=len(landings.at),
        sent=len(sent_at),
        worker_p50=statistics.median(worker_lat),
        worker_p99=worker_lat[int(0.99 * (len(worker_lat) - 1))],
        messages_per_evaluation=written / len(sent_at),
    )


def worker_share(settings: Settings, sent_at: list[float]) -> tuple[list[float], int]:
    """Send → the worker appended it to ratings.valid (the records' CreateTime, wall clock),
    matched in order with the sends as the landings are, sorted; and the messages it wrote."""
    offsets = Offsets(settings)
    try:
        topics = output_topics(settings, settings.app_id, offsets.admin)
        content = read_topics(settings, offsets.partitions(topics), {settings.topic_valid})
    finally:
        offsets.close()
    wall = time.time() - time.perf_counter()
    appended = sorted(content[settings.topic_valid].timestamps)
    delays = sorted(b - (a + wall) for a, b in zip(sent_at, appended, strict=False))
    return delays, sum(c.messages for c in content.values())


@dataclass
class Latency:
    p50: float
    p99: float
    worst: float
    achieved: float  # evaluations/s sent
    landed: int
    sent: int
    worker_p50: float  # send → the worker appended it to ratings.valid
    worker_p99: float
    messages_per_evaluation: float  # written by the worker at this live rate


def memory_rows(args: argparse.Namespace) -> None:
    """The worker's state after a city's traffic: six hours, then spread over the horizon."""
    for days, what in ((0.25, "six hours"), (args.memory_days, f"{args.memory_days:g} days")):
        # its own process, so the peak RSS is the state's and not the benchmark's
        command = [sys.executable, "-m", "tests.bench.memory", str(args.memory_count), "10000"]
        state = json.loads(
            subprocess.run([*command, str(days)], check=True, capture_output=True, text=True).stdout
        )
        late = ", one in ten hours late and one in fifty days late" if days >= 1 else ""
        print(
            f"| worker state after {args.memory_count:,} evaluations over 10,000 service keys "
            f"({what}{late}, in memory, {state['seconds']:.0f} s) | "
            f"{state['window_entries']:,.0f} window entries ({state['minute_entries']:,.0f} "
            f"minutes, {state['day_entries']:,.0f} days over {state['days_kept']} days), "
            f"{state['dedupe_entries']:,.0f} dedupe claims, {state['surge_records']:,.0f} surge "
            f"records; peak RSS {state['max_rss_mb']:,.0f} MB |"
        )


def announce(probes: dict[str, float], name: str, what: str) -> None:
    """Probe the machine's pace (tests/bench/pace.py), then say which row starts."""
    probes[name] = probe()
    console.print(f"({name}) {what} (pace probe {probes[name] * 1000:.0f} ms of CPU)")


def _short(topic: str) -> str:
    # the run's unique prefixes say nothing: "t3f….ratings.valid" → "ratings.valid",
    # "t3f…-pipeline2-surge-changelog" → "<app>-surge-changelog"
    name = topic.split(".", 1)[1] if topic.startswith("t") and "." in topic else topic
    return re.sub(r"^.*-pipeline\d+-", "<app>-", name)


def _load() -> str:
    return ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def _worker_options(parser: argparse.ArgumentParser) -> None:
    """The settings of the measured worker and sink, production's unless told."""
    parser.add_argument(
        "--batch-within-s",
        type=float,
        default=Settings.model_fields["batch_within_s"].default,
        help="the worker's longest wait to fill a batch in runs (b), (b1) and the latency run "
        "(HAOCHAPING_BATCH_WITHIN_S; default: production's)",
    )
    parser.add_argument(
        "--sink-batch-s",
        type=float,
        default=Settings.model_fields["sink_batch_s"].default,
        help="the sink's longest wait before an insert in the latency run "
        "(HAOCHAPING_SINK_BATCH_S; default: production's)",
    )
    parser.add_argument(
        "--ingest-reader",
        choices=("faust", "direct"),
        default=Settings.model_fields["ingest_reader"].default,
        help="how the worker of runs (b), (b1) and the latency run reads ratings.raw "
        "(HAOCHAPING_INGEST_READER; default: production's)",
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000, help="evaluations per throughput run")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--latency-rate", type=float, default=2000.0)
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument(
        "--no-neighbour",
        action="store_true",
        help="run the latency measurement without the process that burns a core beside it "
        "(issue 31's target is set with it; the bench before 2026-12-07 ran without)",
    )
    parser.add_argument(
        "--scrub-seconds", type=float, default=10.0, help="time for the scrubbing fuzz run"
    )
    parser.add_argument(
        "--memory-count",
        type=int,
        default=1_000_000,
        help="evaluations (over 10,000 service keys) for the in-memory state measurement",
    )
    parser.add_argument(
        "--memory-days",
        type=float,
        default=30.0,
        help="days the second in-memory measurement spreads its evaluations over (late ones "
        "among them), so that day windows fill the 30-day horizon",
    )
    parser.add_argument(
        "--only-memory", action="store_true", help="only the in-memory state measurements"
    )
    parser.add_argument(
        "--skip-memory",
        action="store_true",
        help="leave out the in-memory state and scrubbing rows (ten minutes of the run)",
    )
    parser.add_argument(
        "--traffic",
        choices=("spread", "live"),
        default="spread",
        help="event times of the pre-filled evaluations of runs (a)-(c): spread at "
        f"{SPREAD_RATE:g}/s of event time, ending now (default), or live: stamped when sent, "
        "all within seconds (what the bench did before the screening's figures were made "
        "honest; every per-minute limit is then tripped)",
    )
    _worker_options(parser)
    parser.add_argument(
        "--skip-one-process",
        action="store_true",
        help="leave out run (b) with the worker in one process (--role all); (b) itself runs "
        "it as two, as `make up` does",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="also sample the worker of runs (b) and (b1) and of the latency run with py-spy "
        "(raw stacks into DIR/pipeline.txt, DIR/pipeline-worker-follow-up.txt, "
        "DIR/one-process/pipeline.txt and DIR/latency.txt; "
        "python -m tests.bench.profile FILE sums them per stage); it disturbs the runs a little",
    )
    return parser.parse_args()


@dataclass
class Throughput:
    """The throughput rows of one run, all on one pre-filled topic."""

    ceiling: float
    floor: tuple[float, float]  # (a): evaluations/s, CPU s per 1,000
    tuned: tuple[float, float]  # (a'): the same with the worker's collector settings
    peer: tuple[float, float] | None  # (p), None without the peer's virtualenv
    run: PipelineRun  # (b)
    batch: tuple[float, float]  # (d)
    one: PipelineRun | None  # (b1)


def throughput(args: argparse.Namespace, workdir: Path, probes: dict[str, float]) -> Throughput:
    """Rows (c), (a), (a'), (p), (b), (d), (b1) over one topic of ``args.count`` evaluations.
    The peer runs before (b1): its cleanup would delete the shared input topic."""
    settings = unique_settings(workdir, topic_partitions=args.partitions)
    settings = settings.model_copy(
        update={"batch_within_s": args.batch_within_s, "ingest_reader": args.ingest_reader}
    )
    prepare(settings)
    try:
        console.print(f"producing {args.count} evaluations to {settings.topic_raw}")
        traffic_start = spread_start(args.count) if args.traffic == "spread" else None
        produce(settings, args.count, seed=1, start=traffic_start)
        announce(probes, "c", "ceiling: aiokafka consumer + json.loads")
        ceiling_rate = asyncio.run(ceiling(settings, args.count))
        announce(probes, "a", "floor: Faust agent iterating take(5000) batches")
        floor_row = floor(settings, args.count, workdir)
        announce(probes, "a'", "floor with the worker's garbage collector settings")
        tuned_row = floor(settings, args.count, workdir, tuned=True)
        announce(probes, "p", "peer: Quix Streams, pydantic validation and one-minute windows")
        peer_row = peer(settings, args.count, workdir)
        announce(probes, "b", "pipeline: haochaping worker, ingest and follow-up processes")
        run = pipeline(settings, args.count, workdir, args.profile, traffic_start)
        announce(probes, "d", "the ingest step on a plain aiokafka consumer, no Faust")
        batch_row = batch_ingest(settings, args.count, workdir)
        one = None
        if not args.skip_one_process:
            announce(probes, "b1", "pipeline: haochaping worker, one process")
            one_profile = args.profile / "one-process" if args.profile else None
            one = one_process(settings, args.count, workdir, traffic_start, one_profile)
    finally:
        cleanup(settings)
    return Throughput(ceiling_rate, floor_row, tuned_row, peer_row, run, batch_row, one)


def one_process(
    settings: Settings,
    count: int,
    workdir: Path,
    traffic_start: datetime | None,
    profile: Path | None = None,
) -> PipelineRun:
    # the same ratings.raw, into output topics of its own
    outputs = unique_settings(workdir, topic_partitions=settings.topic_partitions)
    outputs = outputs.model_copy(
        update={
            "topic_raw": settings.topic_raw,
            "batch_within_s": settings.batch_within_s,
            "ingest_reader": settings.ingest_reader,
        }
    )
    prepare(outputs)
    try:
        return pipeline(outputs, count, workdir, profile, traffic_start, ONE_PROCESS)
    finally:
        cleanup(outputs)


def latency_row(args: argparse.Namespace, workdir: Path, probes: dict[str, float]) -> Latency:
    settings = unique_settings(workdir, topic_partitions=args.partitions)
    # production's batch waits unless told, not the tests' (harness.py cuts them; before
    # 2026-12-08 this row ran with them)
    settings = settings.model_copy(
        update={
            "ingest_reader": args.ingest_reader,
            "batch_within_s": args.batch_within_s,
            "sink_batch_s": args.sink_batch_s,
        }
    )
    prepare(settings)
    try:
        what = f"latency at {args.latency_rate:.0f}/s for {args.latency_seconds:.0f}s"
        announce(probes, "latency", what)
        return latency(
            settings,
            args.latency_rate,
            args.latency_seconds,
            workdir,
            args.profile,
            burn=not args.no_neighbour,
        )
    finally:
        cleanup(settings)


def main() -> None:
    args = arguments()
    os.environ.setdefault("HAOCHAPING_DEMO_MODE", "true")
    load_at_start = _load()
    if args.only_memory:
        print("| measurement | result |\n| --- | --- |")
        memory_rows(args)
        return
    probes: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="haochaping-bench-") as tmp:
        workdir = Path(tmp)
        rows = throughput(args, workdir, probes)
        lat = latency_row(args, workdir, probes)
    print_header(args)
    print_throughput(rows)
    print_latency(args, lat)
    print_costs(args, rows)
    print(f"| load average (1, 5, 15 min) at the start; at the end | {load_at_start}; {_load()} |")
    print(
        "| the machine's pace before each row: CPU time of a fixed workload (tests/bench/pace.py)"
        f", against the fastest of the run; a row after a slow probe is slowed too | "
        f"{paces(probes)} |"
    )
    if args.skip_memory:
        return
    memory_rows(args)
    slowest, length, what = slowest_input(args.scrub_seconds)
    print(
        f"| scrubbing, slowest of random adversarial inputs ({args.scrub_seconds:.0f} s) | "
        f"{slowest * 1000:.0f} ms for {length:,} characters ({what}) |"
    )


def print_header(args: argparse.Namespace) -> None:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"\n### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {os.cpu_count()} cores, {cpu}")
    print(
        f"command: `make bench` (python -m tests.bench.run --count {args.count} "
        f"--partitions {args.partitions} --latency-rate {args.latency_rate:.0f} "
        f"--latency-seconds {args.latency_seconds:.0f} --traffic {args.traffic}"
        f" --batch-within-s {args.batch_within_s:g} --sink-batch-s {args.sink_batch_s:g}"
        f" --ingest-reader {args.ingest_reader}"
        f"{' --no-neighbour' if args.no_neighbour else ''})\n"
    )
    print("| measurement | result |\n| --- | --- |")


def print_throughput(rows: Throughput) -> None:
    run, one = rows.run, rows.one
    (floor_rate, _), (tuned_rate, tuned_cpu) = rows.floor, rows.tuned
    batch_rate, batch_cpu = rows.batch
    print(f"| (a) Faust floor, take(5000) doing nothing | {floor_rate:,.0f} evaluations/s |")
    print(
        f"| (a') the floor with the worker's garbage collector settings (runtime/collector.py) "
        f"| {tuned_rate:,.0f} evaluations/s, CPU {tuned_cpu:.3f} s per 1,000; (b)/(a') "
        f"{run.rate / tuned_rate:.0%} |"
    )
    print(
        f"| (b) whole pipeline, the worker's two processes (`make up`) | {run.rate:,.0f} "
        f"evaluations/s (every agent done; the ingest step's outputs alone: "
        f"{run.ingest_rate:,.0f}/s) |"
    )
    if one is not None:
        print(
            f"| (b1) whole pipeline, the worker in one process | {one.rate:,.0f} evaluations/s "
            f"(the ingest step's outputs alone: {one.ingest_rate:,.0f}/s); "
            f"{one.rate / floor_rate:.0%} of (a) (target ≥ 75%); "
            f"CPU {one.worker_cpu_per_1000:.3f} s per 1,000 evaluations; "
            f"peak memory {one.peak_rss_mb[0]:,.0f} MB |"
        )
    print(
        f"| (d) the ingest step alone on a plain aiokafka consumer, no Faust "
        f"(tests/bench/batch_ingest.py; what ratings.raw read outside Faust's per-event path "
        f"could give at most) | {batch_rate:,.0f} evaluations/s, CPU {batch_cpu:.3f} s per "
        f"1,000; (d)/(a) {batch_rate / floor_rate:.0%}, (d) against (b)'s ingest half "
        f"{batch_rate / run.ingest_rate:.2f}× |"
    )
    if rows.peer is not None:
        peer_rate, peer_cpu = rows.peer
        ratios = f"(b)/(p) {run.rate / peer_rate:.2f}×" + (
            f", (b1)/(p) {one.rate / peer_rate:.2f}× (target ≥ 1.0×)" if one is not None else ""
        )
        print(
            f"| (p) peer: Quix Streams, one process, pydantic validation and one-minute windows "
            f"per department and service item (tests/bench/peer.py) | {peer_rate:,.0f} "
            f"evaluations/s, CPU {peer_cpu:.3f} s per 1,000; {ratios} |"
        )
    print(f"| (c) ceiling, aiokafka + json.loads | {rows.ceiling:,.0f} evaluations/s |")
    print(f"| (b)/(a) | {run.rate / floor_rate:.0%} (target ≥ 90%) |")


def print_latency(args: argparse.Namespace, lat: Latency) -> None:
    print(
        f"| event → ClickHouse latency at {lat.achieved:,.0f}/s, "
        f"{'without' if args.no_neighbour else 'with'} a neighbour burning a core "
        f"(batch waits: worker {args.batch_within_s:g} s, sink {args.sink_batch_s:g} s) | "
        f"p50 {lat.p50:.2f} s, p99 {lat.p99:.2f} s, max {lat.worst:.2f} s "
        f"({lat.landed}/{lat.sent} landed) (target p99 < 1 s with the neighbour) |"
    )
    print(
        f"| of which event → worker output (ratings.valid written) | p50 {lat.worker_p50:.2f} s, "
        f"p99 {lat.worker_p99:.2f} s; the worker wrote {lat.messages_per_evaluation:.2f} "
        "messages per evaluation at this rate |"
    )


def print_costs(args: argparse.Namespace, rows: Throughput) -> None:
    """Write amplification, flagged share and CPU of run (b)."""
    run = rows.run
    print(
        f"| (b) write amplification | {run.messages_per_evaluation:.2f} messages, "
        f"{run.bytes_per_evaluation:,.0f} bytes per evaluation (input "
        f"{run.raw_bytes / run.evaluations:,.0f} bytes) (target ≤ 1.5 messages) |"
    )
    per_topic = ", ".join(
        f"{_short(topic)} {content.messages / run.evaluations:.3f}"
        for topic, content in sorted(run.written.items(), key=lambda item: -item[1].messages)
        if content.messages
    )
    print(f"| (b) messages per evaluation, per topic | {per_topic} |")
    print(
        f"| (b) evaluations flagged (in ratings.suspect) | {run.flagged:,} of "
        f"{run.evaluations:,}, {run.flagged_share:.2%} (traffic: {args.traffic}) |"
    )
    print(
        f"| (a) CPU | {rows.floor[1]:.3f} s per 1,000 evaluations (Faust's per-event path) |\n"
        f"| (b) CPU | worker {run.worker_cpu_per_1000:.3f} s per 1,000 evaluations (ingest "
        f"{' + follow-up '.join(f'{c:.3f}' for c in run.processes_cpu_per_1000)}, each until "
        f"it went idle); broker {run.broker_cpu:.1f} s over the {run.seconds:.1f} s of the run "
        f"({run.broker_cpu / run.evaluations * 1000:.3f} s per 1,000); worker peak memory "
        f"{' + '.join(f'{mb:,.0f}' for mb in run.peak_rss_mb)} MB |"
    )


if __name__ == "__main__":
    main()
