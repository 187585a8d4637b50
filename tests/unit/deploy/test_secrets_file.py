"""`make up`'s generated evaluator secret (deploy/services.sh: secrets_file): private, and
long enough for the worker to accept it outside demo mode."""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

from runtime.evaluator_secret import evaluator_secret
from runtime.settings import Settings

SERVICES = Path(__file__).resolve().parents[3] / "deploy" / "services.sh"


def generate(state: Path) -> Path:
    # the function alone: running the script would start services
    script = SERVICES.read_text(encoding="utf-8")
    function = re.search(r"^secrets_file\(\) \{\n.*?^\}\n", script, re.M | re.S)
    assert function is not None
    subprocess.run(
        [
            "bash",
            "-euo",
            "pipefail",
            "-c",
            f'say() {{ :; }}\nSTATE="$1"\n{function[0]}secrets_file',
            "bash",
            str(state),
        ],
        check=True,
        timeout=30,
    )
    return state / "secrets.env"


def test_the_generated_secret_is_private_and_accepted_outside_demo_mode(tmp_path: Path) -> None:
    secrets = generate(tmp_path)
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    name, _, value = secrets.read_text(encoding="ascii").strip().partition("=")
    assert name == "HAOCHAPING_EVALUATOR_SECRET"
    assert re.fullmatch(r"[0-9a-f]{64}", value)  # 32 random bytes, hex
    settings = Settings(evaluator_secret=value, demo_mode=False)
    assert evaluator_secret(settings) == value.encode()


def test_an_existing_secret_is_kept(tmp_path: Path) -> None:
    first = generate(tmp_path).read_text(encoding="ascii")
    assert generate(tmp_path).read_text(encoding="ascii") == first
