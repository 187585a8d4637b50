"""The worker's timers: what runs by the wall clock, not by the arrival of records.

- ``heartbeats``: event-time clocks go on when traffic stops (issue 26)
- ``invite``: 办件 left unrated are invited (issue 28)
- ``expire_state`` / ``release_held``: state past its horizon, records held ahead of a gap
- :class:`Watchdog`: lag metrics, and an exit when input waits with nothing processed
- ``progress lines``: one log line every 10 s, one printed line a minute
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from runtime.watchdog import StallDetector, exit_stalled
from streams import metrics
from streams.ingest.step import HEARTBEAT_EVERY_S
from streams.topology import evaluated_topic, follow_up_inputs
from streams.worker.diagnosis import stall_evidence
from streams.worker.gaps import fill_gaps
from streams.worker.kafka import committed_offsets
from streams.worker.progress import read_through

if TYPE_CHECKING:
    from streams.worker.app import Worker

log = logging.getLogger("haochaping.worker")

# table recovery replays changelogs; even a city's month of state recovers well within this
REBALANCE_BOUND_S = 300
# how often unrated 办件 that came due are invited: an invitation waits for days anyway
INVITE_EVERY_S = 5.0


def watched_partitions(worker: Worker) -> list[Any]:
    """The input the watchdog watches: every topic this process's agents read (ratings.raw
    for the ingest half, the follow-up inputs for the other; both in one process), so an
    agent that stops taking work shows whichever half it belongs to."""
    topics: set[str] = set()
    if worker.runs_ingest:
        topics.add(worker.settings.topic_raw)
    if worker.runs_follow_up:
        topics.update(follow_up_inputs(worker.settings))
    return [tp for tp in worker.app.consumer.assignment() if tp.topic in topics]


def start_timers(worker: Worker) -> None:
    if worker.runs_ingest:
        _surge_heartbeat(worker)
        _release_held(worker)
    if worker.runs_follow_up:
        _case_clock(worker)
        if worker.invitations.on:
            _invitations(worker)
    _expire_state(worker)
    dog = Watchdog(worker)

    @worker.app.timer(interval=10.0)
    async def watchdog() -> None:
        await dog.look()

    _progress_lines(worker)


def _surge_heartbeat(worker: Worker) -> None:
    """The ingest half says which ratings.raw partitions it has read to the end, so the surge
    clock (streams/surges/minutes.py) goes on when traffic stops."""
    ingest = worker.ingest

    def source(tp: Any) -> int:
        return ingest.source_of(tp.topic, tp.partition)

    @worker.app.timer(interval=HEARTBEAT_EVERY_S)
    async def surge_heartbeat() -> None:
        # one look at the ends of both ingest topics
        read = await read_to_end(worker, worker.inputs["ingest"].topics, ingest.read_to, source)
        if read is not None and worker.direct is not None:
            read = read[0], read[1] + await worker.direct.read_to_end(ingest.read_to)
        if read is not None and ingest.heartbeat(read[1], read[0]):
            await worker.send()


def _case_clock(worker: Worker) -> None:
    """The follow-up half moves the case clock of cases.events partitions read to the end."""

    @worker.app.timer(interval=HEARTBEAT_EVERY_S)
    async def case_clock() -> None:
        read = await read_to_end(
            worker, (worker.settings.topic_cases,), worker.cases.read_to, lambda tp: tp.partition
        )
        if read is not None:
            worker.cases.advance(read[1], read[0])
            await worker.send()


def _invitations(worker: Worker) -> None:
    """Invite the 办件 that came due (streams/invitations/), in the partitions whose evaluated
    records are read to the end: an evaluation the ingest step already passed on is never
    missed for want of reading it."""
    topic = evaluated_topic(worker.settings)

    @worker.app.timer(interval=INVITE_EVERY_S)
    async def invite() -> None:
        read = await read_to_end(
            worker, (topic,), worker.invitations.read_to, lambda tp: tp.partition
        )
        if read is None:
            return
        wall, partitions = read
        try:
            worker.invitations.send_due(wall, partitions)
            worker.invitations.expire(wall, partitions)
        except Exception:  # a timer that raises stops the worker; the next look tries again
            log.exception("inviting failed; trying again in %.0f s", INVITE_EVERY_S)
        await worker.send()


async def read_to_end(
    worker: Worker,
    topics: Collection[str],
    read_to: Callable[[int], int],
    source: Callable[[Any], int],
) -> tuple[float, list[int]] | None:
    """The wall clock of a look at the ends of this worker's partitions of ``topics``, taken
    before it, and the sources (``source`` of a topic partition, as ``read_to`` takes them)
    whose every record then is processed; None when there is nothing to look at (no
    partition, a rebalance, the broker not answering)."""
    app = worker.app
    if getattr(app, "in_recovery", False) or app.rebalancing:
        return None
    assigned = [tp for tp in app.consumer.assignment() if tp.topic in topics]
    if not assigned:
        return None
    wall = time.time()
    try:
        ends = await app.consumer.highwaters(*assigned)
    except Exception as exc:  # the next look tries again; a timer that raises ends the worker
        log.warning("%s: end offsets unavailable (%s)", ", ".join(topics), exc)
        return None
    # a partition this process has read nothing of is read to its end if the group's
    # committed offset is (it started since, and nothing came)
    committed = committed_offsets(app)
    done = read_through(ends, lambda tp: read_to(source(tp)), lambda tp: committed.get(tp) or 0)
    return wall, [source(tp) for tp in done]


def _expire_state(worker: Worker) -> None:
    @worker.app.timer(interval=30.0)
    async def expire_state() -> None:
        try:
            if worker.runs_ingest:
                worker.ingest.expire()
            if worker.runs_follow_up:
                worker.screening.expire()
        except Exception:  # a timer that raises stops the worker; expiry can wait a round
            log.exception("expiring state failed; trying again in 30 s")
        await worker.send()


def _release_held(worker: Worker) -> None:
    @worker.app.timer(interval=5.0)
    async def release_held() -> None:
        # records held back ahead of a gap (IngestStep.process) must not wait for ever: the
        # gap is fetched (streams/worker/gaps.py); what is still missing after HOLD_S is gone
        if not worker.ingest.held:
            return
        try:
            fetched = await fill_gaps(worker)
        except Exception:  # a timer that raises stops the worker; the next round tries again
            log.exception("fetching a gap failed; trying again in 5 s")
            fetched = 0
        if worker.ingest.release_overdue().accepted or fetched:
            await worker.send()


class Watchdog:
    """Lag metrics, and an exit with STALLED (75) when input waits with nothing processed.

    A worker whose consumer silently stops fetching after a rebalance would hold its
    partitions forever. When new records have waited ``worker_stall_s`` with no batch
    processed, the process exits so the supervisor starts a fresh one, which resumes from the
    committed offsets: at-least-once, and every step is idempotent. The evidence of the stall
    is logged first (streams/worker/diagnosis.py)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        # one per input topic: a follow-up worker's three agents can each hang on their own
        self.stalls: dict[str, StallDetector] = {}
        # how long a rebalance or table recovery has lasted
        self.rebalance = StallDetector(
            worker.settings.worker_stall_s, pause_bound_s=REBALANCE_BOUND_S
        )

    def stall_of(self, topic: str) -> StallDetector:
        if topic not in self.stalls:
            self.stalls[topic] = StallDetector(
                self.worker.settings.worker_stall_s, pause_bound_s=REBALANCE_BOUND_S
            )
        return self.stalls[topic]

    async def look(self) -> None:
        app = self.worker.app
        if getattr(app, "in_recovery", False) or app.rebalancing:
            self._paused()
            return
        self.rebalance.resume()
        assigned = watched_partitions(self.worker)
        direct = self.worker.direct
        if not assigned and not (direct is not None and direct.owned):
            for stall in self.stalls.values():
                stall.pause()
            return
        ends = dict(await app.consumer.highwaters(*assigned)) if assigned else {}
        # A backlog there at start counts as waiting input too (seen: a fresh worker that
        # never fetched the evaluations sent before its first look). Faust keeps the
        # committed offsets as Kafka does: the next offset to read.
        committed = committed_offsets(app)
        positions = {tp: committed.get(tp) or 0 for tp in ends}
        if direct is not None:
            raw_ends = await direct.ends()
            ends.update(raw_ends)
            positions.update({tp: direct.committed.get(tp.partition, 0) for tp in raw_ends})
        self._publish_lag(ends, positions)
        self._judge(ends, positions)

    def _paused(self) -> None:
        # known Faust and aiokafka hangs happen in a rebalance, so a pause has a bound too
        now = time.monotonic()
        for stall in self.stalls.values():
            stall.pause(now)
        if self.rebalance.pause(now):
            log.error("stall evidence:\n%s", stall_evidence(self.worker.app))
            exit_stalled("worker", REBALANCE_BOUND_S)

    def _publish_lag(self, ends: Mapping[Any, int], positions: Mapping[Any, int]) -> None:
        for tp, end in ends.items():
            lag = max(0, end - positions[tp])
            if tp.topic == self.worker.settings.topic_raw:
                metrics.consumer_lag.labels(partition=str(tp.partition)).set(lag)
            else:
                metrics.follow_up_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(lag)

    def _judge(self, ends: Mapping[Any, int], positions: Mapping[Any, int]) -> None:
        now, progress = time.monotonic(), self.worker.progress
        for topic in {tp.topic for tp in ends}:
            mine = {tp: end for tp, end in ends.items() if tp.topic == topic}
            last = progress.last_batch_at(topic)
            if self.stall_of(topic).stalled(mine, last, now, positions=positions):
                log.error("stall evidence (%s):\n%s", topic, stall_evidence(self.worker.app))
                exit_stalled("worker", self.worker.settings.worker_stall_s)


def _progress_lines(worker: Worker) -> None:
    app, progress = worker.app, worker.progress

    @app.timer(interval=10.0)
    async def report_progress() -> None:
        # one info line every 10 s: what this worker owns and whether it moves
        consumer = app.consumer
        watched = watched_partitions(worker)
        paused = set(getattr(consumer, "_paused_partitions", ())) & set(watched)
        if worker.direct is not None:  # ratings.raw's, read outside Faust
            watched += worker.direct.partitions()
        log.info(
            "progress: %d batches, last %.0fs ago; partitions %s (paused %s); flow %s",
            progress.batches,
            time.monotonic() - progress.at,
            sorted(f"{tp.topic}:{tp.partition}" for tp in watched),
            sorted(f"{tp.topic}:{tp.partition}" for tp in paused),
            "active" if getattr(consumer, "flow_active", True) else "suspended",
        )

    @app.timer(interval=60.0)
    async def say_progress() -> None:
        # at the default level too: one line a minute says the worker is alive and moving
        done = progress.evaluations
        # a follow-up worker counts the records it read (bundles of partials and facts, cases)
        unit = "evaluations" if worker.runs_ingest else "records"
        print(
            f"worker ({worker.settings.worker_role}): {done - progress.reported} {unit} "
            "in the last minute, "
            f"{done} since start; last batch {time.monotonic() - progress.at:.0f}s ago",
            flush=True,
        )
        progress.reported = done
