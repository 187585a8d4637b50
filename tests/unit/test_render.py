"""Data in a table is text, never markup or terminal control."""

from __future__ import annotations

from rich.console import Console

from haochaping.render import cell, table


def printed(*cells: str) -> str:
    console = Console(record=True, width=200, force_terminal=True)
    console.print(table("t", ("a", "b"), [cells]))
    return console.export_text()


def test_markup_in_data_is_shown_as_written_and_cannot_crash_the_command() -> None:
    text = printed("民政局[/]", "[link=https://evil.example]点我[/link]")
    assert "民政局[/]" in text
    assert "[link=https://evil.example]点我[/link]" in text


def test_control_sequences_never_reach_the_terminal() -> None:
    hostile = "\x1b]8;;https://evil.example\x07点我\x1b]8;;\x07\x1b[2J"
    assert "\x1b" not in cell(hostile) and "\x07" not in cell(hostile)
    assert "点我" in cell(hostile)
    assert "\u202e" not in cell("abc\u202edef")  # no right-to-left override either


def test_an_empty_table_says_so() -> None:
    console = Console(record=True, width=200)
    console.print(table("t", ("#", "what", "n"), [], empty="nothing [yet]"))
    assert "nothing [yet]" in console.export_text()
