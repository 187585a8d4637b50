"""Admin commands: topics, migrate, wait, schema, settings."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from haochaping.cli.common import (
    DAY_S,
    cli,
    console,
    fail,
    one_line_errors,
    out,
)
from runtime.settings import Settings, get_settings

# where `haochaping --help` lists these commands
PANEL = "Setup and operations"


@cli.command(rich_help_panel=PANEL)
def topics() -> None:
    """Create the contract topics (partitions and retention from settings); safe to rerun."""
    from haochaping.topics import ensure_topics

    settings = get_settings()
    with one_line_errors(settings):
        for name, state in ensure_topics(settings):
            out.print(f"{name:<24} {state}")


@cli.command(rich_help_panel=PANEL)
def migrate(
    retention: Annotated[
        bool, typer.Option("--retention", help="also drop monthly partitions past retention_days")
    ] = False,
) -> None:
    """Apply the versioned ClickHouse DDL (idempotent; records what it applied)."""
    from datetime import date

    from clickhouse_driver import errors as ch_errors

    from sinks import migrate as migrations
    from sinks.clickhouse import connect, describe
    from sinks.landings import retained_tables

    settings = get_settings()
    with one_line_errors(settings):
        # `system`: the one database every user may name (the writer may not name `default`)
        connect(settings, database="system").execute(
            migrations.create_database(settings.clickhouse_database, settings.clickhouse_cluster)
        )
        client = connect(settings)
        applied = migrations.apply(
            client.execute,
            lambda m: out.print(f"applied {m.version:03d}_{m.name}"),
            cluster=settings.clickhouse_cluster,
        )
        out.print(
            f"database {settings.clickhouse_database}: {applied} migration(s) applied, "
            "schema up to date"
        )
        try:
            public = migrations.apply_public(
                client.execute, settings.clickhouse_database, on_cluster=settings.clickhouse_cluster
            )
            out.print(f"database {public}: aggregate views for third-party evaluators")
        except ch_errors.ServerException as exc:
            # needs the loopback cluster that deploy/services.sh configures (18.16 has no
            # per-table grants, so the evaluator reads aggregates through it)
            console.print(
                f"warning: {settings.clickhouse_database}_public not created ({describe(exc)}); "
                "the evaluator user has nothing to read until it is"
            )
        if retention:
            for table in retained_tables():
                parts = client.execute(
                    "SELECT DISTINCT partition FROM system.parts WHERE database = %(db)s "
                    "AND table = %(t)s AND active",
                    {"db": settings.clickhouse_database, "t": table},
                )
                for partition in migrations.partitions_to_drop(
                    [str(p[0]) for p in parts], settings.retention_days, date.today()
                ):
                    client.execute(f"ALTER TABLE {table} DROP PARTITION {partition}")
                    out.print(
                        f"dropped {table} partition {partition} (older than "
                        f"{settings.retention_days} days)"
                    )


@cli.command(rich_help_panel=PANEL)
def wait(
    until: Annotated[
        str,
        typer.Option(
            help="ready: the worker and the sink have joined their groups; "
            "drained: and neither has anything left to process"
        ),
    ] = "ready",
    timeout: Annotated[
        float, typer.Option(min=1, max=DAY_S, help="give up after this many seconds")
    ] = 300,
) -> None:
    """Wait until the pipeline is ready, or has caught up (read from Kafka); exit 1 on timeout."""
    from haochaping.readiness import Readiness

    if until not in ("ready", "drained"):
        fail(f"--until must be 'ready' or 'drained', got {until!r}")
    settings = get_settings()
    with one_line_errors(settings):
        readiness = Readiness(settings)
    deadline = time.monotonic() + timeout
    # drained twice in a row, a second apart: the worker's last batch may still be on its
    # way to the sink's topics when both lags read zero once
    calm = 0
    line = ""
    try:
        while time.monotonic() < deadline:
            try:
                groups = readiness.look()
            except Exception as exc:  # a broker restarting: say so, look again
                line = f"waiting: Kafka did not answer ({exc})"
                groups = []
            if groups:
                line = "; ".join(
                    f"{g.name} {g.state.lower()}, {g.members} member(s), lag {g.lag}"
                    for g in groups
                )
                ready = all(g.ready for g in groups)
                done = ready and (until == "ready" or all(g.lag == 0 for g in groups))
                calm = calm + 1 if done else 0
                if calm >= (1 if until == "ready" else 2):
                    console.print(f"{until}: {line}", highlight=False)
                    return
            console.print(f"  {line}", highlight=False)
            time.sleep(1.0)
    finally:
        readiness.close()
    fail(f"not {until} after {timeout:.0f}s: {line}")


SCHEMAS = ("evaluation", "transaction", "case-event", "case-action")


@cli.command(rich_help_panel=PANEL)
def schema(
    of: Annotated[
        str,
        typer.Option(
            help="evaluation (ratings.raw, for channel teams), transaction (transactions.done, "
            "for business systems), case-event (cases.events) or case-action (cases.actions, "
            "for the web front)"
        ),
    ] = "evaluation",
) -> None:
    """Print the JSON Schema of a message: a raw evaluation, a 办件, a case event or a case
    action."""
    from schemas.actions import case_action_json_schema
    from schemas.cases import CaseEvent
    from schemas.evaluation import raw_evaluation_json_schema
    from schemas.transaction import raw_transaction_json_schema

    if of not in SCHEMAS:
        fail(f"--of must be one of {', '.join(SCHEMAS)}, got {of!r}")
    found = {
        "evaluation": raw_evaluation_json_schema,
        "transaction": raw_transaction_json_schema,
        "case-event": CaseEvent.model_json_schema,
        "case-action": case_action_json_schema,
    }[of]()
    out.print_json(json.dumps(found, ensure_ascii=False))


@cli.command("settings", rich_help_panel=PANEL)
def show_settings() -> None:
    """Print every setting, its value in force and its environment variable."""
    from rich.table import Table

    from runtime.redact import shown_setting

    settings = get_settings()
    table = Table("environment variable", "value", "meaning")
    for name, field in Settings.model_fields.items():
        # secrets and the credentials in URLs never reach a terminal or a pasted log
        value = shown_setting(name, getattr(settings, name))
        table.add_row(f"HAOCHAPING_{name.upper()}", value, field.description or "")
    out.print(table)
