"""Tables for the terminal, with every data cell made inert.

Data in ClickHouse comes from channels and departments' systems: a department name with `[/]`
would be read as rich markup (and crash the command), an ESC or OSC sequence would reach the
terminal, `[link=…]` would become a link. Cells are escaped for rich and stripped of control
characters; only the column titles and table titles, which this program writes, are markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from rich.markup import escape
from rich.table import Table

_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def cell(value: Any) -> str:
    """A value as inert text: no markup, no control characters."""
    return escape(_CONTROL.sub("", str(value)))


def table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str = ""
) -> Table:
    """A table of data rows; ``empty`` is said in the first data column when there are none."""
    out = Table(*columns, title=title)
    for row in rows:
        out.add_row(*(cell(value) for value in row))
    if not out.rows and empty:
        out.add_row("-", cell(empty), *[""] * (len(columns) - 2))
    return out
