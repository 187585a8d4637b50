"""The ingest step's rules and output topics, from the settings."""

from __future__ import annotations

from runtime.settings import Settings
from streams.cases.book import CasePolicy
from streams.cases.deadlines import WorkingCalendar
from streams.ingest.step import IngestRules, IngestTopics
from streams.topology import (
    evaluated_topic,
    rekeyed_topic,
    screen_facts_topic,
    surge_minutes_topic,
)


def rules_from(
    settings: Settings, secret: bytes, calendar: WorkingCalendar, policy: CasePolicy
) -> IngestRules:
    """``calendar`` and ``policy``: the case step's (streams/cases/config.py), since ingest
    opens the case of every bad review."""
    s = settings
    return IngestRules(
        secret,
        s.clock_skew_s,
        s.allowed_lateness_s,
        s.dedupe_ttl_days * 86_400,
        calendar,
        policy,
        s.late_horizon_days * 86_400,
        # a quarter of the record limit: a bundle is never near it
        bundle_bytes=s.topic_max_message_bytes // 4,
    )


def topics_from(settings: Settings) -> IngestTopics:
    s = settings
    return IngestTopics(
        s.topic_valid,
        s.topic_cases,
        surge_minutes_topic(s),
        screen_facts_topic(s),
        rekeyed=rekeyed_topic(s),
        partitions=s.topic_partitions,
        # only when invitations or default ratings are on: otherwise nobody reads them
        evaluated=evaluated_topic(s) if s.follows_unrated else "",
    )
