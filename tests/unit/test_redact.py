"""Secrets and the credentials in URLs never show: runtime/redact.py and the settings."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from runtime.redact import mask_url, shown_setting
from runtime.settings import Settings

TOKEN = "c0ffee0123456789c0ffee0123456789"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}",
            "https://oapi.dingtalk.com/robot/send?***",
        ),
        (
            f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={TOKEN}",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?***",
        ),
        (
            f"https://alice:{TOKEN}@hooks.example:8443/alerts",
            "https://***@hooks.example:8443/alerts",
        ),
        (f"http://hooks.example/a?t={TOKEN}#{TOKEN}", "http://hooks.example/a?***#***"),
        ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),  # nothing to hide
        ("http://127.0.0.1:8080/hook?", "http://127.0.0.1:8080/hook"),
        ("", ""),
        (f"alice:{TOKEN}@hooks.example/a", "***"),  # no "//": no part is safe to show
        (f"http://[::1/{TOKEN}", "***"),  # not parseable at all
    ],
)
def test_a_url_is_shown_without_its_credentials(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert TOKEN not in mask_url(url)


def test_a_secret_is_shown_by_its_length_only() -> None:
    assert shown_setting("evaluator_secret", SecretStr(TOKEN)) == "(set, 32 chars)"
    assert shown_setting("clickhouse_password", SecretStr("")) == "(empty)"
    assert shown_setting("webhook_url", f"https://h/x?access_token={TOKEN}") == "https://h/x?***"
    assert shown_setting("topic_partitions", 4) == "4"


def test_every_secret_setting_is_a_secret_str() -> None:
    words = ("secret", "password", "token", "key")
    named = [n for n in Settings.model_fields if any(w in n for w in words)]
    assert set(named) == {
        "kafka_sasl_password",
        "evaluator_secret",
        "webhook_secret",
        "clickhouse_password",
        "clickhouse_analyst_password",
        "clickhouse_public_password",
        "dashboard_session_secret",
    }
    assert [n for n in named if Settings.model_fields[n].annotation is not SecretStr] == []


def test_settings_never_print_a_secret() -> None:
    settings = Settings(
        evaluator_secret=TOKEN, webhook_secret=TOKEN, clickhouse_password=TOKEN, demo_mode=False
    )
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert settings.evaluator_secret.get_secret_value() == TOKEN


def test_the_settings_command_masks_secrets_and_the_webhook_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from haochaping.cli import cli
    from runtime.settings import get_settings

    monkeypatch.setenv("HAOCHAPING_EVALUATOR_SECRET", TOKEN)
    monkeypatch.setenv("HAOCHAPING_CLICKHOUSE_PASSWORD", TOKEN)
    monkeypatch.setenv("HAOCHAPING_WEBHOOK_SECRET", TOKEN)
    monkeypatch.setenv(
        "HAOCHAPING_WEBHOOK_URL", f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"
    )
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["settings"], env={"COLUMNS": "250"})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    assert "https://oapi.dingtalk.com/robot/send?***" in result.output
    assert result.output.count("(set, 32 chars)") == 3
