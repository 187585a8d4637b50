"""The six steps built from the settings, over whatever state and outbox the caller has.

The Faust worker (streams/worker/app.py) passes its changelogged tables and Kafka outbox; the
in-memory harness (streams/testing.py) passes dicts and a list. One builder, so what the tests
drive is what the worker runs.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from runtime.settings import Settings
from streams.cases.config import calendar_from, policy_from
from streams.cases.step import CaseStep
from streams.ingest import config as ingest_config
from streams.ingest.step import IngestStep
from streams.invitations.book import InvitationRules
from streams.invitations.step import InvitationStep
from streams.outbox import OutboxPort
from streams.rejections import Rejections
from streams.screening import config as screen_config
from streams.screening.step import ScreenStep
from streams.surges import config as surge_config
from streams.surges.step import SurgeStep
from streams.transactions.step import TransactionStep

State = MutableMapping[str, Any]


@dataclass(frozen=True, slots=True)
class StepStates:
    windows: State
    dedupe: State
    cases: State
    surge: State
    invitations: State = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Steps:
    ingest: IngestStep
    surges: SurgeStep
    cases: CaseStep
    rejections: Rejections
    screening: ScreenStep
    transactions: TransactionStep
    invitations: InvitationStep


def build_steps(
    settings: Settings,
    *,
    secret: bytes,
    outbox: OutboxPort,
    states: StepStates,
) -> Steps:
    calendar, policy = calendar_from(settings), policy_from(settings)
    rejections = Rejections(topic=settings.topic_rejected, secret=secret, outbox=outbox)
    ingest = IngestStep(
        topics=ingest_config.topics_from(settings),
        rules=ingest_config.rules_from(settings, secret, calendar, policy),
        outbox=outbox,
        rejections=rejections,
        dedupe_state=states.dedupe,
        window_state=states.windows,
    )
    surges = SurgeStep(
        rules=surge_config.rules_from(settings),
        state=states.surge,
        outbox=outbox,
        alerts_topic=settings.topic_alerts,
    )
    cases = CaseStep(
        calendar=calendar,
        policy=policy,
        state=states.cases,
        outbox=outbox,
        warnings_topic=settings.topic_case_warnings,
        rejections=rejections,
        events_topic=settings.topic_cases,
        actions_topic=settings.topic_case_actions,
        clock_skew_s=settings.clock_skew_s,
    )
    # its state is rebuilt from its input, not kept in a changelog (streams/screening/step.py)
    screening = ScreenStep(
        rules=screen_config.rules_from(settings),
        outbox=outbox,
        suspect_topic=settings.topic_suspect,
    )
    transactions = TransactionStep(
        valid_topic=settings.topic_transactions_valid,
        outbox=outbox,
        rejections=rejections,
        clock_skew_s=settings.clock_skew_s,
    )
    invitations = InvitationStep(
        rules=InvitationRules(
            after_s=settings.invitation_after_hours * 3600,
            horizon_s=settings.transaction_horizon_days * 86_400,
            default_after_s=settings.default_rating_after_days * 86_400,
        ),
        state=states.invitations,
        outbox=outbox,
        invitations_topic=settings.topic_invitations,
        transactions_topic=settings.topic_transactions_valid,
        default_ratings_topic=settings.topic_default_ratings,
    )
    return Steps(ingest, surges, cases, rejections, screening, transactions, invitations)
