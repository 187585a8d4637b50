"""`make soak`: restart everything, again and again, and check the numbers after each time.

Each cycle sends a batch of evaluations (valid ones, duplicates, malformed messages), then
restarts the worker and the sink (SIGTERM on even cycles, SIGKILL on odd ones), restarts
ClickHouse on every third cycle, and SIGKILLs the Kafka broker once, halfway, before starting
it again. It then waits until ClickHouse holds exactly the evaluations and window counts sent
so far (computed independently, as the integration tests do). A cycle whose numbers are not
exact within 90 s of the last restart is a stall that was not recovered.

Runs on the local services of `make services` (their pid files in .deploy/), on topics and a
database of its own, deleted at the end. The worker and the sink are restarted when they exit
with 75, as their supervisor would. Not part of `make test`: 30 cycles take 20 to 40 minutes.

    python -m tests.soak.run [--cycles 30] [--per-cycle 400] [--recover-s 90]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from channels.simulation import SimulatedMessage, Simulator
from runtime.settings import Settings
from tests.integration.expected import (
    LANDED_WINDOWS,
    expected_windows,
    landed_windows,
    unique_valid_evaluations,
)
from tests.integration.harness import Service, cleanup, prepare, scalar, send, unique_settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "deploy" / "services.sh"
console = Console()
EXITS: list[int] = []  # exit statuses of restarted processes (75: a watchdog saw a stall)


@dataclass
class Cycle:
    number: int
    disruptions: str
    sent: int
    expected_evaluations: int
    landed_evaluations: int
    exact: bool
    recovered_s: float | None  # from the last restart to exact numbers; None: not within bound
    watchdog_restarts: int


def pid_of(service: str) -> int:
    name = {"kafka": "kafka/kafka.pid", "clickhouse": "clickhouse/clickhouse.pid"}[service]
    return int((ROOT / ".deploy" / name).read_text().strip())


def services_up() -> None:
    subprocess.run(["bash", str(SERVICES), "up"], check=True, capture_output=True, timeout=300)


def kill_and_wait(pid: int, sig: signal.Signals, timeout: float = 60) -> None:
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def restart_clickhouse() -> None:
    kill_and_wait(pid_of("clickhouse"), signal.SIGTERM)
    services_up()


def kill_broker() -> None:
    kill_and_wait(pid_of("kafka"), signal.SIGKILL)
    services_up()


def supervised(settings: Settings, command: str, log: Path) -> Service:
    return Service(settings, command, log, max_restarts=1000, restart_any_exit=True)


def restart(service: Service, settings: Settings, command: str, log: Path, kill: bool) -> Service:
    if kill:
        service.kill()
    else:
        service.stop()
    EXITS.extend(service.exits)
    return supervised(settings, command, log)


def one_per_round(messages: list[SimulatedMessage]) -> dict[str, dict]:
    """The valid evaluations that must land: each evaluation id once, and each transaction's
    round once (一次一评). Cycles use different simulator seeds, whose transaction ids can
    meet; the first sent of a round counts and the pipeline rejects the later ones."""
    found: dict[str, dict] = {}
    rounds: set[tuple[str, int]] = set()
    for evaluation in unique_valid_evaluations(messages).values():
        transaction = evaluation.get("transaction_id")
        if transaction:
            round_key = (transaction, int(evaluation.get("evaluation_round", 1)))
            if round_key in rounds:
                continue
            rounds.add(round_key)
        found[evaluation["evaluation_id"]] = evaluation
    return found


def exact(client: object, evaluations: int, windows: dict) -> tuple[bool, int]:
    try:
        landed = scalar(client, "SELECT count() FROM ratings FINAL")  # type: ignore[arg-type]
        if landed != evaluations:
            return False, landed
        rows = client.execute(LANDED_WINDOWS)  # type: ignore[attr-defined]
        return landed_windows(rows) == windows, landed
    except Exception:  # ClickHouse restarting: not yet
        return False, -1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=30, choices=range(1, 1001), metavar="N")
    parser.add_argument(
        "--per-cycle", type=int, default=400, choices=range(10, 100_001), metavar="N"
    )
    parser.add_argument("--recover-s", type=float, default=90.0)
    parser.add_argument("--give-up-s", type=float, default=300.0, help="longest wait per cycle")
    parser.add_argument(
        "--keep", action="store_true", help="keep the topics and the database for a look"
    )
    args = parser.parse_args()
    broker_cycle = max(1, args.cycles // 2)

    work = Path(tempfile.mkdtemp(prefix="haochaping-soak-"))
    settings = unique_settings(work)
    client = prepare(settings)
    worker = supervised(settings, "worker", work / "worker.log")
    sink = supervised(settings, "sink", work / "sink.log")
    messages: list[SimulatedMessage] = []
    results: list[Cycle] = []
    console.print(f"soak: {args.cycles} cycles, logs in {work}")
    try:
        for number in range(1, args.cycles + 1):
            batch = list(
                # event time in the past hour, never in the future (that is rejected)
                Simulator(seed=10_000 + number).stream(
                    args.per_cycle,
                    scenario="mixed",
                    start=datetime.now(UTC) - timedelta(minutes=50),
                    rhythm=False,
                )
            )
            messages += batch
            half = len(batch) // 2
            send(settings, ((m.key, m.value) for m in batch[:half]))
            kill = number % 2 == 1
            done = ["worker+sink " + ("SIGKILL" if kill else "SIGTERM")]
            worker = restart(worker, settings, "worker", work / "worker.log", kill)
            sink = restart(sink, settings, "sink", work / "sink.log", kill)
            if number % 3 == 0:
                restart_clickhouse()
                done.append("ClickHouse restart")
            if number == broker_cycle:
                kill_broker()
                done.append("broker SIGKILL")
            send(settings, ((m.key, m.value) for m in batch[half:]))
            restarted_at = time.monotonic()

            evaluations = one_per_round(messages)
            windows = expected_windows(evaluations.values())
            recovered: float | None = None
            landed = -1
            while time.monotonic() - restarted_at < args.give_up_s:
                ok, landed = exact(client, len(evaluations), windows)
                if ok:
                    recovered = time.monotonic() - restarted_at
                    break
                worker.alive()
                sink.alive()  # restart on exit 75, as the supervisor does
                time.sleep(1.0)
            cycle = Cycle(
                number=number,
                disruptions=", ".join(done),
                sent=len(batch),
                expected_evaluations=len(evaluations),
                landed_evaluations=landed,
                exact=recovered is not None,
                recovered_s=round(recovered, 1) if recovered is not None else None,
                watchdog_restarts=len(EXITS) + len(worker.exits) + len(sink.exits),
            )
            results.append(cycle)
            state = (
                f"exact after {cycle.recovered_s:.1f}s"
                if recovered is not None
                else f"NOT exact after {args.give_up_s:.0f}s ({landed} of {len(evaluations)})"
            )
            console.print(f"cycle {number:2d}: {cycle.disruptions}: {state}", highlight=False)
            if recovered is None:
                # the counts are checked from the start: every later cycle would fail too
                console.print("soak: stopping at the first cycle whose numbers are not exact")
                break
    finally:
        worker.stop()
        sink.stop()
        if args.keep:
            console.print(
                f"kept: database {settings.clickhouse_database}, topics t…{settings.app_id}"
            )
        else:
            cleanup(settings)
    return report(results, args.recover_s, work)


def report(results: list[Cycle], bound_s: float, work: Path) -> int:
    table = Table("cycle", "disruptions", "evaluations", "exact", "recovered (s)", "restarts")
    for c in results:
        table.add_row(
            str(c.number),
            c.disruptions,
            f"{c.landed_evaluations}/{c.expected_evaluations}",
            "yes" if c.exact else "NO",
            "-" if c.recovered_s is None else f"{c.recovered_s:.1f}",
            str(c.watchdog_restarts),
        )
    console.print(table)
    times = [c.recovered_s for c in results if c.recovered_s is not None]
    slow = [c.number for c in results if c.recovered_s is None or c.recovered_s > bound_s]
    summary = {
        "cycles": len(results),
        "exact": sum(c.exact for c in results),
        "median_recovery_s": statistics.median(times) if times else None,
        "max_recovery_s": max(times) if times else None,
        f"not_recovered_within_{bound_s:.0f}s": slow,
        "restarts_by_supervisor": results[-1].watchdog_restarts if results else 0,
        "exit_statuses_restarted": EXITS,
        "cycles_detail": [asdict(c) for c in results],
    }
    out = ROOT / ".data" / "soak" / f"soak-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    console.print(
        f"soak: {summary['exact']} of {len(results)} cycles exact; recovery median "
        f"{summary['median_recovery_s']} s, max {summary['max_recovery_s']} s; "
        f"not recovered within {bound_s:.0f}s: {slow or 'none'}; "
        f"restarts by the supervisor: {summary['restarts_by_supervisor']}; "
        f"details in {out}; logs in {work}",
        highlight=False,
    )
    return 0 if not slow else 1


if __name__ == "__main__":
    sys.exit(main())
