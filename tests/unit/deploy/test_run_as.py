"""deploy/run-as.sh: a program started as an unprivileged user reaches a checkout that sits
under a folder of root's alone (a fresh clone under `mktemp -d`), by the same absolute paths,
without seeing anything else in that folder, and keeps the pid its caller recorded."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

RUN_AS = Path(__file__).resolve().parents[3] / "deploy" / "run-as.sh"
USER = "nobody"  # on every Debian system; the services' own users need `make services`

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root can become another user")


def run_as(*args: str) -> subprocess.CompletedProcess[str]:
    # umask 077, as deploy/services.sh and deploy/supervise.sh call it
    return subprocess.run(
        ["bash", "-c", 'umask 077 && exec bash "$@"', "bash", str(RUN_AS), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def hidden_checkout(tmp_path: Path) -> Path:
    """A checkout (0755, a file of the user's) two open folders down a 0700 folder of root's
    (as pyenv's Python is in /root), beside a secret."""
    tmp_path.chmod(0o700)
    checkout = tmp_path / "pyenv" / "versions" / "fresh"
    (checkout / "data").mkdir(parents=True)
    for folder in (
        tmp_path / "pyenv",
        tmp_path / "pyenv" / "versions",
        checkout,
        checkout / "data",
    ):
        folder.chmod(0o755)
    (checkout / "data" / "config").write_text("listen=127.0.0.1\n")
    (checkout / "data" / "config").chmod(0o644)
    (tmp_path / "secret").write_text("root's own\n")
    return checkout


def secret_beside(checkout: Path) -> Path:
    return checkout.parents[2] / "secret"


@needs_root
def test_without_it_the_user_cannot_reach_the_checkout(hidden_checkout: Path) -> None:
    plain = subprocess.run(
        [
            "setpriv",
            f"--reuid={USER}",
            f"--regid={pwd.getpwnam(USER).pw_gid}",
            "--init-groups",
            "--",
            "cat",
            str(hidden_checkout / "data" / "config"),
        ],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert plain.returncode != 0 and "Permission denied" in plain.stderr


@needs_root
def test_the_user_reaches_the_checkout_by_the_same_paths_and_nothing_beside_it(
    hidden_checkout: Path,
) -> None:
    config = hidden_checkout / "data" / "config"
    secret = secret_beside(hidden_checkout)
    script = f'id -un; cat {config}; test -e {secret} && echo "secret seen" || echo "secret hidden"'
    done = run_as(USER, str(hidden_checkout), "--", "bash", "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [USER, "listen=127.0.0.1", "secret hidden"]
    # the namespace is the program's alone: root still sees the folder as it was
    assert secret.read_text() == "root's own\n"


@needs_root
def test_the_program_keeps_the_pid_its_caller_saw(hidden_checkout: Path) -> None:
    started = subprocess.Popen(
        ["bash", str(RUN_AS), USER, str(hidden_checkout), "--", "bash", "-c", "echo $$"],
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = started.communicate(timeout=30)
    assert out.strip() == str(started.pid)


@needs_root
def test_a_checkout_the_user_may_not_enter_is_refused_in_one_line(hidden_checkout: Path) -> None:
    hidden_checkout.chmod(0o700)
    done = run_as(USER, str(hidden_checkout), "--", "true")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"run-as.sh: {USER} cannot enter {hidden_checkout} (its own mode keeps it out)"
    ]


def test_a_wrong_call_is_answered_in_one_line() -> None:
    done = run_as(USER, "/tmp")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "run-as.sh: usage: run-as.sh [--stay-root] USER PATH [PATH ...] -- COMMAND [ARG ...]"
    ]


@needs_root
def test_stay_root_keeps_roots_rights_in_the_same_view(hidden_checkout: Path) -> None:
    """supervisord stays root (it starts each program as its own user) but sees the checkout
    as its programs will."""
    secret = secret_beside(hidden_checkout)
    script = f'id -u; test -e {secret} && echo "secret seen" || echo "secret hidden"'
    done = run_as("--stay-root", USER, str(hidden_checkout), "--", "bash", "-c", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["0", "secret hidden"]
