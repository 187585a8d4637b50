"""Versioned, idempotent ClickHouse DDL.

Migrations are the files ``sinks/migrations/NNN_name.sql``, applied in order; each applied
version is recorded in ``schema_migrations`` and never applied again. Statements are plain
ClickHouse SQL separated by ``;`` at the end of a line, written to run unchanged on Debian's
ClickHouse 18.16 and on a current ClickHouse.

With a cluster name (``clickhouse_cluster``) the same files run in their cluster form
(sinks/cluster_ddl.py): ``ON CLUSTER``, replicated engines, and a ``<table>_all``
Distributed read table over each replicated table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

from sinks import cluster_ddl

MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    applied_at DateTime
)
ENGINE = MergeTree()
ORDER BY version
"""

_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        without_comments = "\n".join(
            line for line in self.sql.splitlines() if not line.lstrip().startswith("--")
        )
        return [s.strip() for s in _STATEMENT_END.split(without_comments) if s.strip()]


def load_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("sinks").joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


Execute = Callable[..., Any]


def pending(execute: Execute, cluster: str = "") -> Iterator[Migration]:
    run_statement(execute, MIGRATIONS_TABLE.strip(), cluster)
    applied = {row[0] for row in execute("SELECT version FROM schema_migrations")}
    for migration in load_migrations():
        if migration.version not in applied:
            yield migration


def _tables(execute: Execute) -> list[str]:
    query = "SELECT name FROM system.tables WHERE database = currentDatabase()"
    return [row[0] for row in execute(query)]


def _database(execute: Execute) -> str:
    return str(execute("SELECT currentDatabase()")[0][0])


def _run(execute: Execute, statement: str, cluster: str) -> None:
    if cluster:
        statement = cluster_ddl.cluster_statement(
            statement, cluster, _database(execute), _tables(execute)
        )
    execute(statement)


# Debian's ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS (a current one has); so that the
# migration files stay the same for both, the runner checks system.columns itself.
_ADD_COLUMN = re.compile(
    r"^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+(\w+)\s+(.*)$",
    re.IGNORECASE | re.DOTALL,
)


def run_statement(execute: Execute, statement: str, cluster: str = "") -> None:
    """Execute one migration statement, an ``ADD COLUMN IF NOT EXISTS`` as 18.16 can; in its
    cluster form when ``cluster`` names one."""
    match = _ADD_COLUMN.match(statement)
    if match is None:
        _run(execute, statement, cluster)
        return
    table, column, rest = match.groups()
    found = execute(
        "SELECT count() FROM system.columns "
        "WHERE database = currentDatabase() AND table = %(table)s AND name = %(column)s",
        {"table": table, "column": column},
    )
    if not found[0][0]:
        _run(execute, f"ALTER TABLE {table} ADD COLUMN {column} {rest}", cluster)


def apply(
    execute: Execute,
    on_applied: Callable[[Migration], None] | None = None,
    cluster: str = "",
) -> int:
    """Apply what is pending; returns how many migrations ran. With ``cluster``, in the
    cluster form, then (re)create the Distributed read tables."""
    count = 0
    for migration in list(pending(execute, cluster)):
        for statement in migration.statements():
            run_statement(execute, statement, cluster)
        execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES",
            [(migration.version, migration.name, datetime.now(UTC))],
        )
        count += 1
        if on_applied:
            on_applied(migration)
    if cluster:
        apply_distributed(execute, cluster)
    return count


def apply_distributed(execute: Execute, cluster: str) -> list[str]:
    """Create each replicated table's ``<table>_all`` read table, or create it again when its
    columns differ from the table's (a migration added one); returns those (re)created."""
    database = _database(execute)
    columns: dict[str, list[str]] = {}
    for table, column in execute(
        "SELECT table, name FROM system.columns WHERE database = currentDatabase() "
        "ORDER BY table, position"
        if _has_position(execute)
        else "SELECT table, name FROM system.columns WHERE database = currentDatabase()"
    ):
        columns.setdefault(table, []).append(column)
    replicated = [
        row[0]
        for row in execute(
            "SELECT name FROM system.tables WHERE database = currentDatabase() "
            "AND engine LIKE 'Replicated%' AND name NOT LIKE '.inner.%'"
        )
    ]
    made = []
    for table in replicated:
        read_table = f"{table}{cluster_ddl.DISTRIBUTED_SUFFIX}"
        if read_table in columns and columns[read_table] == columns.get(table):
            continue
        for statement in cluster_ddl.distributed_statements(
            cluster, database, table, recreate=read_table in columns
        ):
            execute(statement)
        made.append(read_table)
    return made


def _has_position(execute: Execute) -> bool:
    # 18.16's system.columns has no `position` (a current ClickHouse has); both keep order
    return bool(
        execute(
            "SELECT count() FROM system.columns WHERE database = 'system' "
            "AND table = 'columns' AND name = 'position'"
        )[0][0]
    )


def partitions_to_drop(partitions: list[str], retention_days: int, today: date) -> list[str]:
    """Monthly partitions (``YYYYMM``) wholly older than the retention horizon.

    Debian's ClickHouse 18.16 has no TTL, so retention drops whole months instead.
    """
    horizon = date.fromordinal(today.toordinal() - retention_days)
    keep_from = horizon.year * 100 + horizon.month
    return sorted(p for p in set(partitions) if p.isdigit() and int(p) < keep_from)


# The third-party evaluator's database (ClickHouse 18.16). 18.16 has no GRANT, only
# per-user `allow_databases`, and it checks a view's inner tables against the *querying*
# user's databases: a view in another database over haochaping does not hide haochaping.
# So `<database>_public` holds Distributed tables over the aggregate views of `<database>`,
# read through the loopback cluster `haochaping_public` (deploy/services.sh writes it), which
# connects as haochaping_proxy. The evaluator (allowed only `<database>_public`, with
# prefer_localhost_replica=0) reads the aggregates and never the evaluation-level rows.
# Not a versioned migration: it needs that cluster in the server's config, and a current
# ClickHouse grants SELECT on the views instead (docs/analyst-guide.md).
PUBLIC_CLUSTER = "haochaping_public"
# Ended Shanghai days per service item and department, cells of fewer than 10 evaluations
# suppressed inside the view, and what differencing would reveal too (migration 014).
PUBLIC_VIEWS = ("public_satisfaction_daily",)
# What `<database>_public` held before issue 29: minute and hall cells, names as the channels
# sent them, no minimum group size. Dropped by every apply_public.
RETIRED_PUBLIC_VIEWS = (
    "satisfaction",
    "satisfaction_daily",
    "satisfaction_monthly",
    "satisfaction_rolling_hour",
    "ranking_departments_daily",
    "ranking_services_daily",
    "bad_reviews_by_tag",
    "review_tags",
    "satisfaction_partials",
    "satisfaction_partials_by_window",
)


def public_statements(
    database: str, cluster: str = PUBLIC_CLUSTER, on_cluster: str = ""
) -> list[str]:
    """Idempotent DDL of ``<database>_public`` (apply after the migrations); with
    ``on_cluster``, on every replica (each one's ``haochaping_public`` is itself)."""
    public = f"{database}_public"
    where = f" ON CLUSTER {on_cluster}" if on_cluster else ""
    return (
        [f"CREATE DATABASE IF NOT EXISTS {public}{where}"]
        + [f"DROP TABLE IF EXISTS {public}.{name}{where}" for name in RETIRED_PUBLIC_VIEWS]
        + [
            f"CREATE TABLE IF NOT EXISTS {public}.{name}{where} AS {database}.{name} "
            f"ENGINE = Distributed({cluster}, {database}, {name})"
            for name in PUBLIC_VIEWS
        ]
    )


def apply_public(
    execute: Execute, database: str, cluster: str = PUBLIC_CLUSTER, on_cluster: str = ""
) -> str:
    """Create or complete ``<database>_public``; returns its name."""
    for statement in public_statements(database, cluster, on_cluster):
        execute(statement)
    return f"{database}_public"


def create_database(database: str, cluster: str = "") -> str:
    """The DDL of the project's database: on every replica when ``cluster`` names one."""
    return f"CREATE DATABASE IF NOT EXISTS {database}" + (
        f" ON CLUSTER {cluster}" if cluster else ""
    )


def drop_database(database: str, cluster: str = "") -> str:
    return f"DROP DATABASE IF EXISTS {database}" + (f" ON CLUSTER {cluster}" if cluster else "")
