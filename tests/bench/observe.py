"""Watching a worker without disturbing it: Kafka offsets at 2 Hz, record timestamps read
afterwards, and CPU time from /proc.

The pipeline used to be timed by scraping the worker's /metrics every 50 ms, which cost the
worker itself 7.5 % of its samples (prometheus_client's ProcessCollector and its HTTP server,
issue 14). Here nothing asks the worker anything: progress is the group's committed offsets
and the output topics' end offsets, read from the broker twice a second, and the rate comes
from the CreateTime of the records the worker wrote (stamped when the worker appended them),
read back once the run is over.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.structs import TopicPartition as KafkaTopicPartition

from haochaping.topics import admin_client, topic_specs
from runtime.kafka_security import kafka_security
from runtime.settings import Settings

POLL_S = 0.5  # 2 Hz: coarse on purpose, the rate itself comes from record timestamps
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BROKER_PID_FILE = Path(__file__).resolve().parents[2] / ".deploy" / "kafka" / "kafka.pid"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (/proc/<pid>/stat, utime and stime)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # the command name, in parentheses, may hold spaces: count fields after it
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a running process so far, MB (/proc/<pid>/status VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def broker_pid() -> int | None:
    """The broker `deploy/services.sh up` started, if it runs here (else None: not measured)."""
    try:
        pid = int(BROKER_PID_FILE.read_text().strip())
        cpu_seconds(pid)
        return pid
    except (OSError, ValueError):
        return None


def output_topics(settings: Settings, app_id: str, admin: KafkaAdminClient) -> list[str]:
    """Every topic the worker writes: the contract topics but ratings.raw, and its own
    internal ones (changelogs, surge minutes), which all start with its app id."""
    existing = set(admin.list_topics())
    contract = [
        s.name
        for s in topic_specs(settings)
        if s.name != settings.topic_raw and not s.name.startswith(app_id)
    ]
    internal = sorted(t for t in existing if t.startswith(app_id) and "__assignor" not in t)
    return [t for t in contract if t in existing] + internal


class Offsets:
    """End offsets and a group's committed offsets, from the broker (kafka-python)."""

    def __init__(self, settings: Settings) -> None:
        security = kafka_security(settings)
        self.admin = admin_client(settings)
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_servers, group_id=None, **security
        )

    def ends(self, topics: list[str]) -> dict[str, int]:
        partitions = [
            KafkaTopicPartition(topic, p)
            for topic in topics
            for p in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]
        totals = dict.fromkeys(topics, 0)
        for tp, end in self.consumer.end_offsets(partitions).items():
            totals[tp.topic] += end
        return totals

    def partitions(self, topics: list[str]) -> dict[str, list[int]]:
        return {t: sorted(self.consumer.partitions_for_topic(t) or ()) for t in topics}

    def committed(self, group: str, topic: str) -> int:
        offsets = self.admin.list_group_offsets({group: None}).get(group, {})
        return sum(max(meta.offset, 0) for tp, meta in offsets.items() if tp.topic == topic)

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


@dataclass
class TopicContent:
    messages: int = 0
    bytes: int = 0  # keys plus values, as the worker produced them (before compression)
    timestamps: list[float] = field(default_factory=list)
    keys: set[bytes] = field(default_factory=set)  # distinct keys, of the topics asked for


async def _read(
    settings: Settings, topics: dict[str, list[int]], stamped: set[str], keyed: set[str]
) -> dict[str, TopicContent]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        **kafka_security(settings),
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for topic, ps in topics.items() for p in ps]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        content = {topic: TopicContent() for topic in topics}
        left = {tp for tp, end in ends.items() if end > 0}
        while left:
            batches = await consumer.getmany(*left, timeout_ms=2000, max_records=20_000)
            if not batches:
                break  # a compacted or deleted range: what is there has been read
            for tp, records in batches.items():
                into = content[tp.topic]
                for record in records:
                    into.messages += 1
                    into.bytes += len(record.key or b"") + len(record.value or b"")
                    if tp.topic in stamped:
                        into.timestamps.append(record.timestamp / 1000)
                    if tp.topic in keyed:
                        into.keys.add(record.key or b"")
                if records and records[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
        return content
    finally:
        await consumer.stop()


def read_topics(
    settings: Settings,
    topics: dict[str, list[int]],
    stamped: set[str],
    keyed: set[str] | None = None,
) -> dict[str, TopicContent]:
    """Messages and bytes of each topic, the record timestamps of those in ``stamped`` and
    the distinct keys of those in ``keyed``."""
    return asyncio.run(_read(settings, topics, stamped, keyed or set()))


def rate_from_timestamps(timestamps: list[float]) -> float:
    """Records per second after the first batch, over the span from the first batch's
    records to the last record: what (a) and (c) count too. A batch's records are stamped
    within milliseconds of each other, so the first batch is those within 50 ms of the first."""
    stamps = sorted(timestamps)
    first = stamps[0]
    after = [t for t in stamps if t > first + 0.05]
    if not after:
        return float("nan")
    return len(after) / (stamps[-1] - first)


# a worker using more than this share of a core between two looks is working, not idling
# (its timers and heartbeats take about 1 %)
BUSY_SHARE = 0.3


@dataclass
class Watch:
    """CPU seconds of the worker and the broker between two looks, and the last time
    (epoch seconds, as record timestamps) the worker was seen busy."""

    worker_pids: list[int]  # the worker, or its ingest and follow-up processes
    broker_pid: int | None
    worker_cpu: float = 0.0
    broker_cpu: float = 0.0
    at: float = 0.0
    busy_until: float = 0.0

    processes_cpu: list[float] = field(default_factory=list)  # each worker process's
    # each process's CPU seconds at the last look it was busy: a half that is done idles
    # (polls) while the other finishes, and that wait is not its work
    processes_busy_cpu: list[float] = field(default_factory=list)

    def look(self) -> None:
        previous = self.processes_cpu
        self.processes_cpu = [cpu_seconds(pid) for pid in self.worker_pids]
        worker_cpu, at = sum(self.processes_cpu), time.perf_counter()
        if not self.at:
            self.processes_busy_cpu = list(self.processes_cpu)
        else:
            span = BUSY_SHARE * (at - self.at)
            if worker_cpu - self.worker_cpu > span:
                self.busy_until = time.time()
            for i, (now, before) in enumerate(zip(self.processes_cpu, previous, strict=True)):
                if now - before > span:
                    self.processes_busy_cpu[i] = now
        self.worker_cpu, self.at = worker_cpu, at
        self.broker_cpu = cpu_seconds(self.broker_pid) if self.broker_pid else float("nan")

    def idle_for(self, seconds: float) -> bool:
        self.look()
        return time.time() - self.busy_until >= seconds


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    poll_s: float = POLL_S,
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        if condition():
            return True
        time.sleep(poll_s)
    return False
