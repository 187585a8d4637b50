"""`haochaping simulate`: realistic evaluations from every channel to ratings.raw."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from haochaping.cli.common import (
    MAX_COUNT,
    MAX_RATE,
    MAX_SEED,
    cli,
    console,
    fail,
    one_line_errors,
    out,
)
from runtime.kafka_security import kafka_security
from runtime.settings import Settings, get_settings

# where `haochaping --help` lists these commands
PANEL = "Test data"


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


Count = Annotated[int, typer.Option(min=1, max=MAX_COUNT, help="how many messages to send")]
Rate = Annotated[
    float,
    typer.Option(min=0, max=MAX_RATE, help="messages per second; 0 sends as fast as possible"),
]
Seed = Annotated[
    int, typer.Option(min=0, max=MAX_SEED, help="random seed: the same seed sends the same data")
]
Scenario = Annotated[str, typer.Option(help="steady | surge | duplicates | malformed | mixed")]
SurgeDepartment = Annotated[
    str | None, typer.Option(help="department code whose bad reviews surge")
]
SurgeService = Annotated[str | None, typer.Option(help="service code whose bad reviews surge")]
Start = Annotated[
    str | None,
    typer.Option(
        help="event time of the first message (ISO-8601 with offset, or -45m for 45 "
        "minutes ago); default: live timestamps"
    ),
]
OfficeHours = Annotated[
    bool,
    typer.Option(
        "--office-hours",
        help="with --start: follow the working-hours rhythm (weekday 9–17 peak, lunch dip, "
        "quiet nights and weekends) instead of a constant rate",
    ),
]
EventRate = Annotated[
    float | None,
    typer.Option(
        min=0.001,
        max=MAX_RATE,
        help="with --start: evaluations per second of event time (default: --rate, or 5); "
        "lets an hour of traffic be replayed in seconds",
    ),
]
SummaryFile = Annotated[
    Path | None,
    typer.Option(
        help="also write what was sent as JSON: counts by kind, the distinct valid "
        "evaluations the pipeline must land, the surge department"
    ),
]
ArrivalDelays = Annotated[
    bool,
    typer.Option(
        "--arrival-delays",
        help="evaluations arrive as in practice: online in seconds, SMS and hotline hours "
        "later, hall pads in bursts after an outage (evaluated_at lies that much before "
        "the send)",
    ),
]


Transactions = Annotated[
    bool,
    typer.Option(
        "--transactions/--no-transactions",
        help="also send each evaluation's 办件 and the 办件 of its service item and place that "
        "nobody rated to transactions.done, before the evaluation (planted fakes have none)",
    ),
]


@cli.command(rich_help_panel=PANEL)
def simulate(
    count: Count = 10_000,
    rate: Rate = 0,
    seed: Seed = 42,
    scenario: Scenario = "steady",
    surge_department: SurgeDepartment = None,
    surge_service: SurgeService = None,
    start: Start = None,
    office_hours: OfficeHours = False,
    event_rate: EventRate = None,
    summary_file: SummaryFile = None,
    arrival_delays: ArrivalDelays = False,
    transactions: Transactions = True,
) -> None:
    """Send realistic evaluations from every channel to ratings.raw (and their 办件 to
    transactions.done)."""
    from channels.simulation import SCENARIOS, Simulator
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
    from channels.simulation.transactions import TransactionMaker

    tally = SentTally()
    maker = TransactionMaker(seed) if transactions else None
    _send(settings, messages, tally, count=count, rate=rate, maker=maker)
    out.print(f"sent {count} messages to {settings.topic_raw}: {tally.line()}")
    if maker is not None:
        out.print(f"sent {tally.transactions} 办件 to {settings.topic_transactions}")
    if summary_file is not None:
        surging = surge_department or simulator.default_surge_department.code
        summary_file.write_text(tally.to_json(surging))


def _send(
    settings: Settings, messages: Any, tally: Any, *, count: int, rate: float, maker: Any
) -> None:
    from channels.producer import ChannelProducer, DeliveryFailed

    with one_line_errors(settings):
        producer = ChannelProducer(
            settings.kafka_servers, settings.topic_raw, **kafka_security(settings)
        )
        done = None
        if maker is not None:
            done = ChannelProducer(
                settings.kafka_servers, settings.topic_transactions, **kafka_security(settings)
            )
            messages = _with_transactions(messages, maker, done, tally)
        try:
            _send_paced(producer, messages, tally, count=count, rate=rate)
        except OverflowError:  # event times are made as they are sent
            fail(PAST_THE_CALENDAR)
        try:
            producer.close()
            if done is not None:
                done.close()
        except DeliveryFailed as exc:
            fail(str(exc))


def _with_transactions(messages: Any, maker: Any, done: Any, tally: Any) -> Any:
    """The messages, each valid evaluation's 办件 sent just before it (a 办件 is completed
    before it is rated; planted fakes have none: nobody was served)."""
    import json

    for message in messages:
        if message.kind == "valid" and not message.planted:
            for transaction in maker.for_evaluation(json.loads(message.value)):
                done.send_raw(
                    transaction["transaction_id"].encode(),
                    json.dumps(transaction, ensure_ascii=False).encode(),
                )
                tally.transactions += 1
        yield message


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
