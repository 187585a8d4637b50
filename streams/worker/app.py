"""The Faust worker, as wiring only: the app, its topics and tables, and agents that move
batches into the six steps and send what they produced.

- ``ratings.raw`` (and its rekeyed copy) → :class:`streams.ingest.step.IngestStep`;
  ``ratings.raw`` by default through :class:`streams.worker.direct.DirectReader`, outside
  Faust's per-event path, in the partitions Faust assigned of the rekeyed topic
- surge minutes → :class:`streams.surges.step.SurgeStep` (judge, alert)
- ``cases.events`` → :class:`streams.cases.step.CaseStep` (follow up, warn)
- screening facts → :class:`streams.screening.step.ScreenStep` (flag fakes and malice)
- ``transactions.done`` → :class:`streams.transactions.step.TransactionStep` (check 办件)
- 办件 and evaluated ones → :class:`streams.invitations.step.InvitationStep` (主动邀评)

Decisions live in the steps; the Kafka driver in ``kafka``, the timers in ``timers``.
State the steps keep goes through :class:`streams.outbox.ChangelogState`, so every change is
a changelog record sent with the batch, before its offsets are committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import fields
from typing import Any

import faust

from runtime.collector import tune_collector
from runtime.evaluator_secret import evaluator_secret
from runtime.settings import Settings
from streams.outbox import ChangelogState, Outbox
from streams.pipeline import State, StepStates, build_steps
from streams.screening.comments import load_segmenter
from streams.topology import (
    StepName,
    changelogged_tables,
    faust_routes_of,
    feed,
    follow_up_inputs,
    forget,
    rekeyed_topic,
    routes,
    routes_of,
    steps_of,
)
from streams.worker.direct import DirectReader
from streams.worker.gaps import NextOffsets, fill_follow_up_gaps
from streams.worker.kafka import (
    aiokafka_producer,
    committed_offsets,
    faust_app,
    record_of,
    source_partition_table,
    topic_config,
    watch_deliveries,
    windows_changelog,
)
from streams.worker.progress import Progress
from streams.worker.rebuild import rebuild_screening
from streams.worker.timers import start_timers

log = logging.getLogger("haochaping.worker")


class Worker:
    """The Faust app, its topics and tables, and the steps it drives."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runs_ingest = settings.worker_role in ("all", "ingest")
        self.runs_follow_up = settings.worker_role in ("all", "follow-up")
        self.secret = evaluator_secret(settings)
        self.app = faust_app(settings)
        self.outbox = Outbox()
        self.next_offsets = NextOffsets()  # of the follow-up agents' partitions
        # agents and timers hand over in turn, so that records reach Kafka in the order the
        # steps added them (a heartbeat after the partials it vouches for)
        self._handing_over = asyncio.Lock()
        self.progress = Progress(runs_ingest=self.runs_ingest)
        self.progress.follows(follow_up_inputs(settings))
        self._declare_topics()
        self._declare_tables()
        self._build_steps()
        direct = self.runs_ingest and settings.reads_raw_directly
        self.direct = DirectReader(self) if direct else None

    def _declare_topics(self) -> None:
        """One Faust topic per step over the topics it reads (streams/topology.py): an agent
        reads ratings.raw and the rekeyed topic partition for partition, as Faust assigns
        co-partitioned topics of one agent together."""
        self.inputs: dict[StepName, faust.TopicT] = {}
        for step in steps_of(self.settings):
            mine = faust_routes_of(self.settings, step)
            self.inputs[step] = self.app.topic(
                *(route.topic for route in mine),
                partitions=mine[0].partitions,
                # the worker's own one-partition topics Faust may declare too
                internal=step in ("surges", "screening"),
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                config=topic_config(self.settings),
            )
        self.windows_topic = windows_changelog(self.app, self.settings)

    def _table(self, name: str, changelog: Any = None) -> ChangelogState:
        partitions = self.settings.topic_partitions  # the window table's
        if changelog is None:
            partitions = changelogged_tables(self.settings)[name]
        table = source_partition_table(self.app, self.settings, name, partitions, changelog)
        return ChangelogState(table, self.outbox)

    def _declare_tables(self) -> None:
        # a role's process keeps only its own steps' state; the other steps never run there
        ingest, follow_up = {}, {}
        if self.runs_ingest:
            ingest = {
                "windows": self._table("windows", self.windows_topic),
                "dedupe": self._table("dedupe"),
            }
        if self.runs_follow_up:
            follow_up = {name: self._table(name) for name in ("cases", "surge", "invitations")}
        empty: dict[str, State] = {field.name: {} for field in fields(StepStates)}
        self.states = StepStates(**(empty | ingest | follow_up))

    def _build_steps(self) -> None:
        self.steps = build_steps(
            self.settings, secret=self.secret, outbox=self.outbox, states=self.states
        )
        self.ingest, self.cases = self.steps.ingest, self.steps.cases
        self.screening, self.invitations = self.steps.screening, self.steps.invitations

    async def send(self) -> None:
        """Hand over what the steps produced and wait until Kafka has acknowledged it."""
        await asyncio.gather(*await self.hand_over())

    async def hand_over(self) -> list[asyncio.Future[Any]]:
        """What the steps produced, handed to aiokafka; their deliveries, watched."""
        async with self._handing_over:
            deliveries = await self.outbox.hand_over(aiokafka_producer(self.app))
        watch_deliveries(deliveries)
        return deliveries

    def forget_revoked(self, revoked: set[Any]) -> None:
        steps = {route.topic: route.step for route in routes(self.settings)}
        for tp in revoked:
            if tp.topic in steps:
                forget(self.steps, steps[tp.topic], tp.partition)
            self.next_offsets.forget((tp.topic, tp.partition))


def create_app(settings: Settings) -> faust.App:
    worker = Worker(settings)
    load_segmenter()
    tune_collector()
    app = worker.app
    _agents(worker)
    start_timers(worker)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_revoked(sender: Any, revoked: set[Any], **_: Any) -> None:
        if worker.direct is not None:
            await worker.direct.release()
        worker.forget_revoked(revoked)

    if worker.direct is not None:
        _direct_reader(worker, worker.direct)
    return app


def _direct_reader(worker: Worker, reader: DirectReader) -> None:
    """ratings.raw read outside Faust's per-event path (streams/worker/direct.py), its
    partitions those Faust assigned of the rekeyed topic."""
    app, rekeyed = worker.app, rekeyed_topic(worker.settings)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def claim(sender: Any, **_: Any) -> None:
        assigned = {tp.partition for tp in app.consumer.assignment() if tp.topic == rekeyed}
        reader.claim_when_settled(assigned)

    @app.task
    async def read_raw() -> None:
        try:
            await reader.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the worker ends; the next one reads from the commits
            log.exception("the direct reader of %s failed", worker.settings.topic_raw)
            await app.crash(exc)


def _agents(worker: Worker) -> None:
    if worker.runs_ingest:
        _ingest_agent(worker)
    if worker.runs_follow_up:
        for step in steps_of(worker.settings, "follow-up"):
            _follow_up_agent(worker, step)


def _ingest_agent(worker: Worker) -> None:
    app, settings = worker.app, worker.settings

    @app.agent(worker.inputs["ingest"], name="ingest", concurrency=1)
    async def ingest(stream: faust.StreamT) -> None:
        batches = stream.take_events(  # type: ignore[attr-defined]
            settings.batch_size, within=settings.batch_within_s
        )
        # the previous batch's deliveries: awaited only after this batch is processed, so
        # processing overlaps the round trip to Kafka instead of waiting for it (issue 14)
        in_flight: asyncio.Future[Any] | None = None
        async for events in batches:
            started = time.perf_counter()
            committed = committed_offsets(app)
            for tp in {event.message.tp for event in events}:
                if (offset := committed.get(tp)) is not None:
                    source = worker.ingest.source_of(tp.topic, tp.partition)
                    worker.ingest.resumes_at(source, offset)
            feed(worker.steps, "ingest", [record_of(event) for event in events])
            # This batch's events are acknowledged to Faust when the loop comes back, before
            # their outputs are delivered; Faust flushes the producer before every commit, and
            # a delivery that fails ends the process before that commit (watch_deliveries).
            deliveries = await worker.hand_over()
            if in_flight is not None:
                await in_flight
            in_flight = asyncio.gather(*deliveries)
            in_flight.add_done_callback(worker.progress.delivered(len(events), started))


def _follow_up_agent(worker: Worker, step: StepName) -> None:
    route = routes_of(worker.settings, step)[0]  # the cases step reads two, alike
    # as long as ingest waits to fill a batch: what the follow-up half does last in a burst
    # (the screening of its last evaluations) waits no longer than that
    within = worker.settings.batch_within_s

    @worker.app.agent(worker.inputs[step], name=step, concurrency=1)
    async def follow_up(stream: faust.StreamT) -> None:
        batches = stream.take_events(route.batch, within=within)  # type: ignore[attr-defined]
        async for events in batches:
            records = await fill_follow_up_gaps(worker, [record_of(event) for event in events])
            if step == "screening" and not worker.screening.rebuilt:
                await rebuild_screening(worker, min(record.offset for record in records))
            feed(worker.steps, step, records)
            await worker.send()
            for topic in {record.topic for record in records}:
                worker.progress.followed_up(topic, sum(record.topic == topic for record in records))
