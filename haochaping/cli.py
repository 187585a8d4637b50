"""The `haochaping` command: worker, sink, simulate, migrate, topics, report, suspects, schema,
settings.

Every command turns a failure it understands (an unreachable broker or server, a refused
query, a missing secret) into one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from runtime.kafka_security import kafka_security
from runtime.settings import WORKER_ROLES, Settings, get_settings

cli = typer.Typer(
    help="haochaping: the streaming pipeline of the 好差评 (good/bad review) system.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Bounds of the numeric options: a value past them is a typo, and it would otherwise end in an
# OverflowError deep in datetime or the ClickHouse driver instead of a usage error.
DAY_S = 86_400  # --timeout, --idle-exit: a day
MAX_DAYS = 3660  # --days: ten years, more than the data kept (retention_days, 3 years)
MAX_ROWS = 10_000  # --limit, --top: rows a person reads
MAX_THEMES = 100  # --themes
MAX_THRESHOLD = 1_000_000_000  # --min-total, --min-bad, --min-docs: counts of evaluations
MAX_SAMPLE = 10_000_000  # --sample: comments read into memory per query
MAX_COUNT = 100_000_000  # --count of simulate
MAX_RATE = 1_000_000.0  # --rate, --event-rate, per second
MAX_SEED = 2**32 - 1  # --seed (the demo seeds with the epoch seconds)

# status lines stay one line each (logs and tests grep them); tables get room when piped
console = Console(stderr=True, soft_wrap=True)
out = Console(width=None if sys.stdout.isatty() else 150)


def fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def one_line_errors(settings: Settings) -> Iterator[None]:
    from clickhouse_driver import errors as ch_errors
    from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

    from sinks.clickhouse import describe, is_outage

    try:
        yield
    except (KafkaConnectionError, KafkaTimeoutError):
        fail(f"Kafka at {settings.kafka_bootstrap} is unreachable; start it with `make up`")
    except KafkaError as exc:
        fail(f"Kafka at {settings.kafka_bootstrap}: {exc}")
    except ch_errors.ServerException as exc:
        fail(f"ClickHouse refused: {describe(exc)}")
    except Exception as exc:
        if is_outage(exc):
            fail(
                f"ClickHouse at {','.join(settings.clickhouse_servers)} is "
                f"unreachable ({describe(exc)}); start it with `make up`"
            )
        raise


# ClickHouse's "unknown user", "wrong password", "password required", "authentication failed"
LOGIN_REFUSED = {192, 193, 194, 516}


def refused_login(settings: Settings, writer: Any) -> None:
    """Exit in one line when ClickHouse refuses the sink's login (a wrong or missing password)
    instead of failing at the first batch. Unreachable is fine here: the sink waits for
    ClickHouse to come back."""
    from clickhouse_driver import errors as ch_errors

    from sinks.clickhouse import describe

    try:
        writer.execute("SELECT 1")
    except ch_errors.ServerException as exc:
        if exc.code in LOGIN_REFUSED:
            fail(
                f"ClickHouse refused the login of {settings.clickhouse_user} ({describe(exc)}); "
                "set HAOCHAPING_CLICKHOUSE_PASSWORD (make up generates it: .deploy/secrets.env)"
            )
    except Exception:  # an outage: the sink's own retries report it
        pass


def wait_for(what: str, probe: Callable[[], Any], say: Callable[[str], None]) -> Any:
    """Call ``probe`` until it succeeds, one readable line per failed try."""
    from tenacity import Retrying, retry_if_exception_type, wait_exponential

    def before_sleep(state: Any) -> None:
        error = state.outcome.exception()
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        say(f"{what} unreachable ({text}); retrying in {state.next_action.sleep:.0f}s")

    for attempt in Retrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=1, min=1, max=15),
        before_sleep=before_sleep,
    ):
        with attempt:
            return probe()


@cli.command()
def topics() -> None:
    """Create the contract topics (partitions and retention from settings); safe to rerun."""
    from haochaping.topics import ensure_topics

    settings = get_settings()
    with one_line_errors(settings):
        for name, state in ensure_topics(settings):
            out.print(f"{name:<24} {state}")


@cli.command()
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


def _kafka_reachable(settings: Settings) -> None:
    from haochaping.topics import admin_client

    admin_client(settings).close()


@cli.command()
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


@cli.command()
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
    from runtime.evaluator_secret import evaluator_secret, secret_problem
    from streams.worker.app import create_app

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
    wait_for(
        f"Kafka at {settings.kafka_bootstrap}",
        lambda: _kafka_reachable(settings),
        lambda line: console.print(f"worker: {line}", highlight=False),
    )
    from streams.worker.handover import HandoverRefused, prepare_role

    with one_line_errors(settings):
        try:
            taken = prepare_role(settings)
        except HandoverRefused as refused:
            fail(f"worker ({settings.worker_role}): {refused}")
    if taken:
        console.print(
            f"worker (follow-up): took over the offsets of {taken} partition(s) from the "
            f"group {settings.app_id} (its first start)",
            highlight=False,
        )
    if settings.worker_web_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_web_port, addr="127.0.0.1")
    from faust import Worker

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


@cli.command()
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
    from sinks.clickhouse import ClickHouseWriter
    from sinks.consumer import Sink, make_consumer
    from sinks.landings import LANDINGS
    from sinks.watchdog import LagProbe, SinkWatchdog

    settings = get_settings()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    # the sink says what an outage means in one line of its own; the clients' tracebacks
    # and rebalance chatter would bury it
    logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)
    logging.getLogger("kafka").setLevel(logging.ERROR)
    say: Callable[[str], None] = lambda line: console.print(line, highlight=False)  # noqa: E731
    topics = [landing.topic(settings) for landing in LANDINGS]
    writer = ClickHouseWriter(settings)
    refused_login(settings, writer)
    consumer = wait_for(
        f"sink: Kafka at {settings.kafka_bootstrap}",
        lambda: make_consumer(settings, topics),
        say,
    )
    if settings.sink_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.sink_metrics_port, addr="127.0.0.1")
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    runner = Sink(settings, consumer, writer, say=say, should_stop=lambda: stopping)
    watchdog = SinkWatchdog(
        LagProbe(settings, topics, settings.sink_group),
        runner,
        stall_s=settings.sink_stall_s,
        say=say,
    )
    watchdog.start()
    say(
        f"sink: {', '.join(topics)} → ClickHouse {','.join(settings.clickhouse_servers)}"
        f"/{settings.clickhouse_database}"
    )
    try:
        runner.run(idle_exit_s=idle_exit)
    finally:
        watchdog.stop()
        consumer.close()
    say(f"sink: stopped; {runner.rows_landed} rows landed")


@cli.command()
def notify(
    idle_exit: Annotated[
        float | None,
        typer.Option(
            min=1, max=86_400, help="stop after this many seconds without new alert events"
        ),
    ] = None,
) -> None:
    """Deliver alerts.spikes to the webhook (HAOCHAPING_WEBHOOK_URL), at least once."""
    from notify.delivery import Notifier, consumer_lag, seed_group
    from notify.webhook import WebhookClient
    from sinks.consumer import make_consumer
    from sinks.watchdog import LagProbe, SinkWatchdog

    settings = get_settings()
    say: Callable[[str], None] = lambda line: console.print(line, highlight=False)  # noqa: E731
    client = None
    if settings.webhook_url:
        try:
            client = WebhookClient(
                settings.webhook_url,
                settings.webhook_format,
                secret=settings.webhook_secret.get_secret_value(),
                timeout_s=settings.webhook_timeout_s,
            )
        except ValueError as exc:
            fail(f"HAOCHAPING_WEBHOOK_*: {exc}")
    if settings.notify_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.notify_metrics_port, addr="127.0.0.1")
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if client is None:
        # Idle until stopped rather than exit: a supervisor would restart a program that
        # ends at once, again and again.
        say("notify: no webhook configured (HAOCHAPING_WEBHOOK_URL is empty); idle")
        stopping.wait(idle_exit)
        say("notify: stopped")
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)
    topics = [settings.topic_alerts]

    def connect() -> Any:
        from kafka import KafkaConsumer

        seeder = KafkaConsumer(
            bootstrap_servers=settings.kafka_servers,
            group_id=settings.notify_group,
            enable_auto_commit=False,
            client_id="haochaping-notify-seed",
            **kafka_security(settings),
        )
        try:
            seed_group(seeder, settings.topic_alerts, settings.notify_lookback_minutes * 60)
        finally:
            seeder.close()
        return make_consumer(
            settings, topics, group=settings.notify_group, client_id="haochaping-notify"
        )

    consumer = wait_for(f"notify: Kafka at {settings.kafka_bootstrap}", connect, say)
    runner = Notifier(consumer, client, say=say, should_stop=stopping.is_set)
    watchdog = SinkWatchdog(
        LagProbe(settings, topics, settings.notify_group),
        runner,
        stall_s=settings.notify_stall_s,
        say=say,
        who="notify",
        done="alert events settled",
        lag_gauge=consumer_lag,
    )
    watchdog.start()
    say(f"notify: {settings.topic_alerts} → {settings.webhook_format} webhook at {client.where}")
    try:
        runner.run(idle_exit_s=idle_exit)
    finally:
        watchdog.stop()
        consumer.close()
    say(f"notify: stopped; {runner.delivered} alert events delivered")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of a raw evaluation (for channel teams)."""
    from schemas.evaluation import raw_evaluation_json_schema

    out.print_json(json.dumps(raw_evaluation_json_schema(), ensure_ascii=False))


@cli.command("settings")
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


def parse_start(text: str) -> datetime:
    """An ISO-8601 time with offset, or "-45m" / "-2h" for that long ago."""
    from datetime import UTC, timedelta

    amount = text[1:-1]
    if text.startswith("-") and text[-1:] in ("m", "h") and amount.isascii() and amount.isdigit():
        unit = 60 if text.endswith("m") else 3600
        try:
            return datetime.now(UTC) - timedelta(seconds=int(amount) * unit)
        except OverflowError:  # timedelta's or datetime's range, past year 1
            fail(f"--start {text!r} is further back than the calendar goes")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--start {text!r} is neither an ISO-8601 time nor -<N>m / -<N>h")
    if moment.tzinfo is None:
        fail("--start needs a UTC offset, e.g. 2026-11-27T09:00:00+08:00")
    return moment


PAST_THE_CALENDAR = "event times run past the year 9999; choose an earlier --start"


@cli.command()
def simulate(
    count: Annotated[
        int, typer.Option(min=1, max=MAX_COUNT, help="how many messages to send")
    ] = 10_000,
    rate: Annotated[
        float,
        typer.Option(min=0, max=MAX_RATE, help="messages per second; 0 sends as fast as possible"),
    ] = 0,
    seed: Annotated[
        int,
        typer.Option(min=0, max=MAX_SEED, help="random seed: the same seed sends the same data"),
    ] = 42,
    scenario: Annotated[
        str, typer.Option(help="steady | surge | duplicates | malformed | mixed")
    ] = "steady",
    surge_department: Annotated[
        str | None, typer.Option(help="department code whose bad reviews surge")
    ] = None,
    surge_service: Annotated[
        str | None, typer.Option(help="service code whose bad reviews surge")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="event time of the first message (ISO-8601 with offset, or -45m for 45 "
            "minutes ago); default: live timestamps"
        ),
    ] = None,
    office_hours: Annotated[
        bool,
        typer.Option(
            "--office-hours",
            help="with --start: follow the working-hours rhythm (weekday 9–17 peak, lunch dip, "
            "quiet nights and weekends) instead of a constant rate",
        ),
    ] = False,
    event_rate: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            max=MAX_RATE,
            help="with --start: evaluations per second of event time (default: --rate, or 5); "
            "lets an hour of traffic be replayed in seconds",
        ),
    ] = None,
    summary_file: Annotated[
        Path | None,
        typer.Option(
            help="also write what was sent as JSON: counts by kind, the distinct valid "
            "evaluations the pipeline must land, the surge department"
        ),
    ] = None,
    arrival_delays: Annotated[
        bool,
        typer.Option(
            "--arrival-delays",
            help="evaluations arrive as in practice: online in seconds, SMS and hotline hours "
            "later, hall pads in bursts after an outage (evaluated_at lies that much before "
            "the send)",
        ),
    ] = False,
) -> None:
    """Send realistic evaluations from every channel to ratings.raw."""
    from channels.producer import ChannelProducer, DeliveryFailed
    from channels.simulator import SCENARIOS, Simulator
    from channels.tally import SentTally

    settings = get_settings()
    if scenario not in SCENARIOS:
        fail(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    first_at = parse_start(start) if start else None
    simulator = Simulator(seed)
    try:
        messages = simulator.stream(
            count,
            scenario=scenario,
            start=first_at,
            rate_per_s=(event_rate or rate or None) if first_at else (rate or None),
            rhythm=office_hours,
            surge_department=surge_department,
            surge_service=surge_service,
            arrival_delays=arrival_delays,
        )
    except (KeyError, ValueError) as exc:
        fail(str(exc))
    except OverflowError:
        fail(PAST_THE_CALENDAR)
    tally = SentTally()
    with one_line_errors(settings):
        producer = ChannelProducer(
            settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
        )
        try:
            _send_paced(producer, messages, tally, count=count, rate=rate)
        except OverflowError:  # event times are made as they are sent
            fail(PAST_THE_CALENDAR)
        try:
            producer.close()
        except DeliveryFailed as exc:
            fail(str(exc))
    out.print(f"sent {count} messages to {settings.topic_raw}: {tally.line()}")
    if summary_file is not None:
        surging = surge_department or simulator.default_surge_department.code
        summary_file.write_text(tally.to_json(surging))


def _send_paced(producer: Any, messages: Any, tally: Any, *, count: int, rate: float) -> None:
    """Send at ``rate`` messages a second (0: as fast as possible), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    started = time.monotonic()
    with Progress(
        TextColumn("simulate"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} msg/s"),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("send", total=count, rate=0.0)
        for i, message in enumerate(messages, 1):
            producer.send_raw(message.key, message.value)
            tally.add(message)
            if rate:
                ahead = i / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            if i % 500 == 0 or i == count:
                elapsed = max(time.monotonic() - started, 1e-6)
                progress.update(task, completed=i, rate=i / elapsed)


@cli.command()
def report(
    days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="Shanghai calendar days to cover")
    ] = 1,
    min_total: Annotated[
        int,
        typer.Option(
            min=1, max=MAX_THRESHOLD, help="minimum evaluations for a place in the ranking"
        ),
    ] = 20,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="rows per ranking")] = 10,
) -> None:
    """Satisfaction ranking of departments and service items, least satisfied first."""
    from reports.overview import overview
    from sinks.clickhouse import connect

    settings = get_settings()
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = overview(
            lambda sql, p: list(client.execute(sql, p)), days=days, min_total=min_total, limit=limit
        )
    _render_overview(found, days=days, min_total=min_total)


def _render_overview(found: Any, *, days: int, min_total: int) -> None:
    from haochaping.render import table

    out.print(
        table(
            "landed in ratings, by channel and department (top rows)",
            ("channel", "department", "evaluations", "差评 bad"),
            ((ch, f"{dept} {name}", total, bad) for ch, dept, name, total, bad in found.landed),
        )
    )
    out.print(table("rejected, by reason", ("reason", "messages"), found.rejected))
    _render_miskeyed(found.miskeyed, days=days)
    out.print(
        table(
            "bad-review surge alerts (alert_history, newest first)",
            ("alert", "state", "opened (Shanghai)", "差评 bad (peak)", "score"),
            (
                (alert, status, f"{at:%Y-%m-%d %H:%M}", peak, f"{score:.1f}")
                for alert, status, at, peak, score in found.alerts
            ),
            empty="no alert has fired",
        )
    )
    titles = {"department": "部门 departments", "service": "事项 service items"}
    for dimension, rows in found.rankings.items():
        out.print(
            table(
                f"{titles[dimension]}: raw rates (every evaluation, before review; "
                f"official: satisfaction_official_daily), last {days} day(s), least "
                f"satisfied first, ≥{min_total} rated",
                (
                    "code",
                    "name",
                    "evaluations",
                    "好评率 satisfaction",
                    "差评率 bad",
                    "差评 bad",
                    "mean level",
                ),
                (
                    (
                        key,
                        found.names.get(key, ""),
                        total,
                        f"{good_rate:.2%}",
                        f"{bad_rate:.2%}",
                        bad,
                        f"{mean_level:.2f}",
                    )
                    for key, total, _good, bad, good_rate, bad_rate, mean_level in rows
                ),
                empty=f"no {dimension} has {min_total}+ evaluations yet",
            )
        )


def _render_miskeyed(rows: Any, *, days: int) -> None:
    from haochaping.render import table

    out.print(
        table(
            f"mis-keyed (another Kafka key than the transaction id), last {days} day(s)",
            ("channel", "evaluations", "mis-keyed", "share"),
            ((ch, total, miskeyed, f"{share:.2%}") for ch, total, miskeyed, share in rows),
            empty="nothing landed in this period",
        )
    )


@cli.command()
def suspects(
    days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="days of evaluations to cover")
    ] = 1,
    by: Annotated[
        str, typer.Option(help="group by department, window (hall window) or staff")
    ] = "department",
    status: Annotated[
        str, typer.Option(help="pending (not reviewed yet), confirmed, cleared or all")
    ] = "pending",
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="rows per table")] = 20,
) -> None:
    """Suspect evaluations (刷好评, 恶意差评) by department, window or staff, with evidence."""
    from reports.suspects import COLUMN
    from reports.suspects import suspects as find
    from sinks.clickhouse import connect

    if by not in COLUMN:
        fail(f"--by must be one of {', '.join(COLUMN)}, not {by!r}")
    if status not in ("pending", "confirmed", "cleared", "all"):
        fail(f"--status must be pending, confirmed, cleared or all, not {status!r}")
    settings = get_settings()
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = find(
            lambda sql, p: list(client.execute(sql, p)),
            days=days,
            by=by,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            limit=limit,
        )
    _render_suspects(found, days=days, status=status)


def _render_suspects(found: Any, *, days: int, status: str) -> None:
    from haochaping.render import table

    out.print(
        table(
            f"suspect evaluations ({status}) by {found.by}, last {days} day(s)",
            (
                found.by,
                "suspects",
                "好评 good",
                "差评 bad",
                "confirmed",
                "cleared",
                "top score",
                "reasons",
            ),
            (
                (place, n, good, bad, confirmed, cleared, f"{score:.2f}", ", ".join(reasons))
                for place, n, good, bad, confirmed, cleared, score, reasons in found.summary
            ),
            empty="no suspect evaluation",
        )
    )
    out.print(
        table(
            "evidence, most suspect first (confirm or clear with suspect_confirmed / "
            "suspect_cleared on cases.events)",
            (
                "evaluation",
                "evaluated (Shanghai)",
                "department",
                "window",
                "staff",
                "level",
                "score",
                "status",
                "evidence",
            ),
            (
                (
                    eid,
                    f"{at:%Y-%m-%d %H:%M:%S}",
                    dept,
                    window,
                    staff,
                    level,
                    f"{score:.2f}",
                    state,
                    "; ".join(evidence) or ", ".join(reasons),
                )
                for (
                    eid,
                    at,
                    dept,
                    window,
                    staff,
                    level,
                    score,
                    reasons,
                    evidence,
                    state,
                ) in found.evidence
            ),
            empty="no suspect evaluation",
        )
    )
    out.print(
        table(
            "departments with an implausibly perfect 好评率 (no bad review at their volume; "
            "for review, not excluded)",
            ("day", "department", "evaluations", "peers' 差评率", "p-value"),
            (
                (str(day), dept, total, f"{rate:.2%}", f"{p:.1e}")
                for day, dept, total, rate, p in found.perfect
            ),
            empty="none",
        )
    )


@cli.command()
def reconcile(
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_DAYS,
            help="Shanghai calendar days to check, today included (default: the long horizon, "
            "HAOCHAPING_LATE_HORIZON_DAYS, plus one)",
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_ROWS, help="differences listed")] = 100,
) -> None:
    """对账: the worker's day windows (`satisfaction`, window 1d) against a recount of
    `ratings FINAL`, per day, department and service item; exit 1 if a day inside the long
    horizon differs. Run it once the pipeline has caught up (`haochaping wait --until
    drained`)."""
    from reports.reconcile import reconcile as run_reconcile
    from sinks.clickhouse import connect

    settings = get_settings()
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = run_reconcile(
            lambda sql, p: list(client.execute(sql, p)),
            days=days or settings.late_horizon_days + 1,
            horizon_days=settings.late_horizon_days,
            limit=limit,
        )
    _render_reconciliation(found, settings.late_horizon_days)
    if not found.ok:
        raise typer.Exit(1)


def _render_reconciliation(found: Any, horizon_days: int) -> None:
    from haochaping.render import table

    if found.differences:
        out.print(
            table(
                "day windows that differ from the recount of ratings (window − recount)",
                (
                    "day",
                    "dimension",
                    "key",
                    "window",
                    "recount",
                    "difference",
                    "levels 1–5 window / recount",
                    "in horizon",
                ),
                (
                    (
                        str(d.day),
                        d.dimension,
                        d.key,
                        d.window_total,
                        d.recount_total,
                        f"{d.difference:+d}",
                        f"{list(d.window_levels)} / {list(d.recount_levels)}",
                        "yes" if d.in_horizon else "no",
                    )
                    for d in found.differences
                ),
            )
        )
    listed = (
        f" ({len(found.differences)} listed)" if found.differing > len(found.differences) else ""
    )
    out.print(
        f"reconciled {found.compared} day × department/service rows from {found.first_day} to "
        f"{found.last_day}: {found.differing} differ{listed}, {found.differing_in_horizon} "
        f"of them inside the {horizon_days}-day horizon (from {found.horizon_start})",
        markup=False,
    )


@cli.command()
def problems(
    days: Annotated[
        int, typer.Option(min=1, max=MAX_DAYS, help="Shanghai calendar days to cover")
    ] = 30,
    department: Annotated[str | None, typer.Option(help="only this department code")] = None,
    service: Annotated[
        str | None, typer.Option(help="only this service item code (its themes alone)")
    ] = None,
    top: Annotated[
        int,
        typer.Option(min=1, max=MAX_ROWS, help="departments shown, most bad reviews first"),
    ] = 5,
    themes: Annotated[
        int, typer.Option(min=1, max=MAX_THEMES, help="themes and tags per department")
    ] = 8,
    min_bad: Annotated[
        int,
        typer.Option(
            min=1, max=MAX_THRESHOLD, help="bad reviews a department or service item needs"
        ),
    ] = 10,
    min_docs: Annotated[
        int,
        typer.Option(min=1, max=MAX_THRESHOLD, help="bad-review comments a theme must appear in"),
    ] = 3,
    sample: Annotated[
        int,
        typer.Option(min=100, max=MAX_SAMPLE, help="at most this many comments read per query"),
    ] = 200_000,
) -> None:
    """What people complain about: top bad-review tags and recurring themes of bad-review
    comments per department and service item (themes: terms over-represented in 差评 comments
    compared with all comments; see docs/analyst-guide.md)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from reports.problems import Options, discover
    from sinks.clickhouse import connect

    settings = get_settings()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    params = {
        "from_ts": int((today - timedelta(days=days - 1)).timestamp()),
        "to_ts": int((today + timedelta(days=1)).timestamp()),
        "department": department or "",
        "service": service or "",
        "limit": sample,
    }
    options = Options(department, service, top, themes, min_bad, min_docs)
    with one_line_errors(settings):
        client = connect(settings, analyst=True)
        found = discover(lambda sql, p: list(client.execute(sql, p)), params, options)
    _render_problems(found, options, f"last {days} day(s)")


@cli.command()
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
    uvicorn.run(app, host=bind_host, port=bind_port, log_level="warning", access_log=False)


def _tag_label(code: str) -> str:
    from schemas.codes import REVIEW_TAGS

    tag = REVIEW_TAGS.get(code)
    return f"{code} {tag.label}" if tag else code


def _render_problems(found: Any, options: Any, period: str) -> None:
    if not found.departments:
        scope = (
            f"service item {options.service}"
            if options.service
            else f"department {options.department}"
            if options.department
            else "no department"
        )
        out.print(
            f"{scope}: none with {options.min_bad}+ bad reviews in the {period}; "
            "nothing to discover (try --min-bad or --days)",
            markup=False,
        )
        return
    out.print(
        f"problem discovery, {period}: {found.background_terms} terms in "
        f"{found.background_docs} comments compared with the bad-review comments of "
        f"{len(found.departments)} department(s)"
    )
    for dept in found.departments:
        _render_department(dept, options, found.service_name)


def _render_department(dept: Any, options: Any, service_name: str) -> None:
    from haochaping.render import cell, table

    counts = dept.counts
    title = f"{dept.name} {dept.code}"
    if options.service:
        title = f"{service_name} {options.service} ({title})"
    out.print(
        f"\n[bold]{cell(title)}[/]: {counts.bad} bad reviews of {counts.evaluations} "
        f"evaluations ({counts.bad / counts.evaluations:.1%}), {counts.bad_commented} with a "
        "comment",
        highlight=False,
    )
    out.print(
        table(
            "top bad-review tags",
            ("#", "差评标签 tag", "bad reviews", "share of bad"),
            (
                (rank, _tag_label(tag), n, f"{n / counts.bad:.0%}")
                for rank, (tag, n) in enumerate(dept.tags, 1)
            ),
            empty="no tags on these bad reviews",
        )
    )
    sample = (
        f" (a sample of {counts.bad_commented})" if dept.comments < counts.bad_commented else ""
    )
    out.print(
        table(
            f"themes of {dept.comments} bad-review comments{sample}, against all comments",
            ("#", "theme", "bad comments", "share", "lift", "example"),
            (
                (rank, t.term, t.bad_docs, f"{t.share_of_bad:.0%}", f"{t.lift:.1f}×", t.example)
                for rank, t in enumerate(dept.themes, 1)
            ),
            empty=f"no term in {options.min_docs}+ bad-review comments stands out",
        )
    )
    if dept.items:
        out.print(
            table(
                f"service items with {options.min_bad}+ bad reviews",
                ("service item", "bad / evaluations", "top tags", "top themes"),
                (
                    (
                        f"{item.name} {item.code}",
                        f"{item.counts.bad} / {item.counts.evaluations}",
                        ", ".join(f"{_tag_label(t)} ({n})" for t, n in item.tags),
                        ", ".join(f"{t.term} ({t.share_of_bad:.0%})" for t in item.themes),
                    )
                    for item in dept.items
                ),
            )
        )


def main() -> None:
    # the driver logs each failed connection with a traceback; commands say it in one line
    logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)
    from pydantic import ValidationError

    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        first = exc.errors()[0]
        name = "HAOCHAPING_" + str(first["loc"][0]).upper() if first["loc"] else "a setting"
        console.print(f"[bold red]error:[/] {name}: {first['msg']}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
