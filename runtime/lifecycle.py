"""What every long-running process shares: waiting for a service to answer, refusing to
start in one line, and stopping cleanly on SIGTERM (supervisord's stop) or SIGINT."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

Say = Callable[[str], None]


class StartRefused(Exception):
    """A process cannot start with this configuration; the message says what to do, and the
    command shows it as one line."""


def wait_for(what: str, probe: Callable[[], Any], say: Say) -> Any:
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


def stop_on_signals() -> threading.Event:
    """An event set on SIGTERM or SIGINT: the process's loop finishes its batch and stops."""
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stopping


def serve_metrics(port: int) -> None:
    """Prometheus metrics of this process on loopback (0: none)."""
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, addr="127.0.0.1")
