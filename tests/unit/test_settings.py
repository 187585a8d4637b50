from pathlib import Path

import pytest

from runtime.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"HAOCHAPING_{n.upper()}" not in text]
    assert missing == []


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAOCHAPING_KAFKA_BOOTSTRAP", "k1:9092, k2:9092")
    monkeypatch.setenv("HAOCHAPING_TOPIC_PARTITIONS", "8")
    settings = Settings()
    assert settings.kafka_servers == ["k1:9092", "k2:9092"]
    assert settings.topic_partitions == 8


def test_surge_settings_still_read_their_old_spike_names(monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 30 renamed HAOCHAPING_SPIKE_* to HAOCHAPING_SURGE_*; deployments may set the old
    monkeypatch.setenv("HAOCHAPING_SPIKE_MIN_BAD", "9")
    monkeypatch.setenv("HAOCHAPING_SPIKE_GRACE_S", "40")
    monkeypatch.setenv("HAOCHAPING_SURGE_GRACE_S", "30")
    settings = Settings()
    assert settings.surge_min_bad == 9
    assert settings.surge_grace_s == 30  # the new name wins
    assert Settings(surge_alpha=0.01).surge_alpha == 0.01  # by name in code


def test_a_wrong_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAOCHAPING_WEBHOOK_FORMAT", "telegram")
    with pytest.raises(ValueError, match="webhook_format"):
        Settings()


def test_the_cli_names_a_wrong_setting_in_one_line() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "HAOCHAPING_TOPIC_PARTITIONS": "many"}
    haochaping = str(Path(sys.executable).with_name("haochaping"))
    result = subprocess.run(
        [haochaping, "settings"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: HAOCHAPING_TOPIC_PARTITIONS: Input should be a valid integer, unable to parse "
        "string as an integer"
    ]


def test_min_insync_replicas_may_not_exceed_the_replication_factor() -> None:
    import pytest
    from pydantic import ValidationError

    from runtime.settings import Settings

    with pytest.raises(ValidationError, match="topic_min_insync_replicas"):
        Settings(topic_replication=1, topic_min_insync_replicas=2)
    cluster = Settings(
        topic_replication=3,
        topic_min_insync_replicas=2,
        clickhouse_alt_hosts="127.0.0.1:19001, 127.0.0.1:19002",
        clickhouse_port=19000,
    )
    assert cluster.clickhouse_servers == ["127.0.0.1:19000", "127.0.0.1:19001", "127.0.0.1:19002"]


def test_a_default_rating_comes_after_the_invitation_and_before_the_horizon() -> None:
    import pytest
    from pydantic import ValidationError

    from runtime.settings import Settings

    with pytest.raises(ValidationError, match="less than transaction_horizon_days"):
        Settings(default_rating_after_days=15, transaction_horizon_days=15)
    with pytest.raises(ValidationError, match="must come after invitation_after_hours"):
        Settings(default_rating_after_days=2, invitation_after_hours=72)
    assert Settings(default_rating_after_days=7).follows_unrated
    assert not Settings(invitation_after_hours=0).follows_unrated
