"""Real services for integration tests: unique topics, consumer groups and a ClickHouse
database per test, and the worker and sink run as the separate processes they are."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from clickhouse_driver import Client
from kafka import KafkaConsumer
from pydantic import SecretStr

from channels.producer import ChannelProducer
from haochaping.topics import admin_client, ensure_topics, topic_specs
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from runtime.watchdog import STALLED
from sinks import migrate
from sinks.clickhouse import connect

HAOCHAPING = str(Path(sys.executable).with_name("haochaping"))
SECRETS = Path(__file__).resolve().parents[2] / ".deploy" / "secrets.env"


def secret(name: str) -> str:
    """A password `deploy/services.sh up` generated: from the environment, else from
    .deploy/secrets.env (docs/security.md, ClickHouse users)."""
    if os.environ.get(name):
        return os.environ[name]
    if SECRETS.is_file():
        for line in SECRETS.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == name:
                return value.strip()
    raise AssertionError(f"no {name} in the environment or in {SECRETS}: run `make services`")


def admin_login() -> dict[str, str]:
    """ClickHouse 18.16 names a user's databases one by one (no patterns), so the per-test
    databases hcp_test_* are open to the administrator `default` only: the tests' worker,
    sink and reports log in as it. tests/integration/test_clickhouse_users.py tests the
    project's users themselves, on the databases their users file names for the tests."""
    password = secret("CLICKHOUSE_ADMIN_PASSWORD")
    return {
        "clickhouse_user": "default",
        "clickhouse_password": password,
        "clickhouse_analyst_user": "default",
        "clickhouse_analyst_password": password,
    }


def unique_settings(tmp_path: Path, **overrides: Any) -> Settings:
    tag = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "topic_raw": f"t{tag}.ratings.raw",
        "topic_valid": f"t{tag}.ratings.valid",
        "topic_rejected": f"t{tag}.ratings.rejected",
        "topic_windows": f"t{tag}.satisfaction.windows",
        "topic_alerts": f"t{tag}.alerts.spikes",
        "topic_cases": f"t{tag}.cases.events",
        "topic_case_actions": f"t{tag}.cases.actions",
        "topic_case_warnings": f"t{tag}.alerts.cases",
        "topic_suspect": f"t{tag}.ratings.suspect",
        "topic_transactions": f"t{tag}.transactions.done",
        "topic_transactions_valid": f"t{tag}.transactions.valid",
        "topic_invitations": f"t{tag}.invitations",
        "topic_default_ratings": f"t{tag}.ratings.default",
        "topic_partitions": 2,
        "app_id": f"hcp-test-{tag}",
        "sink_group": f"hcp-test-sink-{tag}",
        "notify_group": f"hcp-test-notify-{tag}",
        "notify_metrics_port": 0,
        "notify_cases_metrics_port": 0,
        "clickhouse_database": f"hcp_test_{tag}",
        "worker_data_dir": str(tmp_path / "faust"),
        "worker_web_port": 0,
        "sink_metrics_port": 0,
        "demo_mode": True,
        "batch_within_s": 0.2,
        "sink_batch_s": 0.3,
        # a stalled client is restarted sooner than in production (seen: a fresh Faust
        # worker that never fetched, about one CI run in six); every wait allows for it
        "worker_stall_s": 30.0,
        "sink_stall_s": 30.0,
        "notify_stall_s": 30.0,
        **admin_login(),
    }
    values.update(overrides)
    return Settings(**values)


def env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAOCHAPING_")}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        # str() of a SecretStr is its mask; the child process needs the value itself
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, list | dict):
            value = json.dumps(value)  # pydantic-settings reads a complex value as JSON
        env[f"HAOCHAPING_{name.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Service:
    """`haochaping worker`, `sink` or `notify` as a child process, output in a log file.

    Like supervisord in production it restarts a child that exits because it stalled
    (runtime.watchdog.STALLED), within a second, from a watcher thread: a test waiting in a
    browser or on ClickHouse polls nobody, and a supervisor that acts only when asked left a
    stalled worker dead for the rest of a two-minute wait (CI, 6521c63). Any other exit is a
    death the test reports, unless the caller plays supervisord's ``autorestart=true``
    (``restart_any_exit``), which restarts any exit but 0. ``exits`` records every restart,
    so a test can tell a recovery from a clean run."""

    def __init__(
        self,
        settings: Settings,
        command: str,
        log_path: Path,
        *args: str,
        max_restarts: int = 3,
        restart_any_exit: bool = False,
    ) -> None:
        self.log_path = log_path
        self._settings, self._command, self._args = settings, command, args
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.restarts = 0
        self.exits: list[int] = []  # exit statuses of the processes restarted
        self._max_restarts = max_restarts
        self._restart_any_exit = restart_any_exit
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.process = self._start()
        self._watcher = threading.Thread(target=self._watch, name=f"watch-{command}", daemon=True)
        self._watcher.start()

    def _start(self) -> subprocess.Popen[bytes]:
        settings, command, args = self._settings, self._command, self._args
        return subprocess.Popen(
            # the worker logs at info in tests: a failure's log tail then shows where it was
            [HAOCHAPING, command, *(("--loglevel", "info") if command == "worker" else ()), *args],
            env=env_for(settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            self.alive()

    def alive(self) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return self.process.poll() is None
            status = self.process.poll()
            restartable = status == STALLED or (self._restart_any_exit and status not in (None, 0))
            if restartable and self.restarts < self._max_restarts:
                assert status is not None
                self.exits.append(status)
                self.restarts += 1
                self._log.write(f"--- harness: exit {status}, restart {self.restarts}\n".encode())
                self._log.flush()
                self.process = self._start()
            return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        self._end(signal.SIGKILL, timeout=30)

    def stop(self, timeout: float = 30) -> None:
        self._end(signal.SIGTERM, timeout=timeout)

    def _end(self, signum: int, timeout: float) -> None:
        self.alive()  # a stalled exit just now is restarted and counted, as before
        with self._lock:
            self._stopping.set()
        self._watcher.join(timeout=5)
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._log.close()


def prepare(settings: Settings) -> Client:
    ensure_topics(settings)
    connect(settings, database="default").execute(
        migrate.create_database(settings.clickhouse_database, settings.clickhouse_cluster)
    )
    client = connect(settings)
    migrate.apply(client.execute, cluster=settings.clickhouse_cluster)
    return client


def cleanup(settings: Settings) -> None:
    """Drop the test's database and topics. What a loaded machine cannot drop in time is left
    behind with a warning: it is unique to the test and harms no other (seen: a DROP
    DATABASE that took over a minute on 18.16 while the machine ran at load 13)."""
    try:
        client = connect(settings, database="default")
        client.connection.send_receive_timeout = 300
        client.execute(
            migrate.drop_database(settings.clickhouse_database, settings.clickhouse_cluster)
        )
    except Exception as exc:
        warnings.warn(f"left database {settings.clickhouse_database} behind: {exc}", stacklevel=2)
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        # a set: the worker's own topics are in topic_specs and start with the app id, and
        # the broker deletes none of a name a request repeats (they were all left behind: a
        # checkout's broker grew to 1,465 topics and took 17 s instead of 5 to start)
        ours = {s.name for s in topic_specs(settings) if s.name in existing}
        ours |= {t for t in existing if t.startswith(settings.app_id)}
        if ours:
            admin.delete_topics(sorted(ours), raise_errors=False)
    finally:
        admin.close()


def send(
    settings: Settings, messages: Iterable[tuple[bytes | None, bytes]], topic: str | None = None
) -> int:
    """Messages to ``topic`` (None: ratings.raw), as a channel sends them."""
    producer = ChannelProducer(
        settings.kafka_servers, topic or settings.topic_raw, **kafka_security(settings)
    )
    count = 0
    for key, value in messages:
        producer.send_raw(key, value)
        count += 1
    producer.close()
    return count


def wait_until(
    what: str,
    predicate: Callable[[], bool],
    timeout: float = 120,
    every: float = 0.5,
    services: Iterable[Service] = (),
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for service in services:
            if not service.alive():
                raise AssertionError(f"{service.log_path.stem} died:\n{service.output()[-3000:]}")
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{tails(services)}")


def tails(services: Iterable[Service]) -> str:
    """The last lines of each service's log, for a failure's message: more of them when a
    stall's evidence (streams/worker/diagnosis.py) is in the log, and the restarts seen."""
    parts = []
    for service in services:
        output = service.output()
        limit = 20_000 if "stalled:" in output else 2500
        parts.append(
            f"\n--- {service.log_path.name} (last lines; restarts after exits {service.exits})"
            f"\n{output[-limit:]}"
        )
    return "".join(parts)


def scalar(client: Client, query: str, params: Any = None) -> Any:
    return client.execute(query, params)[0][0]


def send_timed(
    settings: Settings,
    messages: Iterable[tuple[float, bytes | None, bytes]],
    *,
    live_from: float,
    pace: float,
    partition_of: Callable[[float], int | None] = lambda at: None,
) -> int:
    """Messages ``(record time, key, value)`` in record-time order, each with its record
    timestamp: those before ``live_from`` at once, the rest as they would come live but
    ``pace`` times faster. ``partition_of(record time)`` pins a partition (None: the key's)."""
    producer = ChannelProducer(
        settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
    )
    started = None
    count = 0
    for at, key, value in sorted(messages, key=lambda m: m[0]):
        if at >= live_from:
            if started is None:
                producer.flush()
                started = time.monotonic()
            time.sleep(max(0.0, started + (at - live_from) / pace - time.monotonic()))
        producer.send_raw(key, value, timestamp_ms=int(at * 1000), partition=partition_of(at))
        count += 1
    producer.close()
    return count


def read_topic(settings: Settings, topic: str, quiet_s: float = 3.0) -> list[Any]:
    """Every record of ``topic`` from the beginning, read until none came for ``quiet_s``."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        **kafka_security(settings),
    )
    records: list[Any] = []
    try:
        while True:
            batch = consumer.poll(timeout_ms=int(quiet_s * 1000))
            if not batch:
                return records
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        consumer.close()
