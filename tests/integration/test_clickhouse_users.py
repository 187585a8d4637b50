"""The ClickHouse users of deploy/clickhouse/users.template.xml, against the real 18.16 server
that `deploy/services.sh up` started with the passwords it generated (.deploy/secrets.env).

ClickHouse 18.16 has no GRANT: a user is limited by its password, its databases
(`allow_databases`), its profile (readonly=1 forbids INSERT, ALTER, DROP, CREATE, SET and table
functions) and its quota. These tests use the databases the users file lists for them
(haochaping_userstest and haochaping_userstest_public), never the real `haochaping`, and build
them like production: `haochaping migrate` as the writer (the migrations, then the evaluator's
Distributed tables), the rows inserted as the writer.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from runtime.settings import Settings
from sinks import migrate
from tests.integration.harness import HAOCHAPING, secret
from tests.unit.sinks.test_ddl_on_current_clickhouse import (
    insert_dataset,
    insert_public,
)

DATABASE = "haochaping_userstest"
PUBLIC = f"{DATABASE}_public"
PASSWORDS = {  # where `deploy/services.sh up` keeps each user's generated password
    "default": "CLICKHOUSE_ADMIN_PASSWORD",
    "haochaping_writer": "HAOCHAPING_CLICKHOUSE_PASSWORD",
    "haochaping_analyst": "HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD",
    "haochaping_evaluator": "CLICKHOUSE_EVALUATOR_PASSWORD",
}
READONLY = 164  # "Cannot execute query in readonly mode"
UNKNOWN_USER = 192
WRONG_PASSWORD = 193
PASSWORD_REQUIRED = 194
ACCESS_DENIED = 291  # "Access denied to database ... for user ..."
TOO_MANY_ROWS = 396
POCO_EXCEPTION = 1000  # "Connection refused", among others


def login(settings: Settings, user: str, database: str, password: str | None = None) -> Client:
    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=user,
        password=secret(PASSWORDS[user]) if password is None else password,
        database=database,
        connect_timeout=3,
        send_receive_timeout=30,
    )


def admin(settings: Settings) -> Client:
    return login(settings, "default", "default")


def run_cli(
    settings: Settings, user: str, *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`haochaping ARGS` on the tests' database, with ``user``'s login only: as the writer
    (HAOCHAPING_CLICKHOUSE_USER/PASSWORD) or as the analyst (..._ANALYST_USER/PASSWORD), the
    other login empty. ``cwd`` is not the checkout, whose .deploy/secrets.env would fill it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAOCHAPING_")}
    analyst = user == "haochaping_analyst"
    env |= {
        "HAOCHAPING_CLICKHOUSE_HOST": settings.clickhouse_host,
        "HAOCHAPING_CLICKHOUSE_PORT": str(settings.clickhouse_port),
        "HAOCHAPING_CLICKHOUSE_DATABASE": DATABASE,
        "HAOCHAPING_CLICKHOUSE_USER": "" if analyst else user,
        "HAOCHAPING_CLICKHOUSE_PASSWORD": "" if analyst else secret(PASSWORDS[user]),
        "HAOCHAPING_CLICKHOUSE_ANALYST_USER": user if analyst else "",
        "HAOCHAPING_CLICKHOUSE_ANALYST_PASSWORD": secret(PASSWORDS[user]) if analyst else "",
    }
    return subprocess.run(
        [HAOCHAPING, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
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
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings()
    root = admin(settings)
    for name in (PUBLIC, DATABASE):
        root.execute(f"DROP DATABASE IF EXISTS {name}")
    # the writer creates its database, applies the migrations and the evaluator's tables
    migrated = run_cli(settings, "haochaping_writer", "migrate", cwd=tmp_path_factory.mktemp("m"))
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert f"database {PUBLIC}: aggregate views" in migrated.stdout, migrated.stdout
    writer = login(settings, "haochaping_writer", DATABASE)
    insert_dataset(lambda t, c, r: writer.execute(f"INSERT INTO {t} ({', '.join(c)}) VALUES", r))
    insert_public(lambda t, c, r: writer.execute(f"INSERT INTO {t} ({', '.join(c)}) VALUES", r))
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
    refused(ACCESS_DENIED, analyst, f"SELECT count() FROM {PUBLIC}.public_satisfaction_daily")


def test_evaluator_reads_the_aggregates_but_not_the_evaluations(databases: Settings) -> None:
    evaluator = login(databases, "haochaping_evaluator", PUBLIC)
    # by name: ClickHouse 18.16 reads ORDER BY 1 as a constant and returns any order
    query = (
        "SELECT day, dimension, key, total, bad FROM public_satisfaction_daily "
        "ORDER BY day, dimension, key"
    )
    published = evaluator.execute(query)
    analyst = login(databases, "haochaping_analyst", DATABASE)
    assert published and published == analyst.execute(query)
    assert min(total for *_, total, _ in published) >= 10  # no small cell, whoever asks
    # the evaluation-level rows: denied, directly and through every door 18.16 has
    refused(ACCESS_DENIED, evaluator, f"SELECT * FROM {DATABASE}.ratings")
    refused(ACCESS_DENIED, evaluator, f"SELECT * FROM {DATABASE}.rejected")
    refused(ACCESS_DENIED, evaluator, f"SELECT * FROM {DATABASE}.satisfaction_daily")
    refused(ACCESS_DENIED, evaluator, f"SELECT * FROM {DATABASE}.public_day_cells")
    refused(READONLY, evaluator, f"SELECT * FROM remote('127.0.0.1', {DATABASE}.ratings)")
    refused(
        READONLY,
        evaluator,
        "SELECT * FROM url('http://127.0.0.1:8123/?query=SELECT+1', TSV, 'x UInt8')",
    )
    # no minute, hall or name table: one view of ended days
    assert {name for (name,) in evaluator.execute("SHOW TABLES")} == set(migrate.PUBLIC_VIEWS)
    with pytest.raises(ServerException):
        evaluator.execute("SELECT * FROM ratings")


def test_evaluator_cannot_write_and_has_limits(databases: Settings) -> None:
    evaluator = login(databases, "haochaping_evaluator", PUBLIC)
    refused(READONLY, evaluator, "DROP TABLE public_satisfaction_daily")
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


def test_no_login_without_its_password(databases: Settings) -> None:
    """`default` is the administrator now: it has a generated password like every user."""
    with pytest.raises(ServerException) as caught:
        login(databases, "default", "default", password="").execute("SELECT 1")
    assert caught.value.code == PASSWORD_REQUIRED, caught.value
    for user in PASSWORDS:
        with pytest.raises(ServerException) as caught:
            login(databases, user, "system", password="not-" + secret(PASSWORDS[user])).execute(
                "SELECT 1"
            )
        assert caught.value.code == WRONG_PASSWORD, caught.value
    assert admin(databases).execute("SELECT 1") == [(1,)]


def test_the_documented_example_passwords_open_nothing(databases: Settings) -> None:
    for user, example in (
        ("haochaping_writer", "writer-change-me"),
        ("haochaping_analyst", "analyst-change-me"),
        ("haochaping_evaluator", "evaluator-change-me"),
    ):
        if secret(PASSWORDS[user]) == example:
            pytest.skip("the services run in demo mode with the example passwords")
        with pytest.raises(ServerException) as caught:
            login(databases, user, "system", password=example).execute("SELECT 1")
        assert caught.value.code == WRONG_PASSWORD, caught.value


def test_the_readonly_user_is_gone(databases: Settings) -> None:
    with pytest.raises(ServerException) as caught:
        login(databases, "readonly", "default", password="").execute("SELECT 1")
    assert caught.value.code == UNKNOWN_USER, caught.value


def test_the_writer_cannot_reach_the_administrator_through_remote(databases: Settings) -> None:
    """The writer may use table functions (readonly=0); remote() logs in anew, so the
    administrator's password is what keeps it out (before: `default` had none)."""
    writer = login(databases, "haochaping_writer", DATABASE)
    address = f"{databases.clickhouse_host}:{databases.clickhouse_port}"
    text = refused(
        PASSWORD_REQUIRED,
        writer,
        f"SELECT count() FROM remote('{address}', system.one, 'default', '') "
        "SETTINGS prefer_localhost_replica = 0",
    )
    assert "Password required for user default" in text


class Listener(ThreadingHTTPServer):
    """An HTTP server on loopback that answers every GET with a CSV row and counts them."""

    def __init__(self, host: str, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.requests = 0
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"fetched\n")

            def log_message(self, *_: object) -> None:
                pass

        super().__init__((host, 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.mark.skipif(
    os.geteuid() != 0,
    reason="only root runs ClickHouse as a user of its own, whose connections "
    "deploy/clickhouse/egress.sh fences; as anyone else it runs unfenced as that user",
)
@pytest.mark.parametrize(
    ("host", "family"),
    [("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)],
    ids=["ipv4", "ipv6"],
)
def test_the_writers_url_reaches_nothing(
    databases: Settings, host: str, family: socket.AddressFamily
) -> None:
    """18.16 leaves the writer url() and kin (only readonly=1 forbids table functions, and
    INSERT with them), so the server's own connections are fenced: not even a listener on
    loopback is reached. Unfenced, this query returns the listener's row."""
    listener = Listener(host, family)
    try:
        port = listener.server_address[1]
        address = f"[{host}]" if family == socket.AF_INET6 else host
        writer = login(databases, "haochaping_writer", DATABASE)
        text = refused(
            POCO_EXCEPTION,
            writer,
            f"SELECT * FROM url('http://{address}:{port}/x.csv', CSV, 'line String')",
        )
        assert "Connection refused" in text
        assert listener.requests == 0
    finally:
        listener.shutdown()
        listener.server_close()


def test_the_analyst_runs_the_reports(databases: Settings, tmp_path: Path) -> None:
    """`haochaping report` and `problems` log in as the analyst (readonly=1, its limits)."""
    for args in (("report", "--days", "3650", "--min-total", "1"), ("problems", "--days", "3650")):
        done = run_cli(databases, "haochaping_analyst", *args, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    report = run_cli(databases, "haochaping_analyst", "report", "--days", "3650", cwd=tmp_path)
    assert "D1" in report.stdout, report.stdout


def test_the_sink_says_in_one_line_that_its_login_is_refused(
    databases: Settings, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAOCHAPING_")}
    env |= {
        "HAOCHAPING_CLICKHOUSE_HOST": databases.clickhouse_host,
        "HAOCHAPING_CLICKHOUSE_PORT": str(databases.clickhouse_port),
        "HAOCHAPING_CLICKHOUSE_DATABASE": DATABASE,
        "HAOCHAPING_CLICKHOUSE_PASSWORD": "writer-change-me",
        "HAOCHAPING_SINK_METRICS_PORT": "0",
    }
    done = subprocess.run(
        [HAOCHAPING, "sink"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.strip().startswith(
        "error: ClickHouse refused the login of haochaping_writer"
    ), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
