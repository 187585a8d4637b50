"""Migration 010's views and the `haochaping suspects` queries on the 18.16 server, with the
dataset and checks of tests/unit/sinks/test_screening_views.py (which runs them on chdb)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from clickhouse_driver import Client

from tests.unit.sinks.test_screening_views import CHECKS, Rows, insert_dataset


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_on_clickhouse_18(clickhouse: Client, check: Callable[[Rows], None]) -> None:
    insert_dataset(
        lambda table, columns, rows: clickhouse.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES", rows
        )
    )
    check(lambda sql, params=None: [tuple(r) for r in clickhouse.execute(sql, params)])
