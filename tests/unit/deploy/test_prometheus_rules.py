"""deploy/prometheus: the config and alerting rules are valid and their promtool unit tests pass."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts_test.yml"
EXPECTED_ALERTS = {
    "HaochapingBadReviewSurge",
    "HaochapingFollowUpStalled",
    "HaochapingSinkClickHouseDown",
    "HaochapingIngestRejectionsHigh",
    "HaochapingWorkerLagging",
    "HaochapingWorkerDown",
    "HaochapingSinkDown",
    "HaochapingWorkerStalled",
    "HaochapingSinkStalled",
    "HaochapingWebhookUndelivered",
    "HaochapingNotifierDown",
    "HaochapingSourceClockAhead",
    "HaochapingHallPadClockBehind",
}


def promtool() -> str:
    found = shutil.which("promtool") or (
        "/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None
    )
    if found is None:
        pytest.fail(
            "promtool is not installed: `make test` installs it "
            "(Debian package `prometheus`: apt-get install -y prometheus)",
            pytrace=False,
        )
    return found


def run_promtool(*args: str) -> str:
    result = subprocess.run(
        [promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def test_check_rules() -> None:
    output = run_promtool("check", "rules", str(RULES.relative_to(ROOT)))
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in output


def test_check_config() -> None:
    run_promtool("check", "config", str((PROMETHEUS / "prometheus.yml").relative_to(ROOT)))


def test_rule_unit_tests_pass() -> None:
    run_promtool("test", "rules", str(RULE_TESTS.relative_to(ROOT)))


def test_every_rule_has_labels_annotations_and_both_kinds_of_test() -> None:
    rules_text = RULES.read_text(encoding="utf-8")
    alerts = re.findall(r"^\s*- alert:\s*(\S+)", rules_text, flags=re.MULTILINE)
    assert set(alerts) == EXPECTED_ALERTS and len(alerts) == len(EXPECTED_ALERTS)
    assert rules_text.count("severity:") == len(alerts)
    for kind in ("summary", "description"):
        texts = re.findall(rf"^\s*{kind}:\s*(.+)$", rules_text, flags=re.MULTILINE)
        assert len(texts) == len(alerts), kind
        for text in texts:  # Chinese and English
            assert re.search(r"[\u4e00-\u9fff]", text) and re.search(r"[A-Za-z]{3}", text), text

    tests_text = RULE_TESTS.read_text(encoding="utf-8")
    # each `alertname:` line is followed by its exp_alerts: `[]` (not firing) or a list (firing)
    checks = re.findall(
        r"alertname:\s*(\S+)\s*\n\s*exp_alerts:\s*(\[\])?", tests_text, flags=re.MULTILINE
    )
    for alert in EXPECTED_ALERTS:
        kinds = {bool(empty) for name, empty in checks if name == alert}
        assert kinds == {True, False}, f"{alert}: needs a firing and a not-firing test"
