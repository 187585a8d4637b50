"""`haochaping suspects`: a wrong option or an unreachable ClickHouse is one readable line and
exit 1, never a traceback (the settings point at a closed port)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from haochaping.cli import cli
from runtime.settings import get_settings


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HAOCHAPING_CLICKHOUSE_PORT", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["suspects", "--by", "floor"], "--by must be one of department, window, staff"),
        (["suspects", "--status", "maybe"], "--status must be pending, confirmed"),
        (["suspects"], "ClickHouse"),
    ],
)
def test_one_readable_line(args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert says in lines[0]
    assert "Traceback" not in result.output


def test_help_names_the_groupings() -> None:
    result = CliRunner().invoke(cli, ["suspects", "--help"])
    assert result.exit_code == 0
    assert "department, window" in result.output
