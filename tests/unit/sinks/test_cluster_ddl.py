"""The cluster form of the single-node migrations (sinks/cluster_ddl.py), without a server.

tests/cluster/ runs the same forms on the two ClickHouse 18.16 replicas of `make cluster-up`.
"""

from __future__ import annotations

import re

import pytest

from sinks.cluster_ddl import (
    cluster_statement,
    distributed_statements,
    qualify_tables,
    replicated_engine,
)
from sinks.migrate import MIGRATIONS_TABLE, load_migrations

C, DB = "hc", "db1"


def test_a_table_goes_on_the_cluster_with_its_replicated_engine_and_macros() -> None:
    out = cluster_statement(
        "CREATE TABLE IF NOT EXISTS ratings\n(\n    a UInt8\n)\n"
        "ENGINE = ReplacingMergeTree(ingested_at)\nORDER BY a",
        C,
        DB,
    )
    assert out.startswith("CREATE TABLE IF NOT EXISTS ratings ON CLUSTER hc\n(")
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db1/ratings', "
        "'{replica}', ingested_at)\nORDER BY a"
    ) in out


@pytest.mark.parametrize(
    ("engine", "replicated"),
    [
        ("MergeTree()", "ReplicatedMergeTree('/clickhouse/tables/{shard}/db1/t', '{replica}')"),
        ("MergeTree", "ReplicatedMergeTree('/clickhouse/tables/{shard}/db1/t', '{replica}')"),
        (
            "AggregatingMergeTree()",
            "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/db1/t', '{replica}')",
        ),
        (
            "SummingMergeTree((a, b))",
            "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db1/t', '{replica}', (a, b))",
        ),
        (
            "ReplacingMergeTree(toUInt64(v))",
            "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db1/t', '{replica}', "
            "toUInt64(v))",
        ),
    ],
)
def test_every_merge_tree_family_gets_its_replicated_form(engine: str, replicated: str) -> None:
    out = replicated_engine(f"CREATE TABLE t (a UInt8) ENGINE = {engine} ORDER BY a", DB)
    assert out == f"CREATE TABLE t (a UInt8) ENGINE = {replicated} ORDER BY a"


def test_a_replicated_engine_is_left_as_it_is() -> None:
    statement = "CREATE TABLE t (a UInt8) ENGINE = ReplicatedMergeTree('/x', 'r') ORDER BY a"
    assert replicated_engine(statement, DB) == statement


def test_a_materialized_views_inner_table_is_replicated_under_its_own_path() -> None:
    out = cluster_statement(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS feed ENGINE = SummingMergeTree() ORDER BY k "
        "AS SELECT k, count() AS c FROM ratings GROUP BY k",
        C,
        DB,
        ["ratings"],
    )
    assert out == (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS feed ON CLUSTER hc ENGINE = "
        "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/db1/.inner.feed', '{replica}') "
        "ORDER BY k AS SELECT k, count() AS c FROM db1.ratings GROUP BY k"
    )


def test_what_a_view_reads_is_qualified_and_nothing_else() -> None:
    out = cluster_statement(
        "CREATE VIEW IF NOT EXISTS v AS SELECT count() AS cases, extract(x FROM y) "
        "FROM ratings FINAL ARRAY JOIN tags AS tag "
        "LEFT JOIN (SELECT 1 FROM system.one) USING (a) JOIN cases USING (b) "
        "WHERE a IN (SELECT a FROM numbers(3))",
        C,
        DB,
        ["ratings", "cases", "tags", "y"],
    )
    assert out == (
        "CREATE VIEW IF NOT EXISTS v ON CLUSTER hc AS SELECT count() AS cases, "
        "extract(x FROM db1.y) FROM db1.ratings FINAL ARRAY JOIN tags AS tag "
        "LEFT JOIN (SELECT 1 FROM system.one) USING (a) JOIN db1.cases USING (b) "
        "WHERE a IN (SELECT a FROM numbers(3))"
    )


def test_a_materialized_views_target_is_qualified() -> None:
    out = cluster_statement(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS f\nTO names\nAS SELECT a FROM ratings",
        C,
        DB,
        ["names", "ratings"],
    )
    assert out == (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS f ON CLUSTER hc\nTO db1.names\n"
        "AS SELECT a FROM db1.ratings"
    )


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "DROP TABLE IF EXISTS late_statistics",
            "DROP TABLE IF EXISTS late_statistics ON CLUSTER hc",
        ),
        (
            "ALTER TABLE ratings ADD COLUMN b UInt8",
            "ALTER TABLE ratings ON CLUSTER hc ADD COLUMN b UInt8",
        ),
        ("CREATE DATABASE IF NOT EXISTS x", "CREATE DATABASE IF NOT EXISTS x ON CLUSTER hc"),
        # inserts replicate by themselves: only on the connected replica
        ("INSERT INTO names SELECT a FROM ratings", "INSERT INTO names SELECT a FROM ratings"),
        (
            "CREATE TABLE t ON CLUSTER other (a UInt8) ENGINE = Log",
            "CREATE TABLE t ON CLUSTER other (a UInt8) ENGINE = Log",
        ),
    ],
)
def test_ddl_goes_on_the_cluster_and_inserts_stay_local(statement: str, expected: str) -> None:
    assert cluster_statement(statement, C, DB, ["ratings", "names"]) == expected


def test_every_migration_has_a_cluster_form_with_no_plain_merge_tree_left() -> None:
    statements = [MIGRATIONS_TABLE.strip()] + [s for m in load_migrations() for s in m.statements()]
    tables: list[str] = []
    for statement in statements:
        out = cluster_statement(statement, C, DB, tables)
        if statement.lstrip().upper().startswith(("CREATE", "DROP", "ALTER")):
            assert " ON CLUSTER hc" in out, statement[:80]
        # every MergeTree engine is replicated, with the macros
        for engine in re.findall(r"ENGINE\s*=\s*(\w+)", out):
            if engine.endswith("MergeTree"):
                assert engine.startswith("Replicated"), out[:200]
        found = re.match(
            r"CREATE\s+(?:MATERIALIZED\s+)?(?:TABLE|VIEW)\s+IF NOT EXISTS\s+(\w+)", statement
        )
        if found:
            tables.append(found[1])


def test_qualifying_leaves_a_statement_without_known_tables_alone() -> None:
    statement = "SELECT a FROM t JOIN u USING a"
    assert qualify_tables(statement, DB, []) == statement


def test_the_read_table_is_distributed_over_its_replicated_table() -> None:
    assert distributed_statements(C, DB, "ratings") == [
        "CREATE TABLE IF NOT EXISTS db1.ratings_all ON CLUSTER hc AS db1.ratings "
        "ENGINE = Distributed(hc, db1, ratings)"
    ]
    assert distributed_statements(C, DB, "ratings", recreate=True)[0] == (
        "DROP TABLE IF EXISTS db1.ratings_all ON CLUSTER hc"
    )
