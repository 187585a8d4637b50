"""The follow-up case of a bad review (差评整改闭环) as a pure state machine: no Kafka, no Faust.

A case opens for every bad review (level 1 or 2), either from the evaluation on
``ratings.valid`` or from an ``opened`` event on ``cases.events``: whichever comes first, the
other is a no-op. ``opened_at`` is when the case reached the department: the platform's
receipt of the bad review (its ``ingested_at``, the Kafka record time on ``ratings.raw``), when
the worker routes it to the department as the ``opened`` event. The two deadlines count from
it, not from the evaluation time: a department cannot call back about a bad review it has not
yet been sent (国办发〔2019〕51号: the department that handled the matter calls back and
verifies the 差评 it receives; the provincial rules count 1 working day to call back and 15 to
rectify from receipt, README "Follow-up of bad reviews"). Call back (回访核实) within
``callback_working_days`` (1) and rectify (整改反馈) within ``rectification_working_days``
(15) working days, per :mod:`streams.cases.deadlines`. The deadlines are fixed when the case opens,
so a later change of the holiday configuration does not move the deadlines of existing
cases, and a ``routed`` event (转办) does not restart them: the citizen waits either way.

Rules, decided here:

* ``called_back`` satisfies the callback deadline, ``rectified`` the rectification deadline; a
  step done after its deadline still satisfies it (no further warnings) and is recorded as
  late (:meth:`Case.is_late`).
* ``closed`` and ``appeal_upheld`` (the bad review was judged malicious or mistaken) close the
  case: no warnings after that. ``appealed`` does NOT stop the clocks: an appeal may be
  rejected, and the department must then have called back and rectified in time anyway.
* Idempotent and order-independent: each step keeps the EARLIEST time it was reported, the
  responsible department is the one of the LATEST ``routed`` event (by event time). Replaying
  the same events, in any order, leaves the same state.
* Events for a case that is not open yet are kept pending (bounded per case) and applied when
  the case opens, before any of its deadlines is judged: a department system can report a
  step before the pipeline has seen the bad review (a rating pad that synced late, a
  department that heard of it at the counter); the deadlines cannot be computed without the
  receipt, so creating the case from such an event is not an option. They wait
  ``pending_days`` (31), longer than a bad review may arrive late (``late_horizon_days``).
* A step done before the case opened satisfies its deadline like any step in time: no
  warning is ever raised for a deadline already met.
* Warnings: for each deadline, ``due_soon`` at ``due - hours_before`` (never before the case
  opened) and ``overdue`` at ``due``. :func:`warnings_due` returns those whose time has come,
  whose deadline is still unsatisfied and whose case is still open AS OF THE EVENTS APPLIED SO
  FAR, and records them so each is returned once. A warning whose step was done before the
  warning was computed is never sent (no stale reminders after a backfill or a slow tick).
* The warning ``at`` is the time it fell due, not the time of the call: a re-send after a crash
  (the agent persists the case after producing the warnings) is byte-identical.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field

from runtime.settings import default
from schemas.cases import CaseEvent, CaseWarning, Deadline, UtcDatetime, WarningKind
from schemas.codes import is_bad
from schemas.evaluation import Evaluation
from streams.cases.deadlines import WorkingCalendar, due_soon_at

STATE_VERSION: Final = 1
DEADLINES: Final[tuple[Deadline, ...]] = get_args(Deadline)
KINDS: Final[tuple[WarningKind, ...]] = get_args(WarningKind)
# Steps kept as "earliest time reported"; `opened` and `routed` are handled separately.
StepKind = Literal[
    "verified",
    "called_back",
    "rectified",
    "rectification_rated",
    "appealed",
    "appeal_upheld",
    "appeal_rejected",
    "closed",
]
_SATISFIED_BY: Final[dict[Deadline, StepKind]] = {
    "callback": "called_back",
    "rectification": "rectified",
}
_CLOSING: Final[tuple[StepKind, ...]] = ("closed", "appeal_upheld")
_TICK: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class CasePolicy:
    callback_working_days: int = default("case_callback_working_days")
    rectification_working_days: int = default("case_rectification_working_days")
    # 8 h before a 24:00 deadline is 16:00 China time on the last day: still office hours.
    callback_due_soon_hours: int = 8
    rectification_due_soon_hours: int = 48
    # 督办 levels: a deadline still missed this many working days after it escalates, and
    # again after twice as many
    escalate_working_days: int = default("case_escalate_working_days")
    # A department system stuck in a loop must not grow the state without bound.
    max_pending_per_case: int = 64
    max_routes_per_case: int = 32
    # A finished case is kept this long after it finished, then dropped: longer than the
    # ingest dedupe horizon (30 days), so a resent bad review cannot reopen it.
    retention_days: int = default("case_retention_days")
    # Events of a case that never opened (a wrong case_id, a review never sent) wait this long:
    # longer than the long horizon, as late as a bad review may still arrive and open its case.
    pending_days: int = default("case_pending_days")

    def __post_init__(self) -> None:
        if self.callback_working_days < 1 or self.rectification_working_days < 1:
            raise ValueError("deadlines must be at least 1 working day")
        if self.callback_due_soon_hours < 0 or self.rectification_due_soon_hours < 0:
            raise ValueError("due-soon hours must not be negative")
        if self.retention_days < 1 or self.pending_days < 1:
            raise ValueError("retention and pending days must be at least 1")


class Route(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: UtcDatetime
    department_code: str


class Verification(BaseModel):
    """核实: what the responsible department found (the earliest report counts)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    truthful: bool
    reasonable: bool
    category: str


class Case(BaseModel):
    """State of one case; JSON-serializable with :meth:`to_state` / :meth:`from_state`."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    department_code: str = Field(description="department of the evaluation")
    service_code: str
    level: int
    opened_at: UtcDatetime
    due: dict[Deadline, UtcDatetime]
    due_soon: dict[Deadline, UtcDatetime]
    steps: dict[StepKind, UtcDatetime] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list, description="sorted by (at, department)")
    emitted: list[str] = Field(default_factory=list, description="'deadline:kind', sorted")
    # when each deadline escalates ('deadline:escalated_1'); a case opened before escalation
    # existed has none and never escalates
    escalations: dict[str, UtcDatetime] = Field(default_factory=dict)
    # issue 27: what the steps said, and the verdicts on the actions judged (rules.py)
    verification: Verification | None = None
    callback_outcome: str | None = None
    satisfaction: str | None = None
    reroute_requested_at: UtcDatetime | None = Field(None, description="the latest request")
    reroute_refused_at: UtcDatetime | None = Field(None, description="the latest refusal")
    verdicts: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="action_id → {'event': …} or {'refused': message}"
    )

    @property
    def closed_at(self) -> datetime | None:
        times = [self.steps[k] for k in _CLOSING if k in self.steps]
        return min(times) if times else None

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def done_at(self, deadline: Deadline) -> datetime | None:
        return self.steps.get(_SATISFIED_BY[deadline])

    def is_late(self, deadline: Deadline) -> bool:
        """The step was done, after its deadline. (Not done yet and past the deadline is for a
        caller with a clock to decide: this looks only at recorded steps.)"""
        done = self.done_at(deadline)
        return done is not None and done > self.due[deadline]

    @property
    def responsible_department(self) -> str:
        return self.routes[-1].department_code if self.routes else self.department_code

    @property
    def reroute_pending(self) -> bool:
        """A 退单 request the office has not answered (by a route or a refusal) yet."""
        asked = self.reroute_requested_at
        if asked is None:
            return False
        answers = [r.at for r in self.routes] + [self.reroute_refused_at or asked - _TICK]
        return max(answers) < asked

    @property
    def appeal_pending(self) -> bool:
        return "appealed" in self.steps and not (
            "appeal_upheld" in self.steps or "appeal_rejected" in self.steps
        )

    @property
    def is_finished(self) -> bool:
        """No warning can come any more: the agent may drop the case after a retention."""
        return self.is_closed or all(self.done_at(d) is not None for d in DEADLINES)

    @property
    def finished_at(self) -> datetime | None:
        """When it finished: closed, or the later of its two steps once both are done."""
        if self.closed_at is not None:
            return self.closed_at
        done = [self.done_at(d) for d in DEADLINES]
        return max(d for d in done if d is not None) if all(done) else None

    def warning_time(self, deadline: Deadline, kind: WarningKind) -> datetime | None:
        if kind == "overdue":
            return self.due[deadline]
        if kind == "due_soon":
            return self.due_soon[deadline]
        return self.escalations.get(f"{deadline}:{kind}")

    def to_state(self) -> dict[str, Any]:
        return {"v": STATE_VERSION, **self.model_dump(mode="json")}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Self:
        version = state.get("v")
        if version != STATE_VERSION:
            raise ValueError(f"unknown case state version {version!r}")
        return cls.model_validate({k: v for k, v in state.items() if k != "v"})


def open_case(
    *,
    case_id: str,
    department_code: str,
    service_code: str,
    level: int,
    received_at: datetime,
    calendar: WorkingCalendar,
    policy: CasePolicy,
) -> Case:
    """The case of a bad review the platform received (and sent to its department) at
    ``received_at``: its deadlines count from then, not from the evaluation time."""
    if not is_bad(level):
        raise ValueError(f"only a bad review (level 1 or 2) opens a case, got level {level}")
    opened_at = received_at.astimezone(UTC)
    days: dict[Deadline, int] = {
        "callback": policy.callback_working_days,
        "rectification": policy.rectification_working_days,
    }
    hours: dict[Deadline, int] = {
        "callback": policy.callback_due_soon_hours,
        "rectification": policy.rectification_due_soon_hours,
    }
    due = {d: calendar.add_working_days(opened_at, days[d]) for d in DEADLINES}
    # A reminder cannot fall due before the case exists (a huge hours_before).
    soon = {d: max(opened_at, due_soon_at(due[d], hours[d])) for d in DEADLINES}
    step = policy.escalate_working_days
    escalations = {
        f"{d}:escalated_{level}": calendar.add_working_days(due[d], step * level)
        for d in DEADLINES
        for level in (1, 2)
    }
    return Case(
        escalations=escalations,
        case_id=case_id,
        department_code=department_code,
        service_code=service_code,
        level=level,
        opened_at=opened_at,
        due=due,
        due_soon=soon,
    )


def case_from_evaluation(
    evaluation: Evaluation, calendar: WorkingCalendar, policy: CasePolicy
) -> Case | None:
    """The case a bad review opens; ``None`` for any other review."""
    if not evaluation.is_bad:
        return None
    return open_case(
        case_id=evaluation.evaluation_id,
        department_code=evaluation.department_code,
        service_code=evaluation.service_code,
        level=evaluation.level,
        received_at=evaluation.ingested_at,
        calendar=calendar,
        policy=policy,
    )


def case_from_event(event: CaseEvent, calendar: WorkingCalendar, policy: CasePolicy) -> Case:
    """The case an ``opened`` event opens; its ``at`` is when the platform received the bad
    review and routed it to the department (streams/ingest/step.py)."""
    if event.event != "opened" or event.level is None or event.evaluated_at is None:
        raise ValueError("a case opens from an 'opened' event carrying the evaluation")
    return open_case(
        case_id=event.case_id,
        department_code=event.department_code,
        service_code=event.service_code or "",
        level=event.level,
        received_at=event.at,
        calendar=calendar,
        policy=policy,
    )


def apply_event(case: Case, event: CaseEvent, policy: CasePolicy | None = None) -> bool:
    """Apply one event to its case; True if the state changed. ``opened`` is a no-op here."""
    if event.case_id != case.case_id:
        raise ValueError(f"event for case {event.case_id!r} applied to case {case.case_id!r}")
    if event.event == "opened":
        return False
    if event.event == "routed":
        route = Route(at=event.at, department_code=event.department_code)
        if route in case.routes:
            return False
        routes = sorted([*case.routes, route], key=lambda r: (r.at, r.department_code))
        limit = (policy or CasePolicy()).max_routes_per_case
        # Keep the latest ones: only the last route decides the responsible department.
        case.routes = routes[-limit:]
        return True
    if event.event == "suspect_confirmed" or event.event == "suspect_cleared":
        return False  # a review of a suspect evaluation is not a step of its follow-up
    if event.event == "reroute_requested" or event.event == "reroute_refused":
        return _latest_reroute(case, event)
    kind: StepKind = event.event
    known = case.steps.get(kind)
    if known is not None and known <= event.at:
        return False
    case.steps[kind] = event.at
    _details(case, event)
    return True


def _latest_reroute(case: Case, event: CaseEvent) -> bool:
    field = "reroute_requested_at" if event.event == "reroute_requested" else "reroute_refused_at"
    known = getattr(case, field)
    if known is not None and known >= event.at:
        return False
    setattr(case, field, event.at)
    return True


def _details(case: Case, event: CaseEvent) -> None:
    """What the earliest report of a step said, beside its time."""
    if event.event == "verified" and event.truthful is not None:
        case.verification = Verification(
            truthful=event.truthful,
            reasonable=bool(event.reasonable),
            category=event.category or "other",
        )
    elif event.event == "called_back":
        case.callback_outcome = event.outcome
    elif event.event == "rectification_rated":
        case.satisfaction = event.satisfaction


def pending_warnings(case: Case, now: datetime) -> list[CaseWarning]:
    """Warnings :func:`warnings_due` would return at ``now``, without recording them."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if case.is_closed:
        return []
    out: list[CaseWarning] = []
    for deadline in DEADLINES:
        if case.done_at(deadline) is not None:
            continue
        for kind in KINDS:
            at = case.warning_time(deadline, kind)
            if at is None or at > now or f"{deadline}:{kind}" in case.emitted:
                continue
            out.append(
                CaseWarning(
                    case_id=case.case_id,
                    deadline=deadline,
                    kind=kind,
                    due_at=case.due[deadline],
                    at=at,
                    department_code=case.responsible_department,
                )
            )
    out.sort(key=lambda w: (w.at, DEADLINES.index(w.deadline), KINDS.index(w.kind)))
    return out


def warnings_due(case: Case, now: datetime) -> list[CaseWarning]:
    """Warnings whose time has come and that were not returned before; records them."""
    out = pending_warnings(case, now)
    if out:
        case.emitted = sorted({*case.emitted, *(f"{w.deadline}:{w.kind}" for w in out)})
    return out


def next_warning_at(case: Case) -> datetime | None:
    """When the next warning of this case falls due (for the agent's timer); None if none."""
    if case.is_closed:
        return None
    times = [
        at
        for d in DEADLINES
        if case.done_at(d) is None
        for k in KINDS
        if f"{d}:{k}" not in case.emitted and (at := case.warning_time(d, k)) is not None
    ]
    return min(times) if times else None


class CaseBook:
    """The cases of one partition of ``cases.events``, and events waiting for their case.

    This is what the worker runs. ``state`` is the durable memory (the worker's Faust table,
    a dict in tests), one entry per case under ``"<partition>|<case_id>"``: either the case
    or ``{"pending": [events]}`` while its case has not opened. Besides it the book keeps
    an index of when each case next needs a warning, rebuilt from ``state`` on first use, so
    warnings cost a heap pop instead of a scan of every case.
    """

    def __init__(
        self,
        calendar: WorkingCalendar | None = None,
        policy: CasePolicy | None = None,
        *,
        state: MutableMapping[str, Any] | None = None,
        partition: int = 0,
    ) -> None:
        self.calendar = calendar or WorkingCalendar()
        self.policy = policy or CasePolicy()
        self._state: MutableMapping[str, Any] = {} if state is None else state
        self._prefix = f"{partition}|"
        self._index: tuple[dict[str, datetime], list[tuple[datetime, str]]] | None = None
        # when each entry (a finished case, or events waiting for their case) may go
        self._expiry: list[tuple[datetime, str]] | None = None
        self.pending_dropped = 0
        self.expired = 0

    def _name(self, case_id: str) -> str:
        return f"{self._prefix}{case_id}"

    def _own(self) -> Iterator[tuple[str, Any]]:
        for name in list(self._state):
            if name.startswith(self._prefix):
                yield name.removeprefix(self._prefix), self._state[name]

    @property
    def cases(self) -> dict[str, Case]:
        return {cid: Case.from_state(s) for cid, s in self._own() if "pending" not in s}

    @property
    def pending(self) -> dict[str, list[CaseEvent]]:
        return {
            cid: [CaseEvent.model_validate_json(_json(e)) for e in s["pending"]]
            for cid, s in self._own()
            if "pending" in s
        }

    def case(self, case_id: str) -> Case | None:
        """The open case of that id, if any (events waiting for their case are not one)."""
        stored = self._state.get(self._name(case_id))
        return None if stored is None or "pending" in stored else Case.from_state(stored)

    def save(self, case: Case) -> None:
        """Keep a case changed outside the book (a verdict on an action, rules.py)."""
        self._save(case)

    def open_from_evaluation(self, evaluation: Evaluation) -> Case | None:
        """Open the case of a bad review (no-op if open); None for a review that is not bad."""
        if not evaluation.is_bad:
            return None
        stored = self._state.get(self._name(evaluation.evaluation_id))
        if stored is not None and "pending" not in stored:
            return Case.from_state(stored)
        case = case_from_evaluation(evaluation, self.calendar, self.policy)
        assert case is not None  # is_bad checked above
        self._opened(case, stored)
        return case

    def apply(self, event: CaseEvent) -> Case | None:
        """Apply an event; returns its case, or None if the event waits for the case to open."""
        name = self._name(event.case_id)
        stored = self._state.get(name)
        if stored is not None and "pending" not in stored:
            case = Case.from_state(stored)
            if apply_event(case, event, self.policy):
                self._save(case)
            return case
        if event.event == "opened":
            case = case_from_event(event, self.calendar, self.policy)
            self._opened(case, stored)
            return case
        waiting = (stored or {}).get("pending", [])
        record = event.model_dump(mode="json", exclude_none=True)
        if record in waiting:
            return None
        if len(waiting) >= self.policy.max_pending_per_case:
            self.pending_dropped += 1
            return None
        self._state[name] = {"pending": [*waiting, record]}
        if not waiting:
            self._expire_at(event.at + timedelta(days=self.policy.pending_days), event.case_id)
        return None

    def _opened(self, case: Case, stored: dict[str, Any] | None) -> None:
        for waiting in (stored or {}).get("pending", []):
            apply_event(case, CaseEvent.model_validate_json(_json(waiting)), self.policy)
        self._save(case)

    def _save(self, case: Case) -> None:
        self._state[self._name(case.case_id)] = case.to_state()
        self._schedule(case)
        if case.finished_at is not None:
            keep = timedelta(days=self.policy.retention_days)
            self._expire_at(case.finished_at + keep, case.case_id)

    def _expiry_index(self) -> list[tuple[datetime, str]]:
        if self._expiry is None:
            self._expiry = []
            for case_id, stored in self._own():
                when = self._expires(stored)
                if when is not None:
                    heapq.heappush(self._expiry, (when, case_id))
        return self._expiry

    def _expire_at(self, when: datetime, case_id: str) -> None:
        heapq.heappush(self._expiry_index(), (when, case_id))

    def _expires(self, stored: dict[str, Any]) -> datetime | None:
        """When an entry may be dropped, as its state stands now (None: not yet known)."""
        if "pending" in stored:
            first = min(CaseEvent.model_validate_json(_json(e)).at for e in stored["pending"])
            return first + timedelta(days=self.policy.pending_days)
        finished = Case.from_state(stored).finished_at
        return None if finished is None else finished + timedelta(days=self.policy.retention_days)

    def expire(self, now: datetime) -> int:
        """Drop what is due by ``now``: finished cases past their retention and events that
        waited too long for their case. Touches only what is due, never every entry."""
        heap, dropped = self._expiry_index(), 0
        while heap and heap[0][0] <= now:
            _, case_id = heapq.heappop(heap)
            stored = self._state.get(self._name(case_id))
            if stored is None:
                continue
            when = self._expires(stored)
            if when is None or when > now:
                continue  # it changed since (opened, or reopened by a late step)
            del self._state[self._name(case_id)]
            if self._index is not None:
                self._index[0].pop(case_id, None)
            dropped += 1
        self.expired += dropped
        return dropped

    def _warning_index(self) -> tuple[dict[str, datetime], list[tuple[datetime, str]]]:
        if self._index is None:
            self._index = ({}, [])
            for _, stored in self._own():
                if "pending" not in stored:
                    self._schedule(Case.from_state(stored))
        return self._index

    def _schedule(self, case: Case) -> None:
        when_by_case, heap = self._warning_index()
        when = next_warning_at(case)
        if when is None:
            when_by_case.pop(case.case_id, None)
        elif when_by_case.get(case.case_id) != when:
            when_by_case[case.case_id] = when
            heapq.heappush(heap, (when, case.case_id))

    def warnings_due(self, now: datetime) -> list[CaseWarning]:
        """Warnings whose time has come, each returned once; the cases record them."""
        when_by_case, heap = self._warning_index()
        out: list[CaseWarning] = []
        while heap and heap[0][0] <= now:
            when, case_id = heapq.heappop(heap)
            if when_by_case.get(case_id) != when:
                continue  # superseded by a later schedule of the same case
            del when_by_case[case_id]
            case = Case.from_state(self._state[self._name(case_id)])
            due = warnings_due(case, now)
            if due:
                out += due
                self._save(case)
            else:
                self._schedule(case)
        out.sort(key=lambda w: (w.at, w.case_id, DEADLINES.index(w.deadline)))
        return out

    def next_warning_at(self) -> datetime | None:
        when_by_case, _ = self._warning_index()
        return min(when_by_case.values()) if when_by_case else None

    def drop(self, case_ids: Iterable[str]) -> None:
        when_by_case, _ = self._warning_index()
        for case_id in case_ids:
            self._state.pop(self._name(case_id), None)
            when_by_case.pop(case_id, None)

    def forget_index(self) -> None:
        """The partition moved away: the indexes are rebuilt from state by its next owner."""
        self._index = None
        self._expiry = None

    def to_state(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "cases": {cid: c.to_state() for cid, c in sorted(self.cases.items())},
            "pending": {
                cid: [e.model_dump(mode="json", exclude_none=True) for e in events]
                for cid, events in sorted(self.pending.items())
            },
            "pending_dropped": self.pending_dropped,
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        calendar: WorkingCalendar | None = None,
        policy: CasePolicy | None = None,
    ) -> Self:
        version = state.get("v")
        if version != STATE_VERSION:
            raise ValueError(f"unknown case book state version {version!r}")
        book = cls(calendar, policy)
        for cid, case_state in state["cases"].items():
            book._state[book._name(cid)] = Case.from_state(case_state).to_state()
        for cid, events in state["pending"].items():
            # Strict CaseEvent wants JSON input for datetimes: re-validate through JSON mode.
            checked = [CaseEvent.model_validate_json(_json(e)) for e in events]
            book._state[book._name(cid)] = {
                "pending": [e.model_dump(mode="json", exclude_none=True) for e in checked]
            }
        book.pending_dropped = int(state.get("pending_dropped", 0))
        return book


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
