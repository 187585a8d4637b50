"""Stand-ins for ClickHouse in the dashboard's unit tests."""

from __future__ import annotations

from typing import Any


def no_rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """A query function whose every query finds nothing."""
    return []
