"""The worker's evaluator secret: a real key outside demo mode
(runtime/evaluator_secret.py), refused in one line by `haochaping worker`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from runtime.evaluator_secret import DEMO_SECRET, MIN_SECRET_BYTES, evaluator_secret
from runtime.settings import Settings, get_settings

KEY = "0123456789abcdef" * 2  # 32 bytes, as short as allowed


def settings(secret: str, *, demo: bool = False) -> Settings:
    return Settings(evaluator_secret=secret, demo_mode=demo)


def refusal(secret: str) -> str:
    with pytest.raises(SystemExit) as refused:
        evaluator_secret(settings(secret))
    message = str(refused.value)
    assert "\n" not in message
    assert "openssl rand -hex 32" in message and "HAOCHAPING_DEMO_MODE=true" in message
    return message


def test_a_32_byte_secret_is_accepted() -> None:
    assert len(KEY.encode()) == MIN_SECRET_BYTES
    assert evaluator_secret(settings(KEY)) == KEY.encode()


def test_a_short_secret_is_refused() -> None:
    assert "is 31 bytes, shorter than the 32" in refusal(KEY[:-1])


def test_bytes_count_not_characters() -> None:
    assert evaluator_secret(settings("好差评" * 11)) == ("好差评" * 11).encode()  # 99 bytes
    assert "is 30 bytes" in refusal("好差评" * 3 + "差")


def test_no_secret_is_refused() -> None:
    assert "HAOCHAPING_EVALUATOR_SECRET is not set" in refusal("")


def test_the_demo_key_is_refused_outside_demo_mode() -> None:
    assert len(DEMO_SECRET) >= MIN_SECRET_BYTES  # refused for being public, not short
    assert "built-in demo key" in refusal(DEMO_SECRET)


def test_demo_mode_accepts_any_key_and_falls_back_to_the_demo_key() -> None:
    assert evaluator_secret(settings("", demo=True)) == DEMO_SECRET.encode()
    assert evaluator_secret(settings(DEMO_SECRET, demo=True)) == DEMO_SECRET.encode()
    assert evaluator_secret(settings("short", demo=True)) == b"short"


@pytest.mark.parametrize(
    ("secret", "says"),
    [("", "is not set"), ("too-short", "is 9 bytes"), (DEMO_SECRET, "is the built-in demo key")],
)
def test_the_worker_refuses_in_one_line(
    secret: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from haochaping.cli import cli

    monkeypatch.setenv("HAOCHAPING_EVALUATOR_SECRET", secret)
    monkeypatch.setenv("HAOCHAPING_DEMO_MODE", "false")
    # unreachable, should the refusal ever not happen: the test must not find a real broker
    monkeypatch.setenv("HAOCHAPING_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("HAOCHAPING_WORKER_WEB_PORT", "0")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["worker"], env={"COLUMNS": "80"})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: HAOCHAPING_EVALUATOR_SECRET {says}")
    assert "openssl rand -hex 32" in line
    assert "Traceback" not in result.output
    if secret:
        assert secret not in line  # a refused key is not printed either
