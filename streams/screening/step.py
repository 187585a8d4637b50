"""Step 4: screen accepted evaluations for fakes and malice; mark, never drop.

Reads the facts the ingest step forwards on the worker's internal, one-partition topic
``<app>-screen-facts`` (so one screener sees every evaluator, device and network), hands them
to the pure :class:`streams.screening.screener.Screener` and writes one ``ratings.suspect``
event per evaluation whose verdict changed.

Its state is not changelogged: most of its keys are new with every evaluation (an evaluator,
an app install, a network seen once), so a changelog cost about six records per evaluation
(docs/benchmarks.md). The facts topic is the screener's whole input, in one partition and in
order, so a worker that takes it over rebuilds the state by screening again, silently, the
facts of the last ``rebuild_span_s`` before its committed offset (``rebuild``), then goes on:
the same facts in the same order give the same state, and a fact after the committed offset
is screened as it was the first time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from schemas.suspects import SuspectEvent
from streams import metrics
from streams.outbox import OutboxPort
from streams.screening.facts import ScreenFact
from streams.screening.screener import Screener, ScreenRules, Suspect

log = logging.getLogger("haochaping.worker")


class ScreenStep:
    def __init__(
        self,
        *,
        rules: ScreenRules,
        outbox: OutboxPort,
        suspect_topic: str,
    ) -> None:
        self.rules = rules
        self.screener = Screener({}, rules)
        self._outbox = outbox
        self._topic = suspect_topic
        # whether the state was rebuilt from the facts before the committed offset
        self.rebuilt = False

    @property
    def rebuild_span_s(self) -> int:
        """How far back (by record time) a rebuild reads: the state's horizon, plus a day
        window that may have started before it."""
        return self.rules.horizon_s + 86_400

    def rebuild(self, facts: list[ScreenFact]) -> None:
        """Screen facts already screened before (up to the committed offset) to rebuild the
        state; their suspects were sent then, so nothing is sent now."""
        self.screener.screen(facts)

    def process(self, facts: list[ScreenFact]) -> list[Suspect]:
        try:
            suspects = self.screener.screen(facts)
        except Exception:
            # the facts come from the worker itself, so this is a bug: say so loudly, keep
            # the worker going (the evaluations are in ratings.valid, only unscreened)
            log.exception("screening failed on a batch of %d facts", len(facts))
            metrics.screening_failures.inc()
            return []
        for suspect in suspects:
            event = suspect_event(suspect)
            self._outbox.add(self._topic, event.evaluation_id.encode(), event.to_json_bytes())
            for reason in suspect.reasons:
                metrics.suspects_flagged.labels(reason=reason).inc()
        return suspects

    def expire(self) -> int:
        return self.screener.expire()

    def forget(self) -> None:
        """This worker no longer owns the screening partition: whoever owns it next
        rebuilds the state."""
        self.screener = Screener({}, self.rules)
        self.rebuilt = False


def suspect_event(suspect: Suspect) -> SuspectEvent:
    f = suspect.fact
    return SuspectEvent(
        evaluation_id=f.evaluation_id,
        reasons=list(suspect.reasons),
        score=suspect.score,
        evidence=suspect.evidence,
        version=len(suspect.reasons),
        department_code=f.department_code,
        service_code=f.service_code,
        channel=f.channel,
        level=f.level,
        hall_code=f.hall_code,
        window_code=f.window_code,
        staff_id=f.staff_id,
        evaluator_hash=f.evaluator,
        device_hash=f.device,
        network_hash=f.network,
        evaluated_at=datetime.fromtimestamp(f.at, UTC),
    )
