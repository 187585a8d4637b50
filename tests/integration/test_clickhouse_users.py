"""The ClickHouse users of deploy/clickhouse/users.xml, against the real 18.16 server.

ClickHouse 18.16 has no GRANT: a user is limited by its databases (`allow_databases`), its
profile (readonly=1 forbids INSERT, ALTER, DROP, CREATE, SET and table functions) and its
quota. These tests use the databases the users file lists for them (haochaping_userstest and
haochaping_userstest_public), never the real `haochaping`, and build them like production:
the migrations, then sinks.migrate.apply_public (the evaluator's Distributed tables).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from runtime.settings import Settings
from sinks import migrate
from tests.unit.sinks.test_ddl_on_current_clickhouse import (
    RATINGS,
    insert_dataset,
)

DATABASE = "haochaping_userstest"
PUBLIC = f"{DATABASE}_public"
PASSWORDS = {  # the documented development defaults; production changes them
    "haochaping_writer": "writer-change-me",
    "haochaping_analyst": "analyst-change-me",
    "haochaping_evaluator": "evaluator-change-me",
}
READONLY = 164  # "Cannot execute query in readonly mode"
ACCESS_DENIED = 291  # "Access denied to database ... for user ..."
TOO_MANY_ROWS = 396


def login(settings: Settings, user: str, database: str) -> Client:
    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=user,
        password=PASSWORDS[user],
        database=database,
        connect_timeout=3,
        send_receive_timeout=30,
    )


def admin(settings: Settings) -> Client:
    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        database="default",
    )


def refused(
    code: int, client: Client, query: str, rows: list[tuple[object, ...]] | None = None
) -> str:
    with pytest.raises(ServerException) as caught:
        if rows is None:
            client.execute(query)
        else:
            client.execute(query, rows)
    assert caught.value.code == code, caught.value
    return str(caught.value)


@pytest.fixture(scope="module")
def databases() -> Iterator[Settings]:
    settings = Settings()
    root = admin(settings)
    for name in (PUBLIC, DATABASE):
        root.execute(f"DROP DATABASE IF EXISTS {name}")
    root.execute(f"CREATE DATABASE {DATABASE}")
    client = Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        database=DATABASE,
    )
    migrate.apply(client.execute)
    insert_dataset(lambda t, c, r: client.execute(f"INSERT INTO {t} ({', '.join(c)}) VALUES", r))
    assert migrate.apply_public(client.execute, DATABASE) == PUBLIC
    yield settings
    for name in (PUBLIC, DATABASE):
        root.execute(f"DROP DATABASE IF EXISTS {name}")


def test_analyst_reads_everything_in_haochaping(databases: Settings) -> None:
    analyst = login(databases, "haochaping_analyst", DATABASE)
    assert analyst.execute("SELECT count() FROM ratings FINAL") == [(5,)]
    assert analyst.execute(
        "SELECT total, good, bad FROM satisfaction_daily "
        "WHERE day = '2024-03-01' AND dimension = 'department' AND key = 'D1'"
    ) == [(2, 1, 1)]


def test_analyst_cannot_insert_alter_drop_create_or_set(databases: Settings) -> None:
    analyst = login(databases, "haochaping_analyst", DATABASE)
    refused(READONLY, analyst, "INSERT INTO ratings (evaluation_id) VALUES", [("x",)])
    refused(READONLY, analyst, "ALTER TABLE ratings DELETE WHERE 1")
    refused(READONLY, analyst, "ALTER TABLE ratings ADD COLUMN x UInt8")
    refused(READONLY, analyst, "DROP TABLE ratings")
    refused(READONLY, analyst, "TRUNCATE TABLE rejected")
    refused(READONLY, analyst, "CREATE TABLE t (x UInt8) ENGINE = Memory")
    refused(READONLY, analyst, "SET max_execution_time = 0")
    # table functions could reach the server as another user (remote() as `default`)
    refused(READONLY, analyst, f"SELECT count() FROM remote('127.0.0.1', {DATABASE}.ratings)")
    assert analyst.execute("SELECT count() FROM ratings FINAL") == [(5,)]


def test_analyst_sees_only_its_database(databases: Settings) -> None:
    analyst = login(databases, "haochaping_analyst", DATABASE)
    refused(ACCESS_DENIED, analyst, "SELECT count() FROM default.nothing_here")
    refused(ACCESS_DENIED, analyst, f"SELECT count() FROM {PUBLIC}.satisfaction_daily")


def test_evaluator_reads_the_aggregates_but_not_the_evaluations(databases: Settings) -> None:
    evaluator = login(databases, "haochaping_evaluator", PUBLIC)
    assert evaluator.execute(
        "SELECT sum(total), sum(good), sum(bad) FROM satisfaction_daily "
        "WHERE dimension = 'department'"
    ) == [(len(RATINGS), 3, 2)]
    assert evaluator.execute(
        "SELECT department_code, total, good_rate FROM ranking_departments_daily "
        "WHERE day = '2024-03-01'"
    ) == [("D1", 2, 0.5)]
    assert evaluator.execute(
        "SELECT sum(bad_reviews) FROM bad_reviews_by_tag WHERE tag = '115'"
    ) == [(1,)]
    assert evaluator.execute("SELECT count() FROM review_tags") == [(40,)]
    # the evaluation-level rows: denied, directly and through every door 18.16 has
    refused(ACCESS_DENIED, evaluator, f"SELECT * FROM {DATABASE}.ratings")
    refused(ACCESS_DENIED, evaluator, f"SELECT * FROM {DATABASE}.rejected")
    refused(ACCESS_DENIED, evaluator, f"SELECT * FROM {DATABASE}.satisfaction_daily")
    refused(READONLY, evaluator, f"SELECT * FROM remote('127.0.0.1', {DATABASE}.ratings)")
    refused(
        READONLY,
        evaluator,
        "SELECT * FROM url('http://127.0.0.1:8123/?query=SELECT+1', TSV, 'x UInt8')",
    )
    assert {name for (name,) in evaluator.execute("SHOW TABLES")} == set(migrate.PUBLIC_VIEWS)
    with pytest.raises(ServerException):
        evaluator.execute("SELECT * FROM ratings")


def test_evaluator_cannot_write_and_has_limits(databases: Settings) -> None:
    evaluator = login(databases, "haochaping_evaluator", PUBLIC)
    refused(READONLY, evaluator, "DROP TABLE satisfaction_daily")
    refused(READONLY, evaluator, "CREATE TABLE t (x UInt8) ENGINE = Memory")
    # profile haochaping_evaluator: at most 100 000 result rows per query
    refused(TOO_MANY_ROWS, evaluator, "SELECT number FROM system.numbers LIMIT 200000")


def test_writer_inserts_into_the_pipeline_tables(databases: Settings) -> None:
    writer = login(databases, "haochaping_writer", DATABASE)
    before = writer.execute("SELECT count() FROM rejected FINAL")[0][0]
    writer.execute(
        "INSERT INTO rejected (reason, message, source_topic, source_partition, source_offset) "
        "VALUES",
        [("not_json", "from the writer test", "ratings.raw", 9, 99)],
    )
    assert writer.execute("SELECT count() FROM rejected FINAL")[0][0] == before + 1
    refused(ACCESS_DENIED, writer, "SELECT count() FROM default.anything")


def test_writer_limits_that_18_16_cannot_enforce(databases: Settings) -> None:
    """Documents the gap (docs/analyst-guide.md): without GRANT, a user that may insert may
    also read and change the schema of its databases. A current ClickHouse closes it with
    `GRANT INSERT ON haochaping.ratings ...` only."""
    writer = login(databases, "haochaping_writer", DATABASE)
    version = writer.execute("SELECT version()")[0][0]
    if not version.startswith("18."):
        pytest.skip(f"ClickHouse {version} has GRANT")
    assert writer.execute("SELECT count() FROM ratings FINAL") == [(5,)]
