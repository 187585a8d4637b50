from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from schemas.cases import CaseEvent, CaseEventKind, CaseWarning
from schemas.codes import Channel
from schemas.evaluation import Evaluation
from streams.cases.book import (
    Case,
    CaseBook,
    CasePolicy,
    apply_event,
    case_from_evaluation,
    next_warning_at,
    pending_warnings,
    warnings_due,
)
from streams.cases.deadlines import WorkingCalendar

CN = timezone(timedelta(hours=8))
CAL = WorkingCalendar()
POLICY = CasePolicy()


def cn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN).astimezone(UTC)


def evaluation(
    case_id: str,
    at: datetime,
    level: int = 1,
    dept: str = "D1",
    received: datetime | None = None,
) -> Evaluation:
    return Evaluation(
        evaluation_id=case_id,
        service_code="S1",
        department_code=dept,
        region_code="310101",
        channel=Channel.COUNTER,
        channel_code=4,
        level=level,
        evaluated_at=at,
        ingested_at=received or at,
    )


def event(case_id: str, kind: CaseEventKind, at: datetime, dept: str = "D1") -> CaseEvent:
    return CaseEvent.model_validate_json(
        json.dumps(
            {"case_id": case_id, "event": kind, "at": at.isoformat(), "department_code": dept}
        )
    )


def ids(warnings: list[CaseWarning]) -> list[str]:
    return [w.warning_id for w in warnings]


def test_case_before_national_day() -> None:
    case = case_from_evaluation(evaluation("E1", cn(2026, 9, 30, 10, 15)), CAL, POLICY)
    assert case is not None
    assert case.due == {"callback": cn(2026, 10, 9), "rectification": cn(2026, 10, 28)}
    assert case.due_soon == {"callback": cn(2026, 10, 8, 16), "rectification": cn(2026, 10, 26)}
    assert warnings_due(case, cn(2026, 10, 8, 15, 59)) == []
    assert ids(warnings_due(case, cn(2026, 10, 8, 16))) == ["E1:callback:due_soon"]
    assert warnings_due(case, cn(2026, 10, 8, 23)) == []
    [overdue] = warnings_due(case, cn(2026, 10, 9))
    assert overdue.warning_id == "E1:callback:overdue"
    assert overdue.at == overdue.due_at == cn(2026, 10, 9)
    # Called back a day late: satisfies the deadline, recorded as late, no more callback noise.
    apply_event(case, event("E1", "called_back", cn(2026, 10, 9, 11)))
    assert case.is_late("callback")
    assert next_warning_at(case) == cn(2026, 10, 26)
    assert ids(warnings_due(case, cn(2026, 11, 30))) == [
        "E1:rectification:due_soon",
        "E1:rectification:overdue",
        # 督办: still not rectified 3 working days after the deadline (Friday 30 October,
        # Monday 2, Tuesday 3 November), then 6
        "E1:rectification:escalated_1",
        "E1:rectification:escalated_2",
    ]
    assert case.escalations["rectification:escalated_1"] == cn(2026, 11, 3)
    assert case.escalations["rectification:escalated_2"] == cn(2026, 11, 6)
    assert next_warning_at(case) is None
    assert warnings_due(case, cn(2026, 12, 31)) == []


def test_good_review_opens_no_case() -> None:
    book = CaseBook(CAL, POLICY)
    assert book.open_from_evaluation(evaluation("E1", cn(2026, 9, 30), level=3)) is None
    assert book.cases == {}


def test_steps_in_time_mean_no_warnings() -> None:
    book = CaseBook(CAL, POLICY)
    book.open_from_evaluation(evaluation("E1", cn(2026, 10, 12, 9)))
    book.apply(event("E1", "called_back", cn(2026, 10, 12, 15)))
    book.apply(event("E1", "rectified", cn(2026, 10, 20, 15)))
    assert book.warnings_due(cn(2027, 1, 1)) == []
    assert book.cases["E1"].is_finished
    assert not book.cases["E1"].is_late("rectification")


def test_no_stale_warning_after_a_slow_tick() -> None:
    book = CaseBook(CAL, POLICY)
    book.open_from_evaluation(evaluation("E1", cn(2026, 10, 12, 9)))
    # Done after the due-soon time, but before anyone asked: the reminder is not sent.
    book.apply(event("E1", "called_back", cn(2026, 10, 13, 17)))
    assert book.warnings_due(cn(2026, 10, 13, 18)) == []


@pytest.mark.parametrize("closing", ["closed", "appeal_upheld"])
def test_closing_stops_warnings(closing: CaseEventKind) -> None:
    book = CaseBook(CAL, POLICY)
    book.open_from_evaluation(evaluation("E1", cn(2026, 10, 12, 9)))
    book.apply(event("E1", "appealed", cn(2026, 10, 12, 10)))
    book.apply(event("E1", closing, cn(2026, 10, 12, 11)))
    assert book.warnings_due(cn(2027, 1, 1)) == []
    assert book.cases["E1"].is_finished


def test_appeal_rejected_does_not_stop_the_clock() -> None:
    book = CaseBook(CAL, POLICY)
    book.open_from_evaluation(evaluation("E1", cn(2026, 10, 12, 9)))
    book.apply(event("E1", "appealed", cn(2026, 10, 12, 10)))
    book.apply(event("E1", "appeal_rejected", cn(2026, 10, 13, 10)))
    assert ids(book.warnings_due(cn(2026, 10, 14))) == [
        "E1:callback:due_soon",
        "E1:callback:overdue",
    ]


def test_events_before_the_case_are_kept_pending() -> None:
    book = CaseBook(CAL, POLICY)
    assert book.apply(event("E1", "called_back", cn(2026, 10, 12, 15))) is None
    assert book.apply(event("E1", "called_back", cn(2026, 10, 12, 15))) is None  # duplicate
    assert len(book.pending["E1"]) == 1
    book = CaseBook.from_state(json.loads(json.dumps(book.to_state())), CAL, POLICY)
    case = book.open_from_evaluation(evaluation("E1", cn(2026, 10, 12, 9)))
    assert case is not None
    assert case.done_at("callback") == cn(2026, 10, 12, 15)
    assert book.pending == {}


def test_pending_is_bounded() -> None:
    book = CaseBook(CAL, CasePolicy(max_pending_per_case=2))
    for hour in range(5):
        book.apply(event("E1", "routed", cn(2026, 10, 12, hour)))
    assert len(book.pending["E1"]) == 2
    assert book.pending_dropped == 3


def test_opened_event_and_evaluation_open_the_same_case() -> None:
    at = cn(2026, 10, 12, 9)
    opened = CaseEvent.model_validate_json(
        json.dumps(
            {
                "case_id": "E1",
                "event": "opened",
                "at": (at + timedelta(minutes=5)).isoformat(),
                "department_code": "D1",
                "service_code": "S1",
                "level": 1,
                "evaluated_at": at.isoformat(),
            }
        )
    )
    # the worker's opened event is dated when the platform received the review
    received = at + timedelta(minutes=5)
    by_event, by_evaluation = CaseBook(CAL, POLICY), CaseBook(CAL, POLICY)
    by_event.apply(opened)
    by_event.open_from_evaluation(evaluation("E1", at, received=received))
    by_evaluation.open_from_evaluation(evaluation("E1", at, received=received))
    by_evaluation.apply(opened)
    assert by_event.to_state() == by_evaluation.to_state()
    assert Case.from_state(by_event.to_state()["cases"]["E1"]).opened_at == received


def test_a_bad_review_arriving_days_late_has_its_deadlines_from_its_arrival() -> None:
    # evaluated on Monday 9 November, received on Tuesday 17 November at 10:00
    evaluated, received = cn(2026, 11, 9, 10), cn(2026, 11, 17, 10)
    book = CaseBook(CAL, POLICY)
    case = book.open_from_evaluation(evaluation("E1", evaluated, received=received))
    assert case is not None
    assert case.opened_at == received
    assert case.due["callback"] == cn(2026, 11, 19)  # end of Wednesday 18th, 1 working day
    assert book.warnings_due(received) == []  # nothing is overdue at once
    soon = book.warnings_due(cn(2026, 11, 18, 16))
    assert [(w.deadline, w.kind) for w in soon] == [("callback", "due_soon")]


def test_a_call_back_that_came_before_its_late_review_prevents_every_call_back_warning() -> None:
    evaluated = cn(2026, 11, 9, 10)
    book = CaseBook(CAL, POLICY)
    # the department reports the call-back 3 hours after the review, 8 days before the
    # platform receives the review; the partition's clock moves on meanwhile
    assert book.apply(event("E1", "called_back", evaluated + timedelta(hours=3))) is None
    clock = cn(2026, 11, 17, 10)
    assert book.expire(clock) == 0  # still waiting for its case: 31 days
    assert book.warnings_due(clock) == []
    case = book.open_from_evaluation(evaluation("E1", evaluated, received=clock))
    assert case is not None and case.done_at("callback") == evaluated + timedelta(hours=3)
    for day in range(17, 31):  # a month on: no call-back warning, ever
        warned = book.warnings_due(cn(2026, 11, day, 23))
        assert not [w for w in warned if w.deadline == "callback"]


def test_replays_in_any_order_give_the_same_state() -> None:
    events = [
        event("E1", "routed", cn(2026, 10, 12, 10), dept="D2"),
        event("E1", "routed", cn(2026, 10, 12, 11), dept="D3"),
        event("E1", "called_back", cn(2026, 10, 13, 10)),
        event("E1", "called_back", cn(2026, 10, 13, 9)),
        event("E1", "appealed", cn(2026, 10, 14, 9)),
        event("E1", "appeal_rejected", cn(2026, 10, 15, 9)),
    ]
    states = []
    for seed in range(5):
        shuffled = events * 2
        random.Random(seed).shuffle(shuffled)
        book = CaseBook(CAL, POLICY)
        book.open_from_evaluation(evaluation("E1", cn(2026, 10, 12, 9)))
        for e in shuffled:
            book.apply(e)
        states.append(book.to_state())
    assert all(s == states[0] for s in states)
    case = Case.from_state(states[0]["cases"]["E1"])
    assert case.responsible_department == "D3"
    assert case.done_at("callback") == cn(2026, 10, 13, 9)


def test_state_version_is_checked() -> None:
    with pytest.raises(ValueError, match="version"):
        CaseBook.from_state({"v": 99, "cases": {}, "pending": {}})


# --- A simulated month ---------------------------------------------------------------------

START = cn(2026, 9, 14)
END = cn(2026, 11, 30)


@dataclass
class Plan:
    case_id: str
    opened_at: datetime
    open_delay: timedelta
    events: list[CaseEvent] = field(default_factory=list)


def make_plans() -> list[Plan]:
    rng = random.Random(20260930)
    plans = []
    for i in range(50):
        cid = f"E{i:03d}"
        # Spread over 15 Sep – 20 Oct 2026: Mid-Autumn, National Day and both make-up days.
        opened_at = cn(2026, 9, 15, 8) + timedelta(minutes=rng.randrange(0, 35 * 24 * 60))
        plan = Plan(cid, opened_at, timedelta(0))
        case = case_from_evaluation(evaluation(cid, opened_at), CAL, POLICY)
        assert case is not None
        cb, rect = case.due["callback"], case.due["rectification"]
        scenario = i % 8

        def at(t: datetime, kind: CaseEventKind, dept: str = "D1", plan: Plan = plan) -> None:
            plan.events.append(event(plan.case_id, kind, t, dept))

        if scenario == 0:  # everything in time
            at(opened_at + timedelta(hours=2), "called_back")
            at(rect - timedelta(days=5), "rectified")
        elif scenario == 1:  # callback late, rectification in time
            at(cb + timedelta(hours=rng.randrange(1, 30)), "called_back")
            at(rect - timedelta(hours=rng.randrange(1, 40)), "rectified")
        elif scenario == 2:  # nothing ever happens
            pass
        elif scenario == 3:  # rectified late, after being re-routed
            at(opened_at + timedelta(hours=1), "routed", "D2")
            at(cb - timedelta(hours=rng.randrange(1, 6)), "called_back", "D2")
            at(rect + timedelta(days=2), "rectified", "D2")
        elif scenario == 4:  # appeal upheld before anything is due
            at(opened_at + timedelta(hours=1), "appealed")
            at(opened_at + timedelta(hours=3), "appeal_upheld")
        elif scenario == 5:  # appeal rejected, then done late
            at(opened_at + timedelta(hours=1), "appealed")
            at(cb + timedelta(days=1), "appeal_rejected")
            at(cb + timedelta(days=2), "called_back")
        elif scenario == 6:  # the department reports before the pipeline sees the review
            plan.open_delay = timedelta(hours=3)
            at(opened_at + timedelta(hours=1), "called_back")
            at(opened_at + timedelta(hours=2), "routed", "D9")
        else:  # closed administratively after the callback overdue
            at(cb + timedelta(hours=5), "closed")
        # Department systems retry: every event is sent twice.
        plan.events += [e.model_copy() for e in plan.events]
        plans.append(plan)
    return plans


def expected_warnings(plans: list[Plan]) -> dict[str, CaseWarning]:
    """The rule, written independently of streams.cases.book: a warning falls due at T unless its
    step or a closure happened at or before T."""
    out = {}
    for plan in plans:
        case = case_from_evaluation(evaluation(plan.case_id, plan.opened_at), CAL, POLICY)
        assert case is not None
        first: dict[str, datetime] = {}
        for e in plan.events:
            first[e.event] = min(first.get(e.event, e.at), e.at)
        routes = sorted((e.at, e.department_code) for e in plan.events if e.event == "routed")
        closes = [first[k] for k in ("closed", "appeal_upheld") if k in first]
        for deadline, step in (("callback", "called_back"), ("rectification", "rectified")):
            due = case.due[deadline]
            for kind, t in (
                ("due_soon", due - timedelta(hours=8 if step == "called_back" else 48)),
                ("overdue", due),
                # 督办: still missed 3 and 6 working days after the deadline
                ("escalated_1", CAL.add_working_days(due, 3)),
                ("escalated_2", CAL.add_working_days(due, 6)),
            ):
                if t > END or (step in first and first[step] <= t) or any(c <= t for c in closes):
                    continue
                dept = routes[-1][1] if routes else "D1"
                w = CaseWarning.model_validate(
                    {
                        "case_id": plan.case_id,
                        "deadline": deadline,
                        "kind": kind,
                        "due_at": due,
                        "at": t,
                        "department_code": dept,
                    }
                )
                out[w.warning_id] = w
    return out


def simulate(plans: list[Plan], restore_every: int | None) -> list[tuple[datetime, CaseWarning]]:
    arrivals: list[tuple[datetime, int, Any]] = []
    for plan in plans:
        arrivals.append((plan.opened_at + plan.open_delay, 0, plan))
        arrivals += [(e.at, 1, e) for e in plan.events]
    arrivals.sort(key=lambda a: (a[0], a[1]))
    # Every warning time, one microsecond before it, and a regular 47-minute tick.
    ticks = {w.at for w in expected_warnings(plans).values()}
    ticks |= {t - timedelta(microseconds=1) for t in ticks}
    t = START
    while t <= END:
        ticks.add(t)
        t += timedelta(minutes=47)
    book = CaseBook(CAL, POLICY)
    emitted: list[tuple[datetime, CaseWarning]] = []
    i = 0
    for n, tick in enumerate(sorted(ticks)):
        # Events at the tick's time are applied before it: a step done exactly at the deadline
        # is in time.
        while i < len(arrivals) and arrivals[i][0] <= tick:
            _, is_event, item = arrivals[i]
            if is_event:
                book.apply(item)
            else:
                book.open_from_evaluation(evaluation(item.case_id, item.opened_at))
            i += 1
        emitted += [(tick, w) for w in book.warnings_due(tick)]
        if restore_every and n % restore_every == restore_every - 1:
            state = json.loads(json.dumps(book.to_state()))
            book = CaseBook.from_state(state, CAL, POLICY)
    return emitted


@pytest.mark.parametrize("restore_every", [None, 97, 1000])
def test_simulated_month(restore_every: int | None) -> None:
    plans = make_plans()
    expected = expected_warnings(plans)
    emitted = simulate(plans, restore_every)
    got = [w.warning_id for _, w in emitted]
    assert len(got) == len(set(got)), "a warning was emitted twice"
    assert set(got) == set(expected)
    for tick, w in emitted:
        assert w == expected[w.warning_id]
        # Never early, never late: each is emitted at the first call at or after its time.
        assert tick == w.at
    # Every scenario contributes what it should (scenario = case number % 8, see make_plans).
    kinds = {
        (int(w.case_id[1:]) % 8, w.deadline, w.kind)
        for w in expected.values()
        if not w.kind.startswith("escalated")
    }
    escalated = {
        (int(w.case_id[1:]) % 8, w.deadline) for w in expected.values() if w.kind == "escalated_2"
    }
    # never answered within the month: escalated twice
    assert {(2, "callback"), (6, "rectification")} <= escalated
    assert kinds == {
        (1, "callback", "due_soon"),
        (1, "callback", "overdue"),
        (1, "rectification", "due_soon"),  # rectified in time but within the last 48 h
        *((2, d, k) for d in ("callback", "rectification") for k in ("due_soon", "overdue")),
        (3, "callback", "due_soon"),  # called back in the last hours
        (3, "rectification", "due_soon"),
        (3, "rectification", "overdue"),
        *((5, d, k) for d in ("callback", "rectification") for k in ("due_soon", "overdue")),
        (6, "rectification", "due_soon"),  # called back (pending), never rectified
        (6, "rectification", "overdue"),
        (7, "callback", "due_soon"),  # closed 5 h after the callback overdue
        (7, "callback", "overdue"),
    }
    assert {w.department_code for w in expected.values() if int(w.case_id[1:]) % 8 == 3} == {"D2"}
    assert {w.department_code for w in expected.values() if int(w.case_id[1:]) % 8 == 6} == {"D9"}
    assert 40 < len(expected) < 200


def test_pending_warnings_does_not_record() -> None:
    case = case_from_evaluation(evaluation("E1", cn(2026, 9, 30, 10)), CAL, POLICY)
    assert case is not None
    assert len(pending_warnings(case, cn(2026, 12, 1))) == 8
    assert len(pending_warnings(case, cn(2026, 12, 1))) == 8
    assert case.emitted == []


class CountingState(dict[str, Any]):
    """A state mapping that counts full scans, to see that expiry does not rescan."""

    scans = 0

    def __iter__(self) -> Any:
        CountingState.scans += 1
        return super().__iter__()


def test_a_finished_case_is_dropped_after_its_retention_and_not_before() -> None:
    book = CaseBook(CAL, CasePolicy(retention_days=35))
    book.open_from_evaluation(evaluation("E1", cn(2026, 10, 12, 9)))
    book.open_from_evaluation(evaluation("E2", cn(2026, 10, 12, 9)))
    book.apply(event("E1", "called_back", cn(2026, 10, 12, 15)))
    book.apply(event("E1", "rectified", cn(2026, 10, 20, 15)))  # E1 finished on 20 Oct
    assert book.expire(cn(2026, 11, 24, 14)) == 0  # 35 days less an hour
    assert book.expire(cn(2026, 11, 24, 16)) == 1
    assert set(book.cases) == {"E2"}  # E2 is open: kept however old


def test_events_whose_case_never_opens_expire() -> None:
    book = CaseBook(CAL, CasePolicy(pending_days=7))
    book.apply(event("GHOST", "called_back", cn(2026, 10, 12, 15)))
    book.apply(event("LATE", "called_back", cn(2026, 10, 12, 15)))
    book.open_from_evaluation(evaluation("LATE", cn(2026, 10, 12, 9)))  # its case came
    assert book.expire(cn(2026, 10, 19, 16)) == 1
    assert book.pending == {} and set(book.cases) == {"LATE"}


def test_expiry_touches_only_what_is_due() -> None:
    state = CountingState()
    book = CaseBook(CAL, POLICY, state=state)
    for n in range(200):
        book.open_from_evaluation(evaluation(f"E{n}", cn(2026, 10, 12, 9)))
    book.expire(cn(2026, 10, 12, 10))  # builds the expiry index: one scan
    scans = CountingState.scans
    for day in range(13, 28):
        book.expire(cn(2026, 10, day))
        book.warnings_due(cn(2026, 10, day))
    assert CountingState.scans == scans  # the indexes were built once, then kept up
