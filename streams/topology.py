"""The worker's routes, written once: which topic each step reads, in which role, how wide.

The Faust agents (streams/worker/app.py), the revocation hook, ``haochaping topics`` and the
in-memory harness (streams/testing.py) all read :func:`routes` and hand batches over with
:func:`feed`, so the harness tests the routing production runs (as bytewax's testing source
and sink run the production dataflow).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from runtime.settings import Settings
from streams.records import Record
from streams.screening.facts import unbundle_facts
from streams.surges.minutes import unbundle

if TYPE_CHECKING:
    from streams.pipeline import Steps

StepName = Literal["ingest", "surges", "screening", "cases", "transactions", "invitations"]
Role = Literal["ingest", "follow-up"]


def surge_minutes_topic(settings: Settings) -> str:
    return f"{settings.app_id}-surge-minutes"


def rekeyed_topic(settings: Settings) -> str:
    """Mis-keyed evaluations, at their home partition (streams/ingest/rekey.py)."""
    return f"{settings.app_id}-ratings-rekeyed"


def screen_facts_topic(settings: Settings) -> str:
    return f"{settings.app_id}-screen-facts"


def evaluated_topic(settings: Settings) -> str:
    """Evaluated transactions, bundled at their transaction's home partition: what the
    invitations step joins the 办件 with (streams/invitations/evaluated.py)."""
    return f"{settings.app_id}-evaluated"


def changelog_topic(app_id: str, table: str) -> str:
    """The changelog topic of a worker's table: named by the pipeline's app id, not the
    process's, so the same state whichever role's process keeps it (a follow-up worker's
    Faust id has a suffix of its own)."""
    return f"{app_id}-{table}-changelog"


def changelogged_tables(settings: Settings) -> dict[str, int]:
    """The worker's tables with a changelog of their own, and their partitions (the window
    table's changelog is satisfaction.windows, a contract topic). ``haochaping topics``
    creates these changelogs before a worker starts: one Faust creates as it starts can miss
    its group's first assignment ("Ignoring missing topic", seen in a fresh `make demo`)."""
    partitions = settings.topic_partitions
    return {"dedupe": partitions, "cases": partitions, "surge": 1, "invitations": partitions}


def follow_up_group(settings: Settings) -> str:
    """The Faust id, and so the consumer group, of a worker run with ``--role follow-up``.
    It needs a group of its own: its members read other topics than the ingest worker's, and
    Faust's assignor expects every member of a group to read the same ones."""
    return f"{settings.app_id}-follow-up"


def raw_group(settings: Settings) -> str:
    """The group whose offsets the direct reader of ratings.raw commits (no member ever
    joins it: streams/worker/direct.py)."""
    return f"{settings.app_id}-raw"


def raw_committer(settings: Settings) -> str:
    """The group whose committed offsets say how far ratings.raw is processed: the direct
    reader's, or the app's when Faust's agent reads it."""
    return raw_group(settings) if settings.reads_raw_directly else settings.app_id


def faust_routes_of(settings: Settings, step: StepName) -> list[Route]:
    """The routes Faust's agent of ``step`` reads: all of them, but ratings.raw when the
    direct reader reads it."""
    direct = settings.reads_raw_directly
    return [r for r in routes_of(settings, step) if not (direct and r.topic == settings.topic_raw)]


def follow_up_inputs(settings: Settings) -> list[str]:
    """What the follow-up agents read: what the ingest step writes, and the 办件
    (transactions.done) with what the transactions step writes of them."""
    return list(dict.fromkeys(r.topic for r in routes(settings) if r.role == "follow-up"))


@dataclass(frozen=True, slots=True)
class Route:
    topic: str
    partitions: int
    step: StepName
    role: Role
    batch: int  # records an agent takes at most per batch


def routes(settings: Settings) -> list[Route]:
    p = settings.topic_partitions
    return [
        Route(settings.topic_raw, p, "ingest", "ingest", settings.batch_size),
        # mis-keyed evaluations at their home partition (streams/ingest/rekey.py), read
        # partition for partition beside ratings.raw by the same agent
        Route(rekeyed_topic(settings), p, "ingest", "ingest", settings.batch_size),
        # merged minute counts, a few hundred records a second at most: one partition, so one
        # worker judges every key of a dimension together
        Route(surge_minutes_topic(settings), 1, "surges", "follow-up", 1000),
        Route(settings.topic_cases, p, "cases", "follow-up", 1000),
        # people's actions on cases, keyed by case_id like cases.events: read partition for
        # partition beside it, so an action is judged against its case as the events left it
        Route(settings.topic_case_actions, p, "cases", "follow-up", 1000),
        # one partition too, so one screener sees every evaluator, device and network
        Route(screen_facts_topic(settings), 1, "screening", "follow-up", 2000),
        # 办件 from the business systems (issue 28): checked, no state, so any partitioning
        Route(settings.topic_transactions, p, "transactions", "follow-up", 2000),
        # 办件 and evaluated transactions, both partitioned by transaction_id: read partition for
        # partition, so each transaction's two sides meet in one entry (streams/invitations/)
        Route(settings.topic_transactions_valid, p, "invitations", "follow-up", 2000),
        Route(evaluated_topic(settings), p, "invitations", "follow-up", 2000),
    ]


def steps_of(settings: Settings, role: Role | None = None) -> list[StepName]:
    """The steps the routes lead to, in route order; those of ``role`` only, if given."""
    return list(dict.fromkeys(r.step for r in routes(settings) if role in (None, r.role)))


def routes_of(settings: Settings, step: StepName) -> list[Route]:
    return [route for route in routes(settings) if route.step == step]


def feed(steps: Steps, step: StepName, records: list[Record], wall: float | None = None) -> None:
    """Hand one batch of a route's records to its step. ``wall`` is the time of reading
    (None: now), which the in-memory harness sets to its broker clock."""
    if step == "ingest":
        steps.ingest.process(records, wall=wall)
    elif step == "surges":
        # a record carries a batch's partials (streams.surges.minutes.bundle_partials) or a
        # heartbeat; the records' timestamps (when ingest wrote them) tell idle partitions
        partials, heartbeats = unbundle(json.loads(r.value) for r in records if r.value)
        arrived = max((r.timestamp for r in records), default=None)
        steps.surges.process(partials, at=arrived, heartbeats=heartbeats)
    elif step == "screening":
        steps.screening.process(unbundle_facts(r.value for r in records))
    elif step == "transactions":
        steps.transactions.process(records, wall=wall)
    elif step == "invitations":
        steps.invitations.process(records, wall=wall)
    else:
        steps.cases.process(records, wall=wall)


def forget(steps: Steps, step: StepName, partition: int) -> None:
    """Drop what a step keeps in memory for a partition this worker no longer owns: expiry
    must only delete state of partitions it still owns; state in tables is reloaded by
    whoever owns the partition next."""
    if step == "ingest":
        # the rekeyed topic's partition of the same number goes with it (co-partitioned)
        steps.ingest.forget_partition(partition)
    elif step == "surges":
        steps.surges.forget()
    elif step == "screening":
        steps.screening.forget()
    elif step == "transactions":
        pass  # no state
    elif step == "invitations":
        steps.invitations.forget_partition(partition)
    else:
        steps.cases.forget_partition(partition)
