"""What `haochaping suspects` shows: flagged evaluations by department, hall window or staff
member, with their evidence, and the departments whose 好评率 is implausibly perfect; and the
signal of issue 28: first-round evaluations on a channel that always serves a 办件 whose
办件 never came within the horizon (``unknown_transaction``; the screening's own
``no_transaction`` is an evaluation naming none), for the office to review like a
flagged one (the worker cannot know it: the horizon is days past its screening windows).

Queries only (run on 18.16 and on a current ClickHouse alike); the command renders them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]
By = Literal["department", "window", "staff"]
Status = Literal["pending", "confirmed", "cleared", "all"]

COLUMN: Final[dict[str, str]] = {
    "department": "department_code",
    "window": "window_code",
    "staff": "staff_id",
}
# a department is reported when a day without a bad review is this unlikely by luck
PERFECT_P_VALUE: Final = 0.001

_STATUS = "AND (%(status)s = 'all' OR status = %(status)s)"

SUMMARY: Final = """
SELECT
    {column} AS place,
    count() AS evaluations,
    countIf(level >= 3) AS good,
    countIf(level <= 2) AS bad,
    countIf(status = 'confirmed') AS confirmed,
    countIf(status = 'cleared') AS cleared,
    round(max(score), 2) AS top_score,
    arraySort(groupUniqArrayArray(reasons)) AS reasons
FROM suspect_reviews
WHERE evaluated_at >= toDateTime(%(since)s) AND {column} != '' {status}
GROUP BY place
ORDER BY evaluations DESC, place
LIMIT %(limit)s
"""

EVIDENCE: Final = """
SELECT
    evaluation_id,
    evaluated_at,
    department_code,
    window_code,
    staff_id,
    level,
    round(score, 2) AS score,
    reasons,
    evidence,
    status
FROM suspect_reviews
WHERE evaluated_at >= toDateTime(%(since)s) {status}
ORDER BY score DESC, evaluated_at DESC, evaluation_id
LIMIT %(limit)s
"""

PERFECT: Final = """
SELECT day, department_code, total, round(peer_bad_rate, 4) AS peer_bad_rate, p_value
FROM suspect_departments_daily
WHERE day >= toDate(toDateTime(%(since)s)) AND p_value < %(p)s
ORDER BY p_value, day, department_code
LIMIT %(limit)s
"""

UNKNOWN_TRANSACTION_REASON: Final = "unknown_transaction"
# The evaluations the 办件 feed could have matched (evaluated after its first 办件, and more
# than the horizon ago) that name a 办件 never reported, on the given channels, not reviewed
# yet. The row has the shape of PENDING rows (workorders/casefiles.py), score 0.
WITHOUT_TRANSACTION: Final = """
SELECT evaluation_id, ['unknown_transaction'] AS reasons, toFloat64(0) AS score, department_code,
       service_code, channel, level, hall_code, window_code, staff_id,
       toUnixTimestamp(evaluated_at) AS at
FROM ratings FINAL
WHERE evaluation_round = 1 AND transaction_id != '' AND channel IN %(channels)s
  AND evaluated_at < now() - %(horizon_s)s
  AND toUnixTimestamp(evaluated_at) >=
  (
      -- no 办件 yet: the feed has not started, and no evaluation lacks one
      SELECT if(count() = 0, toUnixTimestamp(now()), toUnixTimestamp(min(completed_at)))
      FROM transactions
  )
  AND transaction_id NOT IN (SELECT transaction_id FROM transactions)
  AND evaluation_id NOT IN
  (
      SELECT case_id FROM case_events WHERE event IN ('suspect_confirmed', 'suspect_cleared')
  )
ORDER BY at DESC, evaluation_id
LIMIT %(limit)s
"""


def required_channels(setting: str) -> tuple[str, ...]:
    """The channels of HAOCHAPING_SCREEN_TRANSACTION_CHANNELS, each a known channel."""
    from schemas.codes import Channel
    from streams.screening.screener import channel_set

    names = tuple(sorted(channel_set(setting)))
    known = [channel.value for channel in Channel]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(
            f"HAOCHAPING_SCREEN_TRANSACTION_CHANNELS names unknown channels {unknown}; "
            f"known: {', '.join(known)}"
        )
    return names


def without_transaction(
    execute: Execute, *, channels: tuple[str, ...], horizon_days: int, limit: int
) -> list[tuple[Any, ...]]:
    if not channels:
        return []
    params = {"channels": channels, "horizon_s": horizon_days * 86_400, "limit": limit}
    return execute(WITHOUT_TRANSACTION, params)


def with_signal(
    pending: list[tuple[Any, ...]], unmatched: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """The pending suspects, each also without a 办件 gaining the reason, then the evaluations
    only this signal offers. Rows are (evaluation_id, reasons, score, ...)."""
    lacking = {row[0] for row in unmatched}
    merged = [
        (row[0], [*row[1], UNKNOWN_TRANSACTION_REASON], *row[2:]) if row[0] in lacking else row
        for row in pending
    ]
    flagged = {row[0] for row in pending}
    return merged + [row for row in unmatched if row[0] not in flagged]


@dataclass(frozen=True)
class Suspects:
    by: str
    summary: list[tuple[Any, ...]]
    evidence: list[tuple[Any, ...]]
    perfect: list[tuple[Any, ...]]
    # not reviewed yet, whatever the status asked: a signal, not a flag
    without_transaction: list[tuple[Any, ...]] = field(default_factory=list)


def suspects(
    execute: Execute,
    *,
    days: int,
    by: By = "department",
    status: Status = "pending",
    limit: int = 20,
    now: datetime | None = None,
    channels: tuple[str, ...],
    horizon_days: int,
) -> Suspects:
    since = int(((now or datetime.now()) - timedelta(days=days)).timestamp())
    params = {"since": since, "status": status, "limit": limit, "p": PERFECT_P_VALUE}
    column = COLUMN[by]
    return Suspects(
        by=by,
        summary=execute(SUMMARY.format(column=column, status=_STATUS), params),
        evidence=execute(EVIDENCE.format(status=_STATUS), params),
        perfect=execute(PERFECT, params),
        without_transaction=without_transaction(
            execute, channels=channels, horizon_days=horizon_days, limit=limit
        ),
    )
