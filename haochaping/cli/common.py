"""What every `haochaping` command shares: the Typer app, the consoles, the bounds of numeric
options, and failures said in one line (never a traceback)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console

from runtime.settings import Settings

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
        fail(kafka_unreachable(settings))
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


def kafka_unreachable(settings: Settings) -> str:
    """What to do when no broker answered: a login-less client finds none since the broker of
    `make up` takes logins only (docs/security.md, Kafka authentication)."""
    message = f"Kafka at {settings.kafka_bootstrap} is unreachable; start it with `make up`"
    if settings.kafka_security_protocol == "PLAINTEXT":
        message += (
            " (its broker takes logins only, on 127.0.0.1:9094: run this from the checkout, "
            "whose .deploy/secrets.env has the login, or set HAOCHAPING_KAFKA_BOOTSTRAP, "
            "_SECURITY_PROTOCOL=SASL_PLAINTEXT, _SASL_USERNAME and _SASL_PASSWORD)"
        )
    return message


def kafka_reachable(settings: Settings) -> None:
    from haochaping.topics import admin_client

    admin_client(settings).close()
