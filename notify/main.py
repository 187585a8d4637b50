"""The notifier's process: deliver alert events to the webhook, at least once, until stopped."""

from __future__ import annotations

import logging
from typing import Any

from notify.delivery import Notifier, consumer_lag, seed_group
from notify.digest import Digests
from notify.incidents import IncidentNotifier
from notify.webhook import WebhookClient
from runtime.kafka_security import kafka_security
from runtime.lifecycle import Say, StartRefused, serve_metrics, stop_on_signals, wait_for
from runtime.poll_watchdog import LagProbe, PollWatchdog
from runtime.settings import Settings
from sinks.consumer import make_consumer


def webhook_client(settings: Settings) -> WebhookClient | None:
    """The configured webhook, or None when HAOCHAPING_WEBHOOK_URL is empty."""
    if not settings.webhook_url:
        return None
    try:
        return WebhookClient(
            settings.webhook_url,
            settings.webhook_format,
            secret=settings.webhook_secret.get_secret_value(),
            timeout_s=settings.webhook_timeout_s,
        )
    except ValueError as exc:
        raise StartRefused(f"HAOCHAPING_WEBHOOK_*: {exc}") from None


def connect(settings: Settings, topic: str | None = None, group: str | None = None) -> Any:
    """The notifier's consumer of ``topic`` (alerts.spikes), its group first seeded to the
    look-back window."""
    from kafka import KafkaConsumer

    topic, group = topic or settings.topic_alerts, group or settings.notify_group
    seeder = KafkaConsumer(
        bootstrap_servers=settings.kafka_servers,
        group_id=group,
        enable_auto_commit=False,
        client_id="haochaping-notify-seed",
        **kafka_security(settings),
    )
    try:
        seed_group(seeder, topic, settings.notify_lookback_minutes * 60)
    finally:
        seeder.close()
    return make_consumer(settings, [topic], group=group, client_id="haochaping-notify")


def surge_runner(
    settings: Settings, consumer: Any, client: WebhookClient, say: Say, should_stop: Any
) -> Notifier | IncidentNotifier:
    """Every event as it comes for a machine (generic); one message per incident for a chat
    robot (notify/incidents.py)."""
    if client.fmt == "generic":
        return Notifier(consumer, client, say=say, should_stop=should_stop)
    digests = Digests(settings.webhook_group_wait_s, settings.webhook_group_interval_s)
    return IncidentNotifier(consumer, client, digests, say=say, should_stop=should_stop)


def run_notify(settings: Settings, say: Say, idle_exit_s: float | None = None) -> None:
    client = webhook_client(settings)
    serve_metrics(settings.notify_metrics_port)
    stopping = stop_on_signals()
    if client is None:
        # Idle until stopped rather than exit: a supervisor would restart a program that
        # ends at once, again and again.
        say("notify: no webhook configured (HAOCHAPING_WEBHOOK_URL is empty); idle")
        stopping.wait(idle_exit_s)
        say("notify: stopped")
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)
    consumer = wait_for(
        f"notify: Kafka at {settings.kafka_bootstrap}", lambda: connect(settings), say
    )
    runner = surge_runner(settings, consumer, client, say, stopping.is_set)
    watchdog = PollWatchdog(
        LagProbe(settings, [settings.topic_alerts], settings.notify_group),
        runner,
        stall_s=settings.notify_stall_s,
        say=say,
        who="notify",
        done="alert events settled",
        lag_gauge=consumer_lag,
    )
    watchdog.start()
    grouped = (
        ""
        if client.fmt == "generic"
        else f", one message per incident (waits {settings.webhook_group_wait_s:g} s)"
    )
    say(
        f"notify: {settings.topic_alerts} → {settings.webhook_format} webhook at "
        f"{client.where}{grouped}"
    )
    try:
        runner.run(idle_exit_s=idle_exit_s)
    finally:
        watchdog.stop()
        consumer.close()
    say(f"notify: stopped; {runner.delivered} alert events delivered")


def case_clients(settings: Settings) -> dict[str, WebhookClient]:
    """One client per configured department URL ("*": every other department)."""
    try:
        return {
            department: WebhookClient(
                url, settings.case_webhook_format, timeout_s=settings.webhook_timeout_s
            )
            for department, url in settings.case_webhooks.items()
        }
    except ValueError as exc:
        raise StartRefused(f"HAOCHAPING_CASE_WEBHOOKS: {exc}") from None


def run_case_notify(settings: Settings, say: Say, idle_exit_s: float | None = None) -> None:
    """alerts.cases → the departments' webhooks, grouped (notify/cases.py)."""
    from notify.cases import CaseNotifier

    clients = case_clients(settings)
    serve_metrics(settings.notify_cases_metrics_port)
    stopping = stop_on_signals()
    if not clients:
        say("notify (cases): no department webhook (HAOCHAPING_CASE_WEBHOOKS is empty); idle")
        stopping.wait(idle_exit_s)
        return
    group = f"{settings.notify_group}-cases"
    consumer = wait_for(
        f"notify (cases): Kafka at {settings.kafka_bootstrap}",
        lambda: connect(settings, settings.topic_case_warnings, group),
        say,
    )
    runner = CaseNotifier(
        consumer,
        lambda department: clients.get(department) or clients.get("*"),
        Digests(settings.case_group_wait_s, settings.case_group_interval_s),
        say=say,
        should_stop=stopping.is_set,
    )
    watchdog = PollWatchdog(
        LagProbe(settings, [settings.topic_case_warnings], group),
        runner,
        stall_s=settings.notify_stall_s,
        say=say,
        who="notify (cases)",
        done="case warnings settled",
    )
    watchdog.start()
    say(f"notify (cases): {settings.topic_case_warnings} → {len(clients)} department webhook(s)")
    try:
        runner.run(idle_exit_s=idle_exit_s)
    finally:
        watchdog.stop()
        consumer.close()
    say(f"notify (cases): stopped; {runner.delivered} case warnings delivered")
