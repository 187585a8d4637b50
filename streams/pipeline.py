"""The three steps built from the settings, over whatever state and outbox the caller has.

The Faust worker (streams/worker/app.py) passes its changelogged tables and Kafka outbox; the
in-memory harness (streams/testing.py) passes dicts and a list. One builder, so what the tests
drive is what the worker runs.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from runtime.settings import Settings
from streams.cases.book import CasePolicy
from streams.cases.deadlines import WorkingCalendar
from streams.cases.step import CaseStep
from streams.ingest.step import IngestRules, IngestStep, IngestTopics
from streams.outbox import OutboxPort
from streams.rejections import Rejections
from streams.screening.screener import ScreenRules
from streams.screening.step import ScreenStep
from streams.surges.detector import SpikeConfig
from streams.surges.step import SurgeRules, SurgeStep

State = MutableMapping[str, Any]


@dataclass(frozen=True, slots=True)
class StepStates:
    windows: State
    dedupe: State
    cases: State
    surge: State


@dataclass(frozen=True, slots=True)
class Steps:
    ingest: IngestStep
    surges: SurgeStep
    cases: CaseStep
    rejections: Rejections
    screening: ScreenStep


def surge_minutes_topic(settings: Settings) -> str:
    return f"{settings.app_id}-surge-minutes"


def rekeyed_topic(settings: Settings) -> str:
    """Mis-keyed evaluations, at their home partition (streams/ingest/rekey.py)."""
    return f"{settings.app_id}-ratings-rekeyed"


def screen_facts_topic(settings: Settings) -> str:
    return f"{settings.app_id}-screen-facts"


def follow_up_group(settings: Settings) -> str:
    """The Faust id, and so the consumer group, of a worker run with ``--role follow-up``.
    It needs a group of its own: its members read other topics than the ingest worker's, and
    Faust's assignor expects every member of a group to read the same ones."""
    return f"{settings.app_id}-follow-up"


def follow_up_inputs(settings: Settings) -> list[str]:
    """What the follow-up agents read (all written by the ingest step)."""
    return [settings.topic_cases, surge_minutes_topic(settings), screen_facts_topic(settings)]


def screen_rules(settings: Settings) -> ScreenRules:
    s = settings
    return ScreenRules(
        limits={
            ("evaluator", "minute"): s.screen_evaluator_per_minute,
            ("evaluator", "hour"): s.screen_evaluator_per_hour,
            ("evaluator", "day"): s.screen_evaluator_per_day,
            ("device", "minute"): s.screen_device_per_minute,
            ("device", "hour"): s.screen_device_per_hour,
            ("device", "day"): s.screen_device_per_day,
            ("network", "minute"): s.screen_network_per_minute,
            ("network", "hour"): s.screen_network_per_hour,
        },
        departments_per_day=s.screen_departments_per_day,
        burst_run=s.screen_burst_run,
        burst_gap_s=s.screen_burst_gap_s,
        share_alpha=s.screen_share_alpha,
        share_min_total=s.screen_share_min_total,
        transaction_channels=frozenset(
            c.strip() for c in s.screen_transaction_channels.split(",") if c.strip()
        ),
        horizon_s=s.screen_horizon_hours * 3600,
    )


def build_steps(
    settings: Settings,
    *,
    secret: bytes,
    outbox: OutboxPort,
    states: StepStates,
) -> Steps:
    s = settings
    calendar = WorkingCalendar(
        extra_holidays=s.case_extra_holiday_dates, extra_workdays=s.case_extra_workday_dates
    )
    case_policy = CasePolicy(
        callback_working_days=s.case_callback_working_days,
        rectification_working_days=s.case_rectification_working_days,
        retention_days=s.case_retention_days,
        pending_days=s.case_pending_days,
    )
    rejections = Rejections(topic=s.topic_rejected, secret=secret, outbox=outbox)
    ingest = IngestStep(
        topics=IngestTopics(
            s.topic_valid,
            s.topic_cases,
            surge_minutes_topic(s),
            screen_facts_topic(s),
            rekeyed=rekeyed_topic(s),
            partitions=s.topic_partitions,
        ),
        rules=IngestRules(
            secret,
            s.clock_skew_s,
            s.allowed_lateness_s,
            s.dedupe_ttl_days * 86_400,
            calendar,
            case_policy,
            s.late_horizon_days * 86_400,
            # a quarter of the record limit: a bundle is never near it
            bundle_bytes=s.topic_max_message_bytes // 4,
        ),
        outbox=outbox,
        rejections=rejections,
        dedupe_state=states.dedupe,
        window_state=states.windows,
    )
    spike = SpikeConfig(
        alpha=s.spike_alpha,
        early_alpha=s.spike_early_alpha,
        min_bad=s.spike_min_bad,
        min_rate_ratio=s.spike_min_rate_ratio,
    )
    surges = SurgeStep(
        rules=SurgeRules(
            spike,
            s.spike_grace_s,
            s.alert_update_every_s,
            s.alert_quiet_minutes,
            s.spike_idle_s,
            s.spike_recheck_s,
            s.spike_second_looks,
            s.spike_early_every_s,
            record_bytes=s.topic_max_message_bytes // 4,
        ),
        state=states.surge,
        outbox=outbox,
        alerts_topic=s.topic_alerts,
    )
    cases = CaseStep(
        calendar=calendar,
        policy=case_policy,
        state=states.cases,
        outbox=outbox,
        warnings_topic=s.topic_case_warnings,
        rejections=rejections,
    )
    # its state is rebuilt from its input, not kept in a changelog (streams/screening/step.py)
    screening = ScreenStep(rules=screen_rules(s), outbox=outbox, suspect_topic=s.topic_suspect)
    return Steps(ingest, surges, cases, rejections, screening)
