"""The long-running services: worker, sink, notify, dashboard. Each is watched and restarted by
supervisord (deploy/supervise.sh) and refuses a bad configuration in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from haochaping.cli.common import (
    DAY_S,
    cli,
    console,
    fail,
    kafka_reachable,
    one_line_errors,
)
from runtime.lifecycle import StartRefused, serve_metrics, wait_for
from runtime.settings import WORKER_ROLES, Settings, get_settings

# where `haochaping --help` lists these commands
PANEL = "Long-running services (supervised by make up)"


@cli.command(rich_help_panel=PANEL)
def worker(
    loglevel: Annotated[str, typer.Option(help="log level of the worker")] = "warning",
    role: Annotated[
        str | None,
        typer.Option(
            help="the agents this process runs: all; ingest (ratings.raw → valid, rejected, "
            "windows, case openings, screening facts); or follow-up (surges, screening, case "
            "follow-up), the two run as two processes, as `make up` does "
            "(default: HAOCHAPING_WORKER_ROLE, else all)"
        ),
    ] = None,
) -> None:
    """Run the Faust worker: ratings.raw → valid, rejected and satisfaction.windows, and what
    follows from them (surge alerts, suspects, case warnings)."""
    settings = get_settings()
    if role is not None:
        if role not in WORKER_ROLES:
            fail(f"--role must be one of {', '.join(WORKER_ROLES)}, got {role!r}")
        settings = settings.model_copy(update={"worker_role": role})
    _check_secret(settings)
    wait_for(
        f"Kafka at {settings.kafka_bootstrap}",
        lambda: kafka_reachable(settings),
        lambda line: console.print(f"worker: {line}", highlight=False),
    )
    _take_over(settings)
    serve_metrics(settings.worker_web_port)
    from faust import Worker

    from streams.worker.app import create_app

    # Faust makes only the last level of its data directory (.data/faust on a fresh clone)
    Path(settings.worker_data_dir).mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    reads = {
        "all": f"{settings.topic_raw} and what follows from it",
        "ingest": settings.topic_raw,
        "follow-up": f"{settings.topic_cases}, the surge minutes and the screening facts",
    }[settings.worker_role]
    console.print(
        f"worker ({settings.worker_role}): reading {reads} at {settings.kafka_bootstrap}; "
        f"metrics on http://127.0.0.1:{settings.worker_web_port}/metrics",
        highlight=False,
    )
    # our own lines (start, progress, stall) go to stdout as they are, not through logging
    Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False).execute_from_commandline()


def _check_secret(settings: Settings) -> None:
    from runtime.evaluator_secret import evaluator_secret, secret_problem

    try:
        secret = evaluator_secret(settings)
    except SystemExit as exc:
        fail(str(exc))
    if settings.demo_mode and (problem := secret_problem(secret)):
        # allowed, but said once: a worker left in demo mode in production is a leak
        console.print(
            f"worker: demo mode: the evaluator secret {problem}; not for real evaluations",
            highlight=False,
        )


def _take_over(settings: Settings) -> None:
    """A follow-up worker's first start takes over the offsets of the one-process group."""
    from streams.worker.handover import HandoverRefused, prepare_role

    with one_line_errors(settings):
        try:
            taken = prepare_role(
                settings, lambda line: console.print(f"worker: {line}", highlight=False)
            )
        except HandoverRefused as refused:
            fail(f"worker ({settings.worker_role}): {refused}")
    if taken:
        console.print(
            f"worker (follow-up): took over the offsets of {taken} partition(s) from the "
            f"group {settings.app_id} (its first start)",
            highlight=False,
        )


@cli.command(rich_help_panel=PANEL)
def sink(
    idle_exit: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=DAY_S,
            help="stop after this many seconds without new records (default: run on)",
        ),
    ] = None,
) -> None:
    """Land ratings.valid, ratings.rejected and satisfaction.windows in ClickHouse."""
    from sinks.main import run_sink

    try:
        run_sink(get_settings(), say, idle_exit_s=idle_exit)
    except StartRefused as refused:
        fail(str(refused))


@cli.command(rich_help_panel=PANEL)
def notify(
    idle_exit: Annotated[
        float | None,
        typer.Option(
            min=1, max=86_400, help="stop after this many seconds without new alert events"
        ),
    ] = None,
    stream: Annotated[
        str,
        typer.Option(
            help="surges: alerts.spikes to HAOCHAPING_WEBHOOK_URL; cases: alerts.cases to each "
            "department's webhook (HAOCHAPING_CASE_WEBHOOKS), grouped"
        ),
    ] = "surges",
) -> None:
    """Deliver alerts.spikes to the webhook (HAOCHAPING_WEBHOOK_URL), or with --stream cases
    alerts.cases to the departments' webhooks, at least once."""
    from notify.main import run_case_notify, run_notify

    if stream not in ("surges", "cases"):
        fail(f"--stream must be surges or cases, got {stream!r}")
    run = run_notify if stream == "surges" else run_case_notify
    try:
        run(get_settings(), say, idle_exit_s=idle_exit)
    except StartRefused as refused:
        fail(str(refused))


def say(line: str) -> None:
    console.print(line, highlight=False)


@cli.command(rich_help_panel=PANEL)
def dashboard(
    host: Annotated[
        str | None, typer.Option(help="bind address (default HAOCHAPING_DASHBOARD_HOST, loopback)")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="port (default HAOCHAPING_DASHBOARD_PORT, 8080)"),
    ] = None,
) -> None:
    """The 好差评 office's web dashboard: satisfaction, surges, rankings, follow-up, read-only
    (as the analyst; the public page as the evaluator)."""
    import socket

    import uvicorn

    from dashboard.app import create_app

    settings = get_settings()
    bind_host = host or settings.dashboard_host
    bind_port = port or settings.dashboard_port
    # a port already taken is one line, not uvicorn's traceback after the app was built
    with socket.socket(socket.AF_INET6 if ":" in bind_host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind_host, bind_port))
        except OSError as exc:
            fail(f"dashboard: cannot listen on {bind_host}:{bind_port} ({exc.strerror})")
    app = create_app(settings)
    console.print(
        f"dashboard: http://{bind_host}:{bind_port}/ (ClickHouse "
        f"{','.join(settings.clickhouse_servers)}/{settings.clickhouse_database} as "
        f"{settings.clickhouse_analyst_user}; public page as {settings.clickhouse_public_user})",
        highlight=False,
    )
    uvicorn.run(
        app,
        host=bind_host,
        port=bind_port,
        log_level="warning",
        access_log=False,
        server_header=False,  # no "server: uvicorn" (issue 29)
    )
