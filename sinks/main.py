"""The sink's process: connect, land batches until stopped, watched by a thread beside it."""

from __future__ import annotations

import logging

from runtime.lifecycle import Say, StartRefused, serve_metrics, stop_on_signals, wait_for
from runtime.poll_watchdog import LagProbe, PollWatchdog
from runtime.settings import Settings
from sinks import metrics
from sinks.clickhouse import ClickHouseWriter
from sinks.consumer import Sink, make_consumer
from sinks.landings import LANDINGS

# ClickHouse's "unknown user", "wrong password", "password required", "authentication failed"
LOGIN_REFUSED = {192, 193, 194, 516}


# How long the login check at start waits for ClickHouse's answer. It runs before the
# watchdog can: with the client's 60 s, a server that accepts connections and never answers
# held a starting sink unwatched for a minute (seen: the hung-connection test's sink exited
# 78 s after its start with a 10 s stall bound). No answer is an outage, left to the sink.
LOGIN_CHECK_TIMEOUT_S = 10


def refuse_bad_login(settings: Settings) -> None:
    """Refuse to start when ClickHouse refuses the sink's login (a wrong or missing password)
    instead of failing at the first batch. Unreachable or silent is fine here: the sink waits
    for ClickHouse to come back."""
    from clickhouse_driver import errors as ch_errors

    from sinks.clickhouse import connect, describe

    client = connect(settings, send_receive_timeout=LOGIN_CHECK_TIMEOUT_S)
    try:
        client.execute("SELECT 1")
    except ch_errors.ServerException as exc:
        if exc.code in LOGIN_REFUSED:
            raise StartRefused(
                f"ClickHouse refused the login of {settings.clickhouse_user} ({describe(exc)}); "
                "set HAOCHAPING_CLICKHOUSE_PASSWORD (make up generates it: .deploy/secrets.env)"
            ) from None
    except Exception:  # an outage: the sink's own retries report it
        pass
    finally:
        client.disconnect()


def run_sink(settings: Settings, say: Say, idle_exit_s: float | None = None) -> None:
    """Land ratings.valid, ratings.rejected, satisfaction.windows and the other landings in
    ClickHouse until stopped (or idle for ``idle_exit_s``)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    # the sink says what an outage means in one line of its own; the clients' tracebacks
    # and rebalance chatter would bury it
    logging.getLogger("clickhouse_driver").setLevel(logging.CRITICAL)
    logging.getLogger("kafka").setLevel(logging.ERROR)
    topics = [landing.topic(settings) for landing in LANDINGS]
    refuse_bad_login(settings)
    writer = ClickHouseWriter(settings)
    consumer = wait_for(
        f"sink: Kafka at {settings.kafka_bootstrap}",
        lambda: make_consumer(settings, topics),
        say,
    )
    serve_metrics(settings.sink_metrics_port)
    stopping = stop_on_signals()
    runner = Sink(settings, consumer, writer, say=say, should_stop=stopping.is_set)
    watchdog = PollWatchdog(
        LagProbe(settings, topics, settings.sink_group),
        runner,
        stall_s=settings.sink_stall_s,
        say=say,
        lag_gauge=metrics.consumer_lag,
    )
    watchdog.start()
    say(
        f"sink: {', '.join(topics)} → ClickHouse {','.join(settings.clickhouse_servers)}"
        f"/{settings.clickhouse_database}"
    )
    try:
        runner.run(idle_exit_s=idle_exit_s)
    finally:
        watchdog.stop()
        consumer.close()
    say(f"sink: stopped; {runner.rows_landed} rows landed")
