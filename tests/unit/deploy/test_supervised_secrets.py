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
    # the checkout's own Kafka login, the administrator's (deploy/services.sh writes it): for
    # the operator's commands and the tests, never for a supervised program
    "HAOCHAPING_KAFKA_BOOTSTRAP": "127.0.0.1:9094",
    "HAOCHAPING_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "HAOCHAPING_KAFKA_SASL_USERNAME": "haochaping-admin",
    "HAOCHAPING_KAFKA_SASL_PASSWORD": "admin-kafka-pw",
}
NEEDS = {
    "worker": {"HAOCHAPING_EVALUATOR_SECRET"},
    "follow-up": {"HAOCHAPING_EVALUATOR_SECRET"},
    "sink": {"HAOCHAPING_CLICKHOUSE_PASSWORD"},
    "dashboard": {"HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD", "CLICKHOUSE_EVALUATOR_PASSWORD"},
    "notify": set(),
    "notify-cases": set(),
}
# each program's Kafka user: its own, whose ACLs allow only its job (haochaping/kafka_auth.py)
KAFKA_USERS = {
    "worker": "worker",
    "follow-up": "worker",
    "sink": "sink",
    "dashboard": "department",
    "notify": "notify",
    "notify-cases": "notify",
}
SASL_ENV = {
    "KAFKA_SASL_BOOTSTRAP": "127.0.0.1:9094",
    "KAFKA_PLAINTEXT_BOOTSTRAP": "127.0.0.1:9092",
    **{f"KAFKA_SASL_{u.upper()}_PASSWORD": f"{u}-kafka-pw" for u in set(KAFKA_USERS.values())},
    "KAFKA_SASL_ADMIN_PASSWORD": "admin-kafka-pw",
    "KAFKA_SASL_CHANNEL_PASSWORD": "channel-kafka-pw",
}
KAFKA_LOGIN = {
    "HAOCHAPING_KAFKA_BOOTSTRAP",
    "HAOCHAPING_KAFKA_SECURITY_PROTOCOL",
    "HAOCHAPING_KAFKA_SASL_USERNAME",
    "HAOCHAPING_KAFKA_SASL_PASSWORD",
}


def program_secrets(
    root: Path, sasl: bool = True, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    (root / "deploy" / "clickhouse").mkdir(parents=True)
    # supervise.sh and what it sources
    for script in ("supervise.sh", "service-users.sh", "clickhouse/passwords.sh"):
        shutil.copy(ROOT / "deploy" / script, root / "deploy" / script)
    (root / ".deploy" / "kafka").mkdir(parents=True)
    (root / ".deploy" / "secrets.env").write_text("".join(f"{k}={v}\n" for k, v in ALL.items()))
    if sasl:
        (root / ".deploy" / "kafka" / "sasl.env").write_text(
            "".join(f"{k}={v}\n" for k, v in SASL_ENV.items())
        )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ALL and not k.startswith("HAOCHAPING_KAFKA_") and k != "KAFKA_ANONYMOUS"
    }
    return subprocess.run(
        ["bash", "-c", f"source {root}/deploy/supervise.sh && program_secrets"],
        env=env | (extra or {}), timeout=30, capture_output=True, text=True,
    )  # fmt: skip


def written(root: Path) -> dict[str, dict[str, str]]:
    folder = root / ".deploy" / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    out = {}
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        out[path.stem] = dict(line.split("=", 1) for line in path.read_text().splitlines())
    return out


def test_each_program_file_holds_only_what_it_needs(tmp_path: Path) -> None:
    assert program_secrets(tmp_path).returncode == 0
    files = written(tmp_path)
    assert {program: set(values) - KAFKA_LOGIN for program, values in files.items()} == NEEDS
    for program, values in files.items():
        assert all(ALL[k] == v for k, v in values.items() if k not in KAFKA_LOGIN)
        # and its own Kafka user on the SASL listener, with that user's password only
        user = KAFKA_USERS[program]
        assert {k: v for k, v in values.items() if k in KAFKA_LOGIN} == {
            "HAOCHAPING_KAFKA_BOOTSTRAP": "127.0.0.1:9094",
            "HAOCHAPING_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "HAOCHAPING_KAFKA_SASL_USERNAME": user,
            "HAOCHAPING_KAFKA_SASL_PASSWORD": f"{user}-kafka-pw",
        }, program


def test_without_a_kafka_login_the_programs_are_refused_unless_anonymous_is_asked_for(
    tmp_path: Path,
) -> None:
    refused = program_secrets(tmp_path / "a", sasl=False)
    assert refused.returncode != 0
    assert "no Kafka login for user worker" in refused.stderr
    assert "KAFKA_ANONYMOUS=1" in refused.stderr
    anonymous = program_secrets(tmp_path / "b", sasl=True, extra={"KAFKA_ANONYMOUS": "1"})
    assert anonymous.returncode == 0, anonymous.stderr
    assert {p: set(v) for p, v in written(tmp_path / "b").items()} == NEEDS
    # Kafka settings the operator put in the environment are theirs: no login is added
    told = program_secrets(
        tmp_path / "c", extra={"HAOCHAPING_KAFKA_BOOTSTRAP": "127.0.0.1:9092"}
    )
    assert told.returncode == 0 and {p: set(v) for p, v in written(tmp_path / "c").items()} == NEEDS


def test_supervisord_hands_each_program_its_own_file() -> None:
    conf = configparser.RawConfigParser()
    conf.read(ROOT / "deploy" / "supervisor" / "supervisord.conf")
    programs = {s.removeprefix("program:") for s in conf.sections() if s.startswith("program:")}
    assert programs == set(NEEDS)
    for program in programs:
        environment = conf.get(f"program:{program}", "environment")
        assert f'HAOCHAPING_ENV_FILE="%(ENV_HCP_SECRETS)s/{program}.env"' in environment
        # as the user of its own secrets (deploy/supervise.sh: PROGRAM_USER)
        user = "HCP_USER_" + program.replace("-", "_").upper()
        assert conf.get(f"program:{program}", "user") == f"%(ENV_{user})s"


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
