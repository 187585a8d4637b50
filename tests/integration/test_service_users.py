"""Kafka and ClickHouse run as users of their own (issue 29, part 3): the audit asked for the
services to run unprivileged where the machine allows. Run as root (CI, `make up` on a
server), `deploy/services.sh up` starts the broker as haochaping-kafka and the database server
as haochaping-clickhouse, each owning only its folder of .deploy; run as anyone else, both run
as that user (there is no one else it could become)."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHECKOUT = Path(__file__).resolve().parents[2]
DEPLOY = CHECKOUT / ".deploy"
RUN_AS = CHECKOUT / "deploy" / "run-as.sh"
SERVICES = {
    "kafka": ("haochaping-kafka", DEPLOY / "kafka" / "kafka.pid"),
    "clickhouse": ("haochaping-clickhouse", DEPLOY / "clickhouse" / "clickhouse.pid"),
}
AS_ROOT = os.geteuid() == 0


def process_user(pid_file: Path) -> str:
    pid = pid_file.read_text().strip()
    return pwd.getpwuid(Path(f"/proc/{pid}").stat().st_uid).pw_name


def can_read(user: str, path: Path) -> bool:
    """Whether `user` can list or read `path`, reaching the checkout as the services do
    (deploy/run-as.sh: a fresh clone sits under a folder of root's alone)."""
    command = ["ls", str(path)] if path.is_dir() else ["head", "-c", "1", str(path)]
    done = subprocess.run(
        ["bash", str(RUN_AS), user, str(CHECKOUT), "--", *command],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert "run-as.sh:" not in done.stderr, done.stderr
    return done.returncode == 0


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_runs_as_its_own_user(service: str) -> None:
    user, pid_file = SERVICES[service]
    assert pid_file.is_file(), "run `make services` first (make test does)"
    expected = user if AS_ROOT else pwd.getpwuid(os.geteuid()).pw_name
    assert process_user(pid_file) == expected
    if AS_ROOT:
        folder = pid_file.parent
        assert pwd.getpwuid(folder.stat().st_uid).pw_name == user


@pytest.mark.skipif(not AS_ROOT, reason="as another user than root, both services are that user")
def test_no_service_reads_the_others_files_or_the_checkouts_secrets() -> None:
    kafka_user, _ = SERVICES["kafka"]
    clickhouse_user, _ = SERVICES["clickhouse"]
    assert can_read(kafka_user, DEPLOY / "kafka" / "server.properties")
    assert can_read(clickhouse_user, DEPLOY / "clickhouse" / "users.xml")
    refused = {
        kafka_user: [
            DEPLOY / "clickhouse",
            DEPLOY / "secrets.env",
            DEPLOY / "kafka" / "sasl.env",
            DEPLOY,
        ],
        clickhouse_user: [DEPLOY / "kafka", DEPLOY / "secrets.env", DEPLOY / "secrets", DEPLOY],
        "nobody": [DEPLOY / "kafka", DEPLOY / "clickhouse", DEPLOY / "secrets.env"],
    }
    let_in = [
        f"{user} reads {path}"
        for user, paths in refused.items()
        for path in paths
        if can_read(user, path)
    ]
    assert let_in == []


SUPERVISE = CHECKOUT / "deploy" / "supervise.sh"
SUPERVISORD_PID = DEPLOY / "supervisor" / "supervisord.pid"
PROGRAM_USERS = {
    "worker": "haochaping-worker",
    "follow-up": "haochaping-worker",
    "sink": "haochaping-sink",
    "notify": "haochaping-notify",
    "notify-cases": "haochaping-notify",
    "dashboard": "haochaping-dashboard",
}


def supervise(command: str) -> subprocess.CompletedProcess[str]:
    # as `make up` runs it: none of this test process's Kafka or ClickHouse settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAOCHAPING_", "CLICKHOUSE_"))}
    return subprocess.run(
        ["bash", str(SUPERVISE), command], env=env, capture_output=True, text=True, timeout=180
    )


def program_pids() -> dict[str, int]:
    """The programs supervisord reports RUNNING, with their pids."""
    status = supervise("status").stdout
    found = re.findall(r"^(\S+)\s+RUNNING\s+pid (\d+)", status, re.M)
    return {name: int(pid) for name, pid in found}


def supervisor_logs() -> str:
    return supervise("logs").stdout[-6000:]


@pytest.fixture
def supervised() -> Iterator[None]:
    """supervisord with its programs, as `make up` starts it (reused if `make demo` left it)."""
    already = (
        SUPERVISORD_PID.is_file() and Path(f"/proc/{SUPERVISORD_PID.read_text().strip()}").exists()
    )
    if not already:
        for step in ("topics", "migrate"):  # `make up`'s, before supervise.sh up
            done = subprocess.run(
                [str(Path(sys.executable).parent / "haochaping"), step],
                cwd=CHECKOUT, capture_output=True, text=True, timeout=180,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
        started = supervise("up")
        assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield
    finally:
        if not already:
            supervise("down")


def test_each_supervised_program_runs_as_the_user_of_its_secrets(supervised: None) -> None:
    deadline = time.monotonic() + 90
    pids = program_pids()
    while set(pids) != set(PROGRAM_USERS) and time.monotonic() < deadline:
        time.sleep(1)
        pids = program_pids()
    assert set(pids) == set(PROGRAM_USERS), supervisor_logs()
    me = pwd.getpwuid(os.geteuid()).pw_name
    users = {
        name: pwd.getpwuid(Path(f"/proc/{pid}").stat().st_uid).pw_name for name, pid in pids.items()
    }
    assert users == {name: user if AS_ROOT else me for name, user in PROGRAM_USERS.items()}
    # the worker's temporary files are in a folder of its own, not the shared /tmp: it writes
    # jieba's dictionary cache there when it starts
    cache = CHECKOUT / ".data" / "tmp" / "jieba.cache"
    while not cache.is_file() and time.monotonic() < deadline:
        time.sleep(1)
    assert cache.is_file(), supervisor_logs()
    assert pwd.getpwuid(cache.stat().st_uid).pw_name == users["worker"]
