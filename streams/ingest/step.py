"""Step 1: one batch of ``ratings.raw`` → accepted or rejected, deduplicated, counted in windows.

One pass over each batch does it all, because every hop through a topic costs Faust's
per-event floor again (FIELD-NOTES). The step decides and writes to its outbox; the agent in
streams/worker/app.py only hands it batches and sends what it produced.

Isolation: whatever the bytes, one message costs at most itself. Anything unexpected while
handling a record becomes a rejection (``internal_error``) and the batch goes on; an
exception leaving the agent would make Faust ack the rest of the batch unprocessed.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from schemas.cases import CaseEvent
from schemas.codes import RejectReason
from schemas.dimensions import DIMENSIONS, SPEC_BY_NAME, SURGE_DIMENSIONS
from schemas.evaluation import Evaluation
from streams import metrics
from streams.cases.book import CasePolicy, case_from_evaluation
from streams.cases.deadlines import WorkingCalendar
from streams.ingest.counts import BadReview, WindowAggregator
from streams.ingest.dedupe import Deduplicator, Verdict
from streams.ingest.perimeter import AcceptedBytes, decide, event_time
from streams.ingest.rekey import (
    REKEYED_BASE,
    contract_key,
    home_partition,
    is_rekeyed,
    origin,
    state_partition,
)
from streams.invitations.evaluated import Evaluated, bundle_evaluated
from streams.outbox import OutboxPort
from streams.records import Record
from streams.rejections import Rejections
from streams.screening.facts import ScreenFact, bundle_facts
from streams.surges.minutes import bundle_partials, heartbeat_record

log = logging.getLogger("haochaping.worker")

# How long records that came ahead of a gap wait for the offsets before it. Around a seek
# those come within a second; offsets deleted by retention never do.
HOLD_S = 20.0
# A gap still open after this long is fetched by the worker itself (streams/worker/gaps.py):
# seen in CI, Faust never delivered the missing offset, and counting the held records after
# HOLD_S lost that evaluation for good.
FETCH_AFTER_S = 3.0

# A source whose evaluated_at is further than this from Kafka's time has a wrong clock (ahead)
# or sends late (behind); it is counted, and each evaluation carries its clock_skew_s.
CLOCK_DRIFT_S = 60

# How often the ingest half says which ratings.raw partitions it has read to the end, so that
# the surge clock goes on when traffic stops (streams/surges/minutes.py, issue 26).
HEARTBEAT_EVERY_S = 5.0

# A replay re-reads at most what was processed since the last offset commit (seconds of
# traffic); closed windows are kept this much longer so a replay never finds them gone.
REPLAY_MARGIN_S = 3600


@dataclass(frozen=True, slots=True)
class IngestTopics:
    valid: str
    cases: str
    minutes: str  # the worker's internal topic of surge-minute partials (one partition)
    # the worker's internal topic of screening facts (one partition); "" sends none
    screen: str = ""
    # the worker's internal topic of mis-keyed evaluations, and ratings.raw's partition count
    # (streams/ingest/rekey.py); "" leaves them where they are
    rekeyed: str = ""
    partitions: int = 1
    # the worker's internal topic of evaluated transactions (streams/invitations/): the
    # accepted first-round evaluations with a transaction_id, bundled per batch at their
    # transaction's home partition (streams/invitations/evaluated.py); "" sends none
    evaluated: str = ""


@dataclass(frozen=True, slots=True)
class IngestRules:
    secret: bytes
    clock_skew_s: int
    allowed_lateness_s: int
    dedupe_ttl_s: int
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    case_policy: CasePolicy = field(default_factory=CasePolicy)
    # the long horizon: how old an evaluation may arrive and still count in its day
    late_horizon_s: int = 30 * 86_400
    # the largest record of a minute bundle on satisfaction.windows (streams/ingest/counts.py)
    bundle_bytes: int = 262_144


@dataclass(slots=True)
class IngestReport:
    """What one batch did, for metrics and tests."""

    accepted: Counter[str] = field(default_factory=Counter)  # by channel
    rejected: int = 0
    repeats: int = 0
    late: int = 0  # after the short horizon: counted in their day only
    beyond_horizon: int = 0  # after the long horizon: counted in no window
    replayed: int = 0
    # records that came ahead of offsets this worker had not seen yet (see ``process``)
    jumps: int = 0
    # (channel, "ahead" | "behind"): accepted evaluations whose evaluated_at is more than
    # CLOCK_DRIFT_S from the time Kafka got them
    drifted: Counter[tuple[str, str]] = field(default_factory=Counter)
    # accepted evaluations found outside their contract key's partition, sent home; by channel
    miskeyed: Counter[str] = field(default_factory=Counter)


class IngestStep:
    def __init__(
        self,
        *,
        topics: IngestTopics,
        rules: IngestRules,
        outbox: OutboxPort,
        rejections: Rejections,
        dedupe_state: MutableMapping[str, Any],
        window_state: MutableMapping[str, Any],
    ) -> None:
        self.topics = topics
        self.rules = rules
        self._outbox = outbox
        self._rejections = rejections
        self._dedupe = Deduplicator(dedupe_state)
        self._windows = WindowAggregator(
            window_state,
            {"1m": rules.allowed_lateness_s, "1d": rules.late_horizon_s},
            bundle_bytes=rules.bundle_bytes,
        )
        self._window_state = window_state
        # newest record timestamp per source partition: the clock of expiry
        self.watermarks: dict[int, float] = {}
        # the offset after the newest one processed, per source partition
        self._next_offset: dict[int, int] = {}
        # records that came ahead of an offset not yet seen, and since when (monotonic s)
        self._held: dict[int, dict[int, Record]] = {}
        self._held_since: dict[int, float] = {}
        # per source partition, the newest min(evaluated_at, record timestamp) of an accepted
        # evaluation: the partition's surge clock, sent with its minute partials
        self.surge_clocks: dict[int, int] = {}
        # per source partition, how far its newest record timestamp was behind the wall clock
        # when it was read: what a heartbeat takes off the wall clock
        self.lags: dict[int, float] = {}
        self._wall = 0.0  # the wall clock of the batch being processed
        # the batch's accepted evaluations, for the screening step (bundled in _finish)
        self._facts: list[ScreenFact] = []
        # per home partition, the batch's evaluated transactions (streams/invitations/evaluated.py)
        self._evaluated: defaultdict[int, list[Evaluated]] = defaultdict(list)

    def process(
        self, records: Iterable[Record], now: float | None = None, wall: float | None = None
    ) -> IngestReport:
        """Decide a batch. No await inside: a timer never sees half a batch applied.

        Records are taken in offset order per partition. Window counts skip an offset not
        above their version as already counted, which holds only if a partition's offsets
        come in order; Faust can hand over a prefetched record ahead of the ones before it
        around a seek (faust-streaming #221). So a record that comes ahead of an offset not
        yet seen is held back (``report.jumps`` counts each such jump) until the offsets
        before it arrive, which a seek back makes them do, or until ``HOLD_S`` has passed
        (``release_overdue``): then the gap is taken as real (records gone by retention)."""
        now = time.monotonic() if now is None else now
        self._wall = time.time() if wall is None else wall
        report = IngestReport()
        by_partition: dict[int, dict[int, Record]] = {}
        for record in records:
            source = self.source_of(record.topic, record.partition)
            if source != record.partition:
                record = replace(record, partition=source)
            by_partition.setdefault(source, {})[record.offset] = record
        for partition, batch in sorted(by_partition.items()):
            held = self._held.pop(partition, {})
            waiting_since = self._held_since.pop(partition, now)
            merged = {**held, **batch}
            for offset, record in sorted(merged.items()):
                expected = self._next_offset.get(partition)
                if expected is not None and offset > expected:
                    rest = {o: r for o, r in merged.items() if o >= offset}
                    if not held:
                        report.jumps += 1
                        log.warning(
                            "partition %d: offset %d came before %d..%d; held back until "
                            "they come (faust-streaming #221, docs/operations.md)",
                            partition,
                            offset,
                            expected,
                            offset - 1,
                        )
                    self._held[partition] = rest
                    self._held_since[partition] = waiting_since if held else now
                    break
                self._take(record, report)
        self._finish(report)
        return report

    def gaps(
        self, now: float | None = None, after_s: float = FETCH_AFTER_S
    ) -> list[tuple[int, int, int]]:
        """(source, first missing offset, first offset held) of each gap open ``after_s``:
        what the worker fetches itself and hands to :meth:`process`."""
        now = time.monotonic() if now is None else now
        return [
            (source, self._next_offset[source], min(self._held[source]))
            for source, since in sorted(self._held_since.items())
            if now - since >= after_s and self._held.get(source) and source in self._next_offset
        ]

    def release_overdue(self, now: float | None = None) -> IngestReport:
        """Process the records held back longer than ``HOLD_S``: the offsets they wait for
        are not coming (deleted by retention, or this worker stopped fetching)."""
        now = time.monotonic() if now is None else now
        self._wall = time.time()
        report = IngestReport()
        for partition in [p for p, since in self._held_since.items() if now - since >= HOLD_S]:
            held = self._held.pop(partition, {})
            del self._held_since[partition]
            if not held:
                continue
            log.warning(
                "partition %d: offsets before %d did not come within %.0f s; counting the %d "
                "records held back",
                partition,
                min(held),
                HOLD_S,
                len(held),
            )
            for _, record in sorted(held.items()):
                self._take(record, report)
        self._finish(report)
        return report

    def source_of(self, topic: str, partition: int) -> int:
        """The source id under which records of ``topic``'s ``partition`` are counted: the
        partition of ratings.raw, or that plus ``REKEYED_BASE`` for the rekeyed topic."""
        if self.topics.rekeyed and topic == self.topics.rekeyed:
            return partition + REKEYED_BASE
        return partition

    def read_to(self, partition: int) -> int:
        """The offset after the newest record of ``partition`` processed (0: none yet)."""
        return self._next_offset.get(partition, 0)

    def heartbeat(self, read_to_end: Iterable[int], wall: float) -> dict[int, int | None]:
        """Say, for each partition in ``read_to_end`` (every record the broker held at the
        wall time ``wall`` is processed), the earliest event time it can still bring on time:
        ``wall`` less the partition's lag; None for one of which this process has read no
        record (its lag unknown: the surge step goes on from the partition's last bound). A
        partition with records held back says nothing."""
        clocks = {
            partition: math.floor(wall - lag)
            if (lag := self.lags.get(partition)) is not None
            else None
            for partition in read_to_end
            if partition not in self._held
        }
        if clocks:
            self._outbox.add(self.topics.minutes, None, heartbeat_record(clocks), 0)
        return clocks

    @property
    def held(self) -> int:
        """Records held back, waiting for the offsets before them."""
        return sum(len(records) for records in self._held.values())

    def _take(self, record: Record, report: IngestReport) -> None:
        expected = self._next_offset.get(record.partition)
        if expected is None or record.offset >= expected:
            self._next_offset[record.partition] = record.offset + 1
        if record.timestamp > self.watermarks.get(record.partition, 0.0):
            self.watermarks[record.partition] = record.timestamp
            self.lags[record.partition] = max(0.0, self._wall - record.timestamp)
        try:
            self._one(record, report)
        except Exception as exc:  # a bug costs one message, kept for a replay after a fix
            log.exception("internal error on %s", record.source)
            message = f"internal error: {type(exc).__name__}"
            self._reject(record, RejectReason.INTERNAL_ERROR, message, report)

    def _finish(self, report: IngestReport) -> None:
        # the batch's claims, one changelog record per partition, sent with its outputs
        self._dedupe.drain()
        partials = []
        for entry in self._windows.drain().values():
            if entry["window"] == "1m" and entry["dimension"] in SURGE_DIMENSIONS:
                clock = self.surge_clocks.get(entry["partition"])
                partials.append(entry if clock is None else {**entry, "clock": clock})
        for value in bundle_partials(partials):
            self._outbox.add(self.topics.minutes, None, value, 0)
        facts, self._facts = self._facts, []
        if self.topics.screen:
            for value in bundle_facts(facts):
                self._outbox.add(self.topics.screen, None, value, 0)
        evaluated, self._evaluated = self._evaluated, defaultdict(list)
        for partition, marks in evaluated.items():
            for value in bundle_evaluated(marks):
                self._outbox.add(self.topics.evaluated, None, value, partition)
        _record_metrics(report)

    def _mark_evaluated(self, record: Record, transaction_id: str, evaluated_at: datetime) -> None:
        """For the invitations step, at the transaction's home partition (where its 办件 is).
        With rekeying on, an evaluation is accepted only there (``_sent_home`` computed it)."""
        if self.topics.rekeyed:
            home = state_partition(record.partition)
        else:
            home = home_partition(transaction_id.encode(), self.topics.partitions)
        self._evaluated[home].append((transaction_id, int(evaluated_at.timestamp())))

    def _one(self, record: Record, report: IngestReport) -> None:
        outcome = decide(
            record.value,
            now=event_time(record.timestamp),
            secret=self.rules.secret,
            clock_skew_s=self.rules.clock_skew_s,
            allowed_lateness_s=self.rules.allowed_lateness_s,
            late_horizon_s=self.rules.late_horizon_s,
        )
        if not isinstance(outcome, AcceptedBytes):
            self._reject(record, outcome.reason, outcome.message, report)
            return
        evaluation = outcome.evaluation
        if self._sent_home(record, evaluation, report) or not self._first(
            record, evaluation, report
        ):
            return
        value = outcome.value
        if is_rekeyed(record.partition):  # only these pay for a second encoding
            evaluation = evaluation.model_copy(update={"miskeyed": True})
            value = evaluation.to_json_bytes()
        self._outbox.add(self.topics.valid, evaluation.evaluation_id.encode(), value)
        if self.topics.evaluated and evaluation.transaction_id and evaluation.evaluation_round == 1:
            self._mark_evaluated(record, evaluation.transaction_id, evaluation.evaluated_at)
        report.accepted[evaluation.channel] += 1
        if abs(evaluation.clock_skew_s) > CLOCK_DRIFT_S:
            direction = "ahead" if evaluation.clock_skew_s > 0 else "behind"
            report.drifted[(evaluation.channel, direction)] += 1
        self._advance_surge_clock(record, evaluation)
        if evaluation.beyond_horizon:
            # in ratings and late_statistics only: its day's state may be gone, and counting
            # it anew would also let a resend past the dedupe horizon count twice; no case
            # either (the same resend would open it twice)
            report.late += 1
            report.beyond_horizon += 1
            return
        if evaluation.is_bad:
            self._open_case(evaluation)
        # screened when counted: what is in no window is in no rate either
        self._facts.append(ScreenFact.of(evaluation))
        # minutes keep the short horizon: a surge is judged soon and a minute judged long
        # ago is not reopened; the day still takes it
        windows = ("1d",) if evaluation.late else ("1m", "1d")
        if evaluation.late:
            report.late += 1
        if not self._count(record, evaluation, windows):
            report.replayed += 1

    def _first(self, record: Record, evaluation: Evaluation, report: IngestReport) -> bool:
        """Whether this is the first of its evaluation and transaction round (一次一评) or a
        replay of that very message; a repeat is dropped, a second evaluation rejected."""
        verdict, claim = self._dedupe.decide(
            # every copy of a transaction is here now: its claims are those of the partition,
            # whichever source brought it; a rekeyed offset is negative, so never the same
            partition=state_partition(record.partition),
            offset=-record.offset - 1 if is_rekeyed(record.partition) else record.offset,
            timestamp=record.timestamp,
            evaluation_id=evaluation.evaluation_id,
            transaction_id=evaluation.transaction_id,
            evaluation_round=evaluation.evaluation_round,
        )
        if verdict is Verdict.REPEAT:
            report.repeats += 1
            return False
        if verdict is Verdict.DUPLICATE_TRANSACTION:
            assert claim is not None
            # no values: the claim's offset finds the first evaluation on ratings.raw
            first = (
                f"offset {claim.offset}"
                if claim.offset >= 0
                else f"offset {-claim.offset - 1} of {self.topics.rekeyed}"
            )
            message = (
                f"transaction_id: round {evaluation.evaluation_round} of this transaction was "
                f"already evaluated by the message at {first} (一次一评)"
            )
            self._reject(record, RejectReason.DUPLICATE_TRANSACTION, message, report)
            return False
        return True

    def _sent_home(self, record: Record, evaluation: Evaluation, report: IngestReport) -> bool:
        """Send an accepted evaluation of ratings.raw that is outside its contract key's
        partition to that partition of the rekeyed topic, unchanged: there it meets every
        other copy of its transaction (streams/ingest/rekey.py). True if it was sent."""
        if not self.topics.rekeyed or is_rekeyed(record.partition):
            return False
        key = contract_key(evaluation.transaction_id, evaluation.evaluation_id)
        home = home_partition(key, self.topics.partitions)
        if home == record.partition:
            return False
        self._outbox.add(
            self.topics.rekeyed, record.source.encode(), record.value, home, record.timestamp
        )
        report.miskeyed[evaluation.channel] += 1
        return True

    def _advance_surge_clock(self, record: Record, evaluation: Evaluation) -> None:
        # An evaluation moves its partition's surge clock no further than the time Kafka got
        # it: a pad whose clock runs fast (within the accepted skew) cannot push it ahead.
        if not math.isfinite(record.timestamp):
            return
        clock = math.floor(min(evaluation.evaluated_at.timestamp(), record.timestamp))
        if clock > self.surge_clocks.get(record.partition, -1):
            self.surge_clocks[record.partition] = clock

    def _count(self, record: Record, evaluation: Evaluation, windows: tuple[str, ...]) -> bool:
        bad_review = None
        if evaluation.is_bad:
            bad_review = BadReview(
                evaluation.service_code,
                evaluation.channel,
                evaluation.hall_code,
                evaluation.window_code,
                tuple(evaluation.tags or ()),
                evaluation.comment,
            )
        return self._windows.add(
            partition=record.partition,
            offset=record.offset,
            event_epoch=evaluation.evaluated_at.timestamp(),
            level=evaluation.level,
            keys={name: getattr(evaluation, SPEC_BY_NAME[name].field) for name in DIMENSIONS},
            bad_review=bad_review,
            windows=windows,
        )

    def _open_case(self, evaluation: Evaluation) -> None:
        # every bad review opens a follow-up case; its deadlines travel with the event. It
        # reaches the department now, when the platform received it (ingested_at, the record
        # time: the same on a replay), so that is when the case opens and its deadlines start
        case = case_from_evaluation(evaluation, self.rules.calendar, self.rules.case_policy)
        assert case is not None
        opened = CaseEvent(
            case_id=evaluation.evaluation_id,
            event="opened",
            at=evaluation.ingested_at,
            department_code=evaluation.department_code,
            actor="haochaping",
            service_code=evaluation.service_code,
            level=evaluation.level,
            evaluated_at=evaluation.evaluated_at,
            callback_due_at=case.due["callback"],
            rectification_due_at=case.due["rectification"],
        )
        self._outbox.add(
            self.topics.cases, evaluation.evaluation_id.encode(), opened.to_json_bytes()
        )

    def _reject(
        self, record: Record, reason: RejectReason, message: str, report: IngestReport
    ) -> None:
        # a rekeyed copy is rejected as the message it came from
        self._rejections.reject(
            origin(record) if is_rekeyed(record.partition) else record, reason, message
        )
        report.rejected += 1

    def expire(self) -> int:
        """Drop window entries no evaluation can reach (minutes after the short horizon, days
        after the long one) and dedupe records whose claims are all past their horizon."""
        dropped = 0
        for partition, watermark in list(self.watermarks.items()):
            for name in self._windows.closed_entries(partition, watermark - REPLAY_MARGIN_S):
                self._windows.forget(name)
                dropped += 1
            for name in self._dedupe.expired(partition, watermark, self.rules.dedupe_ttl_s):
                self._dedupe.forget(name)
                dropped += 1
        metrics.window_entries.set(len(self._window_state))
        return dropped

    def resumes_at(self, partition: int, offset: int) -> None:
        """Where reading ``partition`` starts in this process (the group's committed offset):
        a first record beyond it came ahead of the ones before it, and counts as a jump."""
        self._next_offset.setdefault(partition, offset)

    def forget_partition(self, partition: int) -> None:
        """Expiry must only delete state of partitions this worker still owns; the rekeyed
        topic's partition of the same number goes with it (co-partitioned)."""
        self._forget_source(partition)
        self._forget_source(partition + REKEYED_BASE)
        self._dedupe.forget_partition(partition)

    def _forget_source(self, partition: int) -> None:
        self.watermarks.pop(partition, None)
        self._next_offset.pop(partition, None)
        self._held.pop(partition, None)
        self._held_since.pop(partition, None)
        self.surge_clocks.pop(partition, None)
        self.lags.pop(partition, None)
        self._windows.forget_partition(partition)


def _record_metrics(report: IngestReport) -> None:
    for channel, count in report.accepted.items():
        metrics.evaluations_accepted.labels(channel=channel).inc(count)
    metrics.duplicates_dropped.inc(report.repeats)
    metrics.evaluations_late.inc(report.late)
    metrics.evaluations_beyond_horizon.inc(report.beyond_horizon)
    metrics.replayed_skipped.inc(report.replayed)
    metrics.offset_jumps.inc(report.jumps)
    for (channel, direction), count in report.drifted.items():
        metrics.clock_drift.labels(channel=channel, direction=direction).inc(count)
    for channel, count in report.miskeyed.items():
        metrics.miskeyed.labels(channel=channel).inc(count)
