"""The one registry of what lands where: each result topic, its ClickHouse table, its rows.

Everything that lists topics or tables derives from it: the sink's subscriptions
(sinks/consumer.py), the topics `haochaping topics` creates (haochaping/topics.py), the tables
`haochaping migrate --retention` prunes, and the table in docs/architecture.md. Adding a table
is one entry here, one migration (sinks/migrations/) and one row mapper (sinks/rows.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.settings import Settings
from schemas.alerts import AlertEvent
from schemas.cases import CaseEvent, CaseWarning
from schemas.evaluation import Evaluation
from schemas.invitation import DefaultRating, Invitation
from schemas.rejection import RejectedMessage
from schemas.suspects import SuspectEvent
from schemas.transaction import Transaction
from sinks.rows import (
    ALERTS_COLUMNS,
    CASE_EVENTS_COLUMNS,
    CASE_WARNINGS_COLUMNS,
    DEFAULT_RATINGS_COLUMNS,
    INVITATIONS_COLUMNS,
    PARTIALS_COLUMNS,
    RATINGS_COLUMNS,
    REJECTED_COLUMNS,
    SUSPECTS_COLUMNS,
    TRANSACTIONS_COLUMNS,
    alert_row,
    case_event_row,
    case_warning_row,
    default_rating_row,
    invitation_row,
    rating_row,
    rejected_row,
    suspect_row,
    transaction_row,
    window_rows,
)


@dataclass(frozen=True)
class Landing:
    topic_setting: str  # the Settings field that names the topic
    table: str
    columns: tuple[str, ...]
    to_row: Callable[[bytes], Any]  # a row, or a list of them (many)
    compacted: bool = False  # the topic keeps the newest record per key, not a time span
    monthly_partitions: bool = True  # PARTITION BY toYYYYMM(...): retention drops months
    # records others write, which the worker also checks and rejects with their reason
    checked_by_worker: bool = False
    many: bool = False  # to_row gives a list of rows

    def rows(self, value: bytes) -> list[tuple[Any, ...]]:
        """The rows a record lands as."""
        return self.to_row(value) if self.many else [self.to_row(value)]  # type: ignore[no-any-return]

    @property
    def kind(self) -> str:
        """The short name operators see in the sink's messages: valid, windows, alerts, …"""
        return self.topic_setting.removeprefix("topic_")

    def topic(self, settings: Settings) -> str:
        return str(getattr(settings, self.topic_setting))


LANDINGS: tuple[Landing, ...] = (
    Landing(
        "topic_valid",
        "ratings",
        RATINGS_COLUMNS,
        lambda v: rating_row(Evaluation.from_json_bytes(v)),
    ),
    Landing(
        "topic_rejected",
        "rejected",
        REJECTED_COLUMNS,
        lambda v: rejected_row(RejectedMessage.from_json_bytes(v)),
    ),
    # the changelog of the worker's window state: compacted, so the newest count of every
    # window survives for recovery and replays
    Landing(
        "topic_windows",
        "satisfaction_partials",
        PARTIALS_COLUMNS,
        window_rows,
        compacted=True,
        many=True,  # a minute bundle is a row per key
    ),
    Landing(
        "topic_alerts", "alerts", ALERTS_COLUMNS, lambda v: alert_row(AlertEvent.from_json_bytes(v))
    ),
    Landing(
        "topic_cases",
        "case_events",
        CASE_EVENTS_COLUMNS,
        lambda v: case_event_row(CaseEvent.model_validate_json(v)),
        checked_by_worker=True,  # departments' systems write cases.events
    ),
    Landing(
        "topic_case_warnings",
        "case_warnings",
        CASE_WARNINGS_COLUMNS,
        lambda v: case_warning_row(CaseWarning.model_validate_json(v)),
    ),
    Landing(
        "topic_suspect",
        "suspects",
        SUSPECTS_COLUMNS,
        lambda v: suspect_row(SuspectEvent.from_json_bytes(v)),
    ),
    # 办件 (issue 28), checked by the worker's transactions step
    Landing(
        "topic_transactions_valid",
        "transactions",
        TRANSACTIONS_COLUMNS,
        lambda v: transaction_row(Transaction.from_json_bytes(v)),
    ),
    # 主动邀评 of 办件 left unrated (issue 28), by the worker's invitations step
    Landing(
        "topic_invitations",
        "invitations",
        INVITATIONS_COLUMNS,
        lambda v: invitation_row(Invitation.from_json_bytes(v)),
    ),
    # 默认评价 of 办件 still unrated (issue 28; off unless set), counted apart
    Landing(
        "topic_default_ratings",
        "default_ratings",
        DEFAULT_RATINGS_COLUMNS,
        lambda v: default_rating_row(DefaultRating.from_json_bytes(v)),
    ),
)

# Records that could not be turned into rows land in `rejected`, already as rows.
REFUSED = Landing("topic_rejected", "rejected", REJECTED_COLUMNS, lambda value: ())


def by_topic(settings: Settings) -> dict[str, Landing]:
    return {landing.topic(settings): landing for landing in LANDINGS}


# Tables a materialized view fills from a landed one (migrations 008 and 009), partitioned by
# month like their source: retention drops their old months too.
DERIVED_TABLES: tuple[str, ...] = ("satisfaction_partials_by_window", "names_daily", "case_state")


def retained_tables() -> list[str]:
    landed = [landing.table for landing in LANDINGS if landing.monthly_partitions]
    return landed + list(DERIVED_TABLES)
