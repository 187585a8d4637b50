"""Each supervised program gets only the secrets it needs (issue 29, part 3): an outside audit
found all seven with the evaluator secret and the writer's password in their environment.
deploy/supervise.sh writes .deploy/secrets/<program>.env; supervisord.conf hands each program
its own as HAOCHAPING_ENV_FILE, which Settings reads in place of .deploy/secrets.env."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ALL = {
    "HAOCHAPING_EVALUATOR_SECRET": "e" * 64,
    "CLICKHOUSE_ADMIN_PASSWORD": "admin-pw",
    "HAOCHAPING_CLICKHOUSE_PASSWORD": "writer-pw",
    "HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD": "analyst-pw",
    "CLICKHOUSE_EVALUATOR_PASSWORD": "evaluator-pw",
    "CLICKHOUSE_PROXY_PASSWORD": "proxy-pw",
}
NEEDS = {
    "worker": {"HAOCHAPING_EVALUATOR_SECRET"},
    "follow-up": {"HAOCHAPING_EVALUATOR_SECRET"},
    "sink": {"HAOCHAPING_CLICKHOUSE_PASSWORD"},
    "dashboard": {"HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD", "CLICKHOUSE_EVALUATOR_PASSWORD"},
    "notify": set(),
    "notify-cases": set(),
}


def program_secrets(root: Path) -> None:
    (root / "deploy").mkdir()
    shutil.copy(ROOT / "deploy" / "supervise.sh", root / "deploy" / "supervise.sh")
    (root / ".deploy").mkdir()
    (root / ".deploy" / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in ALL.items()))
    env = {k: v for k, v in os.environ.items() if k not in ALL}
    subprocess.run(
        ["bash", "-c", f"source {root}/deploy/supervise.sh && program_secrets"],
        check=True, env=env, timeout=30,
    )  # fmt: skip


def test_each_program_file_holds_only_what_it_needs(tmp_path: Path) -> None:
    program_secrets(tmp_path)
    folder = tmp_path / ".deploy" / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    written = {}
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        lines = path.read_text().splitlines()
        written[path.stem] = {line.split("=", 1)[0] for line in lines}
        assert all(ALL[line.split("=", 1)[0]] == line.split("=", 1)[1] for line in lines)
    assert written == NEEDS


def test_supervisord_hands_each_program_its_own_file() -> None:
    conf = configparser.RawConfigParser()
    conf.read(ROOT / "deploy" / "supervisor" / "supervisord.conf")
    programs = {s.removeprefix("program:") for s in conf.sections() if s.startswith("program:")}
    assert programs == set(NEEDS)
    for program in programs:
        environment = conf.get(f"program:{program}", "environment")
        assert f'HAOCHAPING_ENV_FILE="%(ENV_HCP_SECRETS)s/{program}.env"' in environment


def test_settings_read_the_programs_file_in_place_of_the_shared_one(tmp_path: Path) -> None:
    (tmp_path / ".deploy").mkdir()
    (tmp_path / ".deploy" / "secrets.env").write_text("HAOCHAPING_CLICKHOUSE_PASSWORD=shared\n")
    (tmp_path / "notify.env").write_text("HAOCHAPING_WEBHOOK_SECRET=hook\n")
    probe = (
        "from runtime.settings import Settings; s = Settings(); "
        "print(s.clickhouse_password.get_secret_value() or '-', "
        "s.webhook_secret.get_secret_value() or '-')"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAOCHAPING_")}
    env["PYTHONPATH"] = str(ROOT)

    def read(extra: dict[str, str]) -> str:
        done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env | extra,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert read({}) == "shared -"
    assert read({"HAOCHAPING_ENV_FILE": str(tmp_path / "notify.env")}) == "- hook"
