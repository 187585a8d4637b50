"""Step 4: screen accepted evaluations for fakes and malice; mark, never drop.

Reads the facts the ingest step forwards on the worker's internal, one-partition topic
``<app>-screen-facts`` (so one screener sees every evaluator, device and network), hands them
to the pure :class:`streams.screening.screener.Screener` and writes one ``ratings.suspect``
event per evaluation whose verdict changed. The state goes through the outbox like every
step's, so it is sent with the batch's outputs before its offsets are committed.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

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
        state: MutableMapping[str, Any],
        outbox: OutboxPort,
        suspect_topic: str,
    ) -> None:
        self.screener = Screener(state, rules)
        self._outbox = outbox
        self._topic = suspect_topic

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
        """This worker no longer owns the screening partition: its clock goes too."""
        self.screener.clock = 0


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
