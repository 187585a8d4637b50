"""The analyst views and queries on the real ClickHouse 18.16 server, with the known dataset of
tests/unit/sinks/test_ddl_on_current_clickhouse.py (which runs them on a current ClickHouse):
the same numbers on both engines, and a replayed batch changes none of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clickhouse_driver import Client

from tests.unit.sinks.test_ddl_on_current_clickhouse import (
    VIEWS,
    analyst_queries,
    check_coverage,
    check_halls,
    check_public,
    check_queries,
    check_rolling_hour,
    check_views,
    insert_coverage,
    insert_dataset,
    insert_halls,
    insert_public,
    insert_rolling,
    plain,
)


def _rows(client: Client) -> Any:
    def rows(sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return list(client.execute(sql, params))

    return rows


def _insert(client: Client) -> Any:
    def insert(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        client.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", rows)

    return insert


def _snapshot(client: Client) -> dict[str, list[Any]]:
    """Everything every view and query shows, order-independent."""
    rows = _rows(client)
    views = {view: sorted(map(str, plain(rows(f"SELECT * FROM {view}")))) for view in VIEWS}
    results = check_queries(rows)
    return {**views, **{name: sorted(map(str, value)) for name, value in results.items()}}


def test_views_and_queries_give_the_known_numbers_on_18_16(clickhouse: Client) -> None:
    assert clickhouse.execute("SELECT version()")[0][0].startswith("18.")
    insert_dataset(_insert(clickhouse))
    check_views(_rows(clickhouse))
    assert set(check_queries(_rows(clickhouse))) == set(analyst_queries())


def test_inserting_the_same_batch_twice_changes_no_number(clickhouse: Client) -> None:
    insert_dataset(_insert(clickhouse), replay=False)
    before = _snapshot(clickhouse)
    # the whole batch again (a sink restarted before committing its offsets), then the replays
    insert_dataset(_insert(clickhouse), replay=True)
    after = _snapshot(clickhouse)
    assert after == before
    # and still after the parts are merged (FINAL before, deduplicated parts after)
    for table in ("ratings", "rejected", "alerts", "satisfaction_partials"):
        clickhouse.execute(f"OPTIMIZE TABLE {table} FINAL")
    assert _snapshot(clickhouse) == before
    assert clickhouse.execute("SELECT count() FROM ratings")[0][0] == 5


def test_rolling_hour_gives_the_known_sums_on_18_16(clickhouse: Client) -> None:
    insert_rolling(_insert(clickhouse))
    check_rolling_hour(_rows(clickhouse))
    types = dict(
        clickhouse.execute(
            "SELECT name, type FROM system.columns "
            "WHERE database = currentDatabase() AND table = 'satisfaction_rolling_hour'"
        )
    )
    assert types["window_start"] == types["window_end"] == "DateTime('Asia/Shanghai')"


def test_rolling_hour_ignores_partials_inserted_twice_on_18_16(clickhouse: Client) -> None:
    insert_rolling(_insert(clickhouse))
    before = check_rolling_hour(_rows(clickhouse))
    insert_rolling(_insert(clickhouse))
    assert check_rolling_hour(_rows(clickhouse)) == before
    clickhouse.execute("OPTIMIZE TABLE satisfaction_partials FINAL")
    assert check_rolling_hour(_rows(clickhouse)) == before


def test_halls_are_ranked_per_day_on_18_16(clickhouse: Client) -> None:
    insert_halls(_insert(clickhouse))
    check_halls(_rows(clickhouse))


def test_public_cells_are_ended_days_that_differencing_cannot_split_on_18_16(
    clickhouse: Client,
) -> None:
    insert_public(_insert(clickhouse))
    check_public(_rows(clickhouse))


def test_evaluation_rates_count_each_transaction_once_on_18_16(clickhouse: Client) -> None:
    insert_coverage(_insert(clickhouse))
    check_coverage(_rows(clickhouse))
    # a replayed batch, then merged parts: the same rates
    insert_coverage(_insert(clickhouse))
    check_coverage(_rows(clickhouse))
    clickhouse.execute("OPTIMIZE TABLE transactions FINAL")
    check_coverage(_rows(clickhouse))
