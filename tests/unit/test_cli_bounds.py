"""Numbers on the command line are bounded: a value out of range ends in one usage line, never
in an OverflowError traceback. No service is needed: bounds are checked before any connection
(and the settings point at closed ports, should one ever not be)."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator

import pytest
import typer
from typer.models import OptionInfo
from typer.testing import CliRunner

from haochaping.cli import cli, parse_start
from runtime.settings import get_settings


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HAOCHAPING_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("HAOCHAPING_CLICKHOUSE_PORT", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def numeric_options() -> Iterator[tuple[str, str, OptionInfo]]:
    for command in cli.registered_commands:
        assert command.callback is not None
        hints = typing.get_type_hints(command.callback, include_extras=True)
        for name, hint in hints.items():
            if typing.get_origin(hint) is not typing.Annotated:
                continue
            base, *extras = typing.get_args(hint)
            kinds = set(typing.get_args(base)) if isinstance(base, types.UnionType) else {base}
            info = next((e for e in extras if isinstance(e, OptionInfo)), None)
            if info is not None and kinds & {int, float}:
                yield command.callback.__name__, name, info


def test_every_numeric_option_has_bounds() -> None:
    options = list(numeric_options())
    assert len(options) >= 15  # all of them were found
    assert [(c, n) for c, n, info in options if info.min is None or info.max is None] == []


@pytest.mark.parametrize(
    "args",
    [
        ["problems", "--days", "999999999"],
        ["problems", "--days", "0"],
        ["problems", "--top", "99999999999999999999"],
        ["problems", "--sample", "99999999999"],
        ["problems", "--min-bad", str(2**64)],
        ["report", "--days", "3661"],
        ["report", "--limit", "10001"],
        ["report", "--min-total", str(2**64)],
        ["simulate", "--count", "999999999999"],
        ["simulate", "--rate", "1e300"],
        ["simulate", "--rate", "nan"],
        ["simulate", "--event-rate", "inf"],
        ["simulate", "--seed", "-1"],
        ["simulate", "--seed", str(2**70)],
        ["wait", "--timeout", "1e12"],
        ["sink", "--idle-exit", "-1"],
    ],
    ids=" ".join,
)
def test_an_out_of_range_number_is_a_one_line_usage_error(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args, env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    # the runner catches what the command raises: an OverflowError would be kept here
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if "Invalid value" in line]
    assert len(errors) == 1, result.output
    assert f"'{args[1]}'" in errors[0]


def test_a_start_too_far_back_is_a_one_line_error() -> None:
    result = CliRunner().invoke(
        cli, ["simulate", "--count", "1", "--start", "-99999999999h"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        "error: --start '-99999999999h' is further back than the calendar goes"
    ]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "text", ["-9999999999999m", "-999999999h", "-" + "9" * 40 + "h", "-١٢m", "-²h"]
)
def test_parse_start_turns_an_overflow_or_odd_digits_into_fail(text: str) -> None:
    with pytest.raises(typer.Exit):
        parse_start(text)


@pytest.mark.parametrize(
    ("count", "start"),
    [
        ("10", "9999-12-31T23:59:00+00:00"),  # already past it in Shanghai time
        ("100", "9999-12-31T12:00:00+00:00"),  # past it after 100 000 s of event time
    ],
)
def test_event_times_past_the_calendar_are_a_one_line_error(
    count: str, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Producer:  # no broker: the overflow comes while messages are made
        def __init__(self, *_: object, **__: object) -> None:
            pass

        def send_raw(self, *_: object) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr("channels.producer.ChannelProducer", Producer)
    args = ["simulate", "--count", count, "--start", start]
    result = CliRunner().invoke(cli, [*args, "--event-rate", "0.001"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: event times run past the year 9999; choose an earlier --start"]
