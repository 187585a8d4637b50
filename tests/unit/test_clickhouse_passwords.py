"""deploy/clickhouse/passwords.sh, the ClickHouse passwords of `deploy/services.sh up`, run
without starting anything (docs/security.md, ClickHouse users)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORDS_SH = ROOT / "deploy" / "clickhouse" / "passwords.sh"
TEMPLATE = ROOT / "deploy" / "clickhouse" / "users.template.xml"
VARIABLES = {
    "default": "CLICKHOUSE_ADMIN_PASSWORD",
    "haochaping_writer": "HAOCHAPING_CLICKHOUSE_PASSWORD",
    "haochaping_analyst": "HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD",
    "haochaping_evaluator": "CLICKHOUSE_EVALUATOR_PASSWORD",
    "haochaping_proxy": "CLICKHOUSE_PROXY_PASSWORD",
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in VARIABLES.values() and k != "HAOCHAPING_DEMO_MODE"
    }
    return env | extra


def passwords(secrets: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`ch_passwords SECRETS`, then the five variables as it exported them."""
    script = f'source "{PASSWORDS_SH}" && ch_passwords "$1" && ' + " && ".join(
        f'echo "{name}=${{{name}}}"' for name in VARIABLES.values()
    )
    return subprocess.run(
        ["bash", "-c", script, "_", str(secrets)],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
    )


def values(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_once_kept_in_the_secrets_file_with_its_other_lines(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("HAOCHAPING_EVALUATOR_SECRET=abc\n")
    secrets.chmod(0o600)
    first = passwords(secrets)
    assert first.returncode == 0, first.stderr
    generated = values(first.stdout)
    assert sorted(generated) == sorted(VARIABLES.values())
    assert all(len(v) >= 24 for v in generated.values())
    assert len(set(generated.values())) == 5
    assert values(secrets.read_text()) == {"HAOCHAPING_EVALUATOR_SECRET": "abc", **generated}
    assert mode(secrets) == 0o600
    # a second `up` keeps them
    second = passwords(secrets)
    assert values(second.stdout) == generated
    assert values(secrets.read_text()) == {"HAOCHAPING_EVALUATOR_SECRET": "abc", **generated}


def test_a_password_from_the_environment_wins_and_is_recorded(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    assert passwords(secrets).returncode == 0
    before = values(secrets.read_text())
    done = passwords(secrets, CLICKHOUSE_EVALUATOR_PASSWORD="rotated-evaluator-42")
    assert done.returncode == 0, done.stderr
    after = values(secrets.read_text())
    assert after["CLICKHOUSE_EVALUATOR_PASSWORD"] == "rotated-evaluator-42"
    assert {k: v for k, v in after.items() if k != "CLICKHOUSE_EVALUATOR_PASSWORD"} == {
        k: v for k, v in before.items() if k != "CLICKHOUSE_EVALUATOR_PASSWORD"
    }


@pytest.mark.parametrize("variable", sorted(VARIABLES.values()))
def test_the_documented_examples_are_refused_in_one_line(tmp_path: Path, variable: str) -> None:
    secrets = tmp_path / "secrets.env"
    done = passwords(secrets, **{variable: "writer-change-me"})
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"refusing {variable}" in done.stderr
    assert "HAOCHAPING_DEMO_MODE" in done.stderr
    assert not secrets.exists()


def test_an_example_from_the_secrets_file_is_refused_too(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("CLICKHOUSE_PROXY_PASSWORD=proxy-change-me\n")
    done = passwords(secrets)
    assert done.returncode == 1
    assert "refusing CLICKHOUSE_PROXY_PASSWORD" in done.stderr


def test_demo_mode_accepts_the_examples(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    done = passwords(
        secrets, HAOCHAPING_DEMO_MODE="true", HAOCHAPING_CLICKHOUSE_PASSWORD="writer-change-me"
    )
    assert done.returncode == 0, done.stderr
    assert values(done.stdout)["HAOCHAPING_CLICKHOUSE_PASSWORD"] == "writer-change-me"


@pytest.mark.parametrize("bad", ["short", "with space in it", "quote'inside-it", "<xml>&stuff!!"])
def test_passwords_unsafe_in_an_env_file_or_xml_are_refused(tmp_path: Path, bad: str) -> None:
    done = passwords(tmp_path / "secrets.env", CLICKHOUSE_ADMIN_PASSWORD=bad)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert bad not in done.stderr


def test_the_generated_users_file_holds_hashes_only(tmp_path: Path) -> None:
    secrets, users, cluster = (tmp_path / n for n in ("secrets.env", "users.xml", "cluster.xml"))
    script = (
        f'source "{PASSWORDS_SH}" && ch_passwords "$1" && ch_users_file "{TEMPLATE}" "$2" '
        '&& ch_cluster_file "$3" 39000'
    )
    done = subprocess.run(
        ["bash", "-c", script, "_", str(secrets), str(users), str(cluster)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    generated = values(secrets.read_text())
    assert mode(users) == 0o600 and mode(cluster) == 0o600
    text = users.read_text()
    assert re.search(r"@[A-Z]+_SHA256@", text) is None
    for password in generated.values():
        assert password not in text
    tree = ET.parse(users).getroot().find("users")
    assert tree is not None
    assert sorted(user.tag for user in tree) == sorted(VARIABLES)  # no `readonly`
    for user, variable in VARIABLES.items():
        node = tree.find(f"{user}/password_sha256_hex")
        assert node is not None and tree.find(f"{user}/password") is None
        assert node.text == hashlib.sha256(generated[variable].encode()).hexdigest()
    # the one clear-text password 18.16 needs: the proxy's, in the 0600 cluster file
    replica = ET.parse(cluster).getroot().find("remote_servers/haochaping_public/shard/replica")
    assert replica is not None
    assert replica.findtext("user") == "haochaping_proxy"
    assert replica.findtext("password") == generated["CLICKHOUSE_PROXY_PASSWORD"]
    assert replica.findtext("port") == "39000"


def test_services_sh_refuses_an_example_before_starting_anything(tmp_path: Path) -> None:
    """The real deploy/services.sh, copied so that its state folder is a temporary one."""
    shutil.copytree(ROOT / "deploy" / "clickhouse", tmp_path / "deploy" / "clickhouse")
    shutil.copy(ROOT / "deploy" / "services.sh", tmp_path / "deploy" / "services.sh")
    shutil.copy(ROOT / "deploy" / "service-users.sh", tmp_path / "deploy" / "service-users.sh")
    done = subprocess.run(
        ["bash", str(tmp_path / "deploy" / "services.sh"), "up"],
        env=clean_env(HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD="analyst-change-me"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "services.sh: refusing HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD: 'analyst-change-me' is a "
        "documented example password (set HAOCHAPING_DEMO_MODE=true for a demo, or unset it, or "
        "remove its line from the secrets file, to have one generated)"
    ]
    assert not (tmp_path / ".deploy" / "clickhouse").exists()
