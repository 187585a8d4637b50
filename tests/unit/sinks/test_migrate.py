from datetime import date

from sinks.migrate import load_migrations, partitions_to_drop


def test_migrations_are_numbered_in_order_and_split_into_statements() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    statements = migrations[0].statements()
    assert any(s.startswith("CREATE TABLE IF NOT EXISTS ratings") for s in statements)
    assert not any(s.endswith(";") for s in statements)


def test_retention_drops_only_whole_months_past_the_horizon() -> None:
    drop = partitions_to_drop(["202401", "202402", "202403", "tuple()"], 30, date(2024, 3, 15))
    assert drop == ["202401"]


def test_add_column_if_not_exists_is_checked_in_system_columns_for_18_16() -> None:
    from typing import Any

    from sinks.migrate import run_statement

    executed: list[str] = []

    def execute(sql: str, params: Any = None) -> list[tuple[int]]:
        executed.append(sql)
        return [(existing,)] if sql.startswith("SELECT count() FROM system.columns") else []

    statement = "ALTER TABLE ratings ADD COLUMN IF NOT EXISTS beyond_horizon UInt8 DEFAULT 0"
    existing = 0
    run_statement(execute, statement)
    assert executed[-1] == "ALTER TABLE ratings ADD COLUMN beyond_horizon UInt8 DEFAULT 0"
    executed.clear()
    existing = 1
    run_statement(execute, statement)
    assert len(executed) == 1  # only the check: the column is there
    run_statement(execute, "CREATE VIEW IF NOT EXISTS v AS SELECT 1")
    assert executed[-1] == "CREATE VIEW IF NOT EXISTS v AS SELECT 1"
