"""The failure tests run on the local cluster of `make cluster-up` (deploy/cluster.sh).

They carry the marker `cluster`. `make test-cluster` starts the cluster and runs them with
HAOCHAPING_CLUSTER_TESTS=required: a cluster that does not answer then fails them. Plain
`make test` runs them when the cluster is up and deselects them (saying so) when it is not:
the single-node CI does not start three brokers and two replicas for every run.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.settings import Settings
from tests.integration.harness import cleanup, unique_settings

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "cluster.sh"


def cluster(*args: str, timeout: float = 300) -> str:
    """Run deploy/cluster.sh; its output, or an AssertionError with it."""
    done = subprocess.run(
        ["bash", str(CLUSTER), *args], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(f"cluster.sh {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def cluster_is_up() -> bool:
    done = subprocess.run(["bash", str(CLUSTER), "status"], capture_output=True, timeout=60)
    return done.returncode == 0


def cluster_env() -> dict[str, str]:
    """The HAOCHAPING_* settings of a client of the local cluster (`cluster.sh env`)."""
    lines = cluster("env").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if item.get_closest_marker("cluster")]
    if not ours or os.environ.get("HAOCHAPING_CLUSTER_TESTS") == "required":
        return
    if cluster_is_up():
        return
    config.hook.pytest_deselected(items=ours)
    items[:] = [item for item in items if item not in ours]
    print(f"\n{len(ours)} cluster test(s) deselected: the cluster is not up (make test-cluster)")


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Unique topics, groups and database, on the cluster: three brokers, replication 3 and
    min.insync.replicas 2, ClickHouse replica 1 with replica 2 to fail over to."""
    env = cluster_env()
    names = {f"HAOCHAPING_{name.upper()}": name for name in Settings.model_fields}
    overrides: dict[str, Any] = {names[key]: value for key, value in env.items()}
    value = unique_settings(tmp_path, **overrides)
    yield value
    cleanup(value)
