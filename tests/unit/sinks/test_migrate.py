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
