"""What the work-order pages show, read from ClickHouse: a department's inbox, one case with
its review and history, the office's 督办 lists. A case's state is rebuilt from its landed
events with the worker's own pure rules (streams/cases/book.py), so the page offers the
actions the worker would accept, from the same code; the worker still has the last word."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from runtime.clock import CHINA
from schemas.actions import ACTION_KINDS, CaseAction
from schemas.cases import CASE_EVENT_KINDS, CaseEvent
from streams.cases.book import Case, CaseBook
from streams.cases.deadlines import WorkingCalendar
from streams.cases.rules import SUSPECT_VERDICTS, judge

Execute = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]

EVENTS_OF_CASE: Final = """
SELECT event, toUnixTimestamp(at), department_code, actor, service_code, level,
       toUnixTimestamp(evaluated_at), action_id, truthful, reasonable, category, outcome,
       satisfaction
FROM case_events FINAL
WHERE case_id = %(case_id)s
ORDER BY at, event
"""
REVIEW: Final = """
SELECT level, channel, service_code, department_code, toUnixTimestamp(evaluated_at), tags, comment
FROM ratings FINAL
WHERE evaluation_id = %(case_id)s
LIMIT 1
"""
FOLLOW_UP: Final = """
SELECT real_name, follow_up_level, toUnixTimestamp(follow_up_at)
FROM case_follow_ups
WHERE case_id = %(case_id)s
LIMIT 1
"""
OPEN_CASES: Final = """
SELECT case_id, if(routed_to = '', department_code, routed_to) AS responsible, service_code,
       level, toUnixTimestamp(opened_at), toUnixTimestamp(callback_due_at),
       toUnixTimestamp(rectification_due_at), called_back, rectified, appeal_outcome
FROM cases
WHERE closed_at = toDateTime(0) AND (%(all)s = 1 OR responsible IN %(departments)s)
ORDER BY rectification_due_at, case_id
LIMIT %(limit)s
"""
WAITING: Final = """
SELECT case_id, argMax(department_code, at) AS department,
       toUnixTimestamp(maxIf(at, event = 'reroute_requested')) AS asked,
       toUnixTimestamp(maxIf(at, event IN ('routed', 'reroute_refused'))) AS answered,
       countIf(event = 'appealed') AS appeals,
       countIf(event IN ('appeal_upheld', 'appeal_rejected')) AS decided
FROM case_events FINAL
GROUP BY case_id
HAVING (asked > answered) OR (appeals > decided)
ORDER BY case_id
LIMIT 200
"""
ESCALATED: Final = """
SELECT case_id, max(multiIf(kind = 'escalated_2', 2, kind = 'escalated_1', 1, 0)) AS level
FROM case_warnings FINAL
WHERE kind IN ('escalated_1', 'escalated_2')
GROUP BY case_id
"""
INTERVIEWS: Final = """
SELECT department_code, toString(second_month), first_rate, second_rate
FROM interview_list
ORDER BY second_month DESC, department_code
LIMIT 24
"""
AUDIT: Final = """
SELECT toUnixTimestamp(at), actor, case_id, step, verdict, why
FROM action_audit
ORDER BY at DESC, action_id
LIMIT %(limit)s
"""
PENDING_SUSPECTS: Final = """
SELECT evaluation_id, reasons, round(score, 2), department_code, service_code, channel, level,
       hall_code, window_code, staff_id, toUnixTimestamp(evaluated_at)
FROM suspect_reviews
WHERE status = 'pending'
ORDER BY score DESC, evaluated_at DESC, evaluation_id
LIMIT %(limit)s
"""
LOOP_OF_MONTH: Final = """
SELECT department_code, cases, verified_cases, routed_cases, reroute_requests,
       reroutes_refused, reached_callbacks, reached_callback_rate, rated_rectifications,
       rectification_satisfaction_rate, appeals_upheld, real_name_cases,
       real_name_callback_rate, follow_ups, follow_up_satisfaction_rate
FROM case_loop_monthly
WHERE month = toDate(%(month)s) AND (%(all)s = 1 OR department_code IN %(departments)s)
ORDER BY department_code
"""
EVENT_LABELS: Final = {
    "opened": "受理差评",
    "routed": "转办",
    "reroute_requested": "申请退单",
    "reroute_refused": "退单不予同意",
    "verified": "核实",
    "called_back": "回访",
    "rectified": "整改",
    "rectification_rated": "整改评价",
    "appealed": "申诉",
    "appeal_upheld": "申诉成立",
    "appeal_rejected": "申诉驳回",
    "closed": "办结",
    "suspect_confirmed": "确认异常评价",
    "suspect_cleared": "排除异常评价",
}
ACTION_LABELS: Final = {
    "route": "转办",
    "request_reroute": "申请退单",
    "refuse_reroute": "不同意退单",
    "verify": "核实",
    "call_back": "回访",
    "rectify": "整改",
    "rate_rectification": "记录整改评价",
    "appeal": "申诉",
    "uphold_appeal": "申诉成立",
    "reject_appeal": "驳回申诉",
    "close": "办结",
}
DETAIL_LABELS: Final = {
    "attitude": "服务态度",
    "efficiency": "办事效率",
    "policy": "政策规定",
    "system": "系统平台",
    "premises": "环境设施",
    "other": "其他",
    "reached": "已联系评价人",
    "unreachable": "无法联系",
    "declined": "评价人拒绝回访",
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "unsatisfied": "不满意",
}
# what a probe of each action carries, so that only who and when decide what is offered
_PROBE_DETAILS: Final[dict[str, dict[str, Any]]] = {
    "route": {"department_code": "\x00another"},
    "verify": {"truthful": True, "reasonable": True, "category": "other"},
    "call_back": {"outcome": "reached"},
    "rate_rectification": {"satisfaction": "satisfied"},
}


# a case's steps in the order they can happen: what breaks a tie between two of its events
# landed in the same second (`at` is whole seconds, ClickHouse 18.16 has no DateTime64)
_STEP: Final = {kind: rank for rank, kind in enumerate(CASE_EVENT_KINDS)}


def events_of_case(read: Execute, case_id: str) -> list[tuple[Any, ...]]:
    """A case's landed events, oldest first; within one second in the order of the case's
    steps. ORDER BY at, event alone put 整改评价 (rectification_rated) before 整改
    (rectified) when a handler did both within a second (seen in CI)."""
    rows = read(EVENTS_OF_CASE, {"case_id": case_id})
    return sorted(rows, key=lambda row: (row[1], _STEP.get(row[0], len(_STEP))))


def case_of(read: Execute, case_id: str, calendar: WorkingCalendar) -> Case | None:
    """The case as its landed events make it (None: it has not opened in ClickHouse)."""
    book = CaseBook(calendar)
    for row in events_of_case(read, case_id):
        book.apply(event_of(case_id, row))
    return book.case(case_id)


def event_of(case_id: str, row: Sequence[Any]) -> CaseEvent:
    kind, at, department, actor, service, level, evaluated = row[:7]
    action_id, truthful, reasonable, category, outcome, satisfaction = row[7:13]
    opened = kind == "opened"
    return CaseEvent.model_validate(
        {
            "case_id": case_id,
            "event": kind,
            "at": datetime.fromtimestamp(at, UTC),
            "department_code": department,
            "actor": actor or None,
            "service_code": service if opened else None,
            "level": level if opened else None,
            "evaluated_at": datetime.fromtimestamp(evaluated, UTC) if opened else None,
            "action_id": action_id or None,
            "truthful": None if truthful < 0 else bool(truthful),
            "reasonable": None if reasonable < 0 else bool(reasonable),
            "category": category or None,
            "outcome": outcome or None,
            "satisfaction": satisfaction or None,
        },
        strict=False,
    )


def offered(case: Case | None, role: str, departments: tuple[str, ...]) -> list[str]:
    """The actions the worker would accept from this user on this case now."""
    out = []
    for kind in ACTION_KINDS:
        if kind in SUSPECT_VERDICTS:
            continue  # given on the suspect pages, not on a case
        probe = CaseAction.model_validate(
            {
                "action_id": "probe",
                "case_id": case.case_id if case else "probe",
                "action": kind,
                "at": datetime.now(UTC),
                "actor": "probe",
                "actor_role": role,
                "actor_departments": departments,
                **_PROBE_DETAILS.get(kind, {}),
            },
            strict=False,
        )
        if isinstance(judge(case, probe), CaseEvent):
            out.append(kind)
    return out


def working_days_left(due: datetime, now: datetime, calendar: WorkingCalendar) -> int:
    """Working days from today (China time) to the due day: 0 on the day, negative when late."""
    today, last = now.astimezone(CHINA).date(), due.astimezone(CHINA).date()
    if due <= now:
        return -_workdays_between(last, today, calendar) if last < today else 0
    return _workdays_between(today, last, calendar)


def _workdays_between(first: date, last: date, calendar: WorkingCalendar) -> int:
    """Working days after ``first`` up to and including ``last``."""
    days, day = 0, first
    while day < last:
        day += timedelta(days=1)
        days += calendar.is_workday(day)
    return days
