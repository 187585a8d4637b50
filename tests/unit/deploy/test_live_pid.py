"""deploy/services.sh's live_pid while a service is still on its way through deploy/run-as.sh:
each exec shows an empty /proc/<pid>/cmdline for an instant, and a broker taken for dead at
that instant was stopped by wait_ready mid-start (1 cold `make demo` in 31)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

CHECKS = r"""
. "$ROOT/deploy/services.sh"
misses=0
for start in $(seq 1 25); do
    # alive until killed below: every check is of a live process
    bash "$ROOT/deploy/run-as.sh" nobody "$ROOT" -- bash -c 'sleep 2; :' kafka.Kafka &
    echo $! >"$PIDFILE"
    for check in $(seq 1 15); do
        live_pid "$PIDFILE" kafka.Kafka >/dev/null || misses=$((misses + 1))
    done
    kill -KILL "$(cat "$PIDFILE")"
    wait
done
echo "$misses"
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="run-as.sh needs root to become another user")
def test_a_service_on_its_way_through_run_as_is_never_taken_for_dead(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", CHECKS],
        env={**os.environ, "ROOT": str(ROOT), "PIDFILE": str(tmp_path / "service.pid")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0", f"live_pid missed a live process {done.stdout.strip()} times"
