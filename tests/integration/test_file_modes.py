"""What the services write is their owner's alone (issue 29, part 3): Kafka's segments and
logs hold raw evaluations (comments with phone numbers, raw evaluator ids), ClickHouse's data
every evaluation, .deploy/secrets.env the generated passwords. An outside audit found Kafka's
log files world-readable. `deploy/services.sh` (and deploy/supervise.sh) run with umask 077
and take back what an earlier run left open; this walks the running services' .deploy.
Run as root, the services are users of their own (test_service_users.py): then .deploy (and
.deploy/secrets) may be passed, not listed, by their group, haochaping-services."""

from __future__ import annotations

import grp
import os
import stat
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / ".deploy"
# ClickHouse writes its status file (pid, start time, revision: no data) with a mode of its
# own; it sits in a 0700 folder, so nobody else reaches it either.
OWN_MODE = {DEPLOY / "clickhouse" / "data" / "status"}
OTHERS = stat.S_IRWXG | stat.S_IRWXO
SERVICES_GROUP = "haochaping-services"


def open_bits(path: Path, info: os.stat_result) -> int:
    """The mode bits that let someone other than the owner in, but the services' group's
    right to pass a folder (.deploy, .deploy/secrets) on the way to their own."""
    bits = info.st_mode & OTHERS
    passable = stat.S_ISDIR(info.st_mode) and bits == stat.S_IXGRP
    if passable and _group_name(info.st_gid) == SERVICES_GROUP:
        return 0
    return bits


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def test_nothing_under_deploy_is_open_to_other_users() -> None:
    assert (DEPLOY / "kafka" / "data").is_dir(), "run `make services` first (make test does)"
    open_to_others = []
    # os.walk, not Path.rglob: Kafka deletes other tests' topic folders while this walks
    found = [DEPLOY]
    for folder, dirs, files in os.walk(DEPLOY, onerror=lambda _error: None):
        found += [Path(folder, name) for name in (*dirs, *files)]
    for path in found:
        try:
            info = path.lstat()
        except FileNotFoundError:  # a segment Kafka deleted meanwhile
            continue
        if stat.S_ISLNK(info.st_mode) or path in OWN_MODE:
            continue
        if open_bits(path, info):
            open_to_others.append(f"{stat.filemode(info.st_mode)} {path.relative_to(DEPLOY)}")
    assert open_to_others == [], "\n".join(open_to_others[:40])
