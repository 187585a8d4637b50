"""Who may do what with a case, and when (streams/cases/rules.py): every action tried by every
role on its own and on another department's case, the order the loop follows, and verdicts
that a replay cannot change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.actions import ACTION_KINDS, CaseAction
from schemas.cases import CaseEvent
from streams.cases.book import Case, CasePolicy, apply_event, open_case
from streams.cases.deadlines import WorkingCalendar
from streams.cases.rules import (
    DEPARTMENT_ONLY,
    EITHER,
    OFFICE_ONLY,
    Refusal,
    decide,
    judge,
)

OPENED = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)
DETAILS: dict[str, dict[str, Any]] = {
    "route": {"department_code": "D2"},
    "verify": {"truthful": True, "reasonable": True, "category": "attitude"},
    "call_back": {"outcome": "reached"},
    "rate_rectification": {"satisfaction": "satisfied"},
    "confirm_suspect": {"department_code": "D1"},
    "clear_suspect": {"department_code": "D1"},
}
# what must have happened before an action may be taken (its ordering rule satisfied)
BEFORE: dict[str, list[str]] = {
    "refuse_reroute": ["reroute_requested"],
    "rectify": ["verified"],
    "rate_rectification": ["verified", "rectified"],
    "uphold_appeal": ["appealed"],
    "reject_appeal": ["appealed"],
}
ROLES = {
    "office": ("office", ()),
    "own department": ("department", ("D1",)),
    "other department": ("department", ("D9",)),
    "analyst": ("analyst", ()),
}


def a_case(*events: str) -> Case:
    case = open_case(
        case_id="E1",
        department_code="D1",
        service_code="S1",
        level=1,
        received_at=OPENED,
        calendar=WorkingCalendar(),
        policy=CasePolicy(),
    )
    for n, kind in enumerate(events, start=1):
        apply_event(case, step(kind, OPENED + timedelta(minutes=n)))
    return case


def step(kind: str, at: datetime, **fields: Any) -> CaseEvent:
    if kind == "verified":
        fields = {"truthful": True, "reasonable": True, "category": "attitude", **fields}
    return CaseEvent.model_validate(
        {"case_id": "E1", "event": kind, "at": at, "department_code": "D1", **fields},
        strict=False,
    )


def action(kind: str, role: str = "office", n: int = 1, **fields: Any) -> CaseAction:
    actor_role, departments = ROLES[role]
    return CaseAction.model_validate(
        {
            "action_id": f"a{n}",
            "case_id": "E1",
            "action": kind,
            "at": OPENED + timedelta(hours=n),
            "actor": "u1",
            "actor_role": actor_role,
            "actor_departments": departments,
            **DETAILS.get(kind, {}),
            **fields,
        },
        strict=False,
    )


def allowed(kind: str, role: str) -> bool:
    if role == "office":
        return kind in OFFICE_ONLY or kind in EITHER
    if role == "own department":
        return kind in DEPARTMENT_ONLY or kind in EITHER
    return False


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("kind", ACTION_KINDS)
def test_every_action_by_every_role_on_its_own_and_another_departments_case(
    kind: str, role: str
) -> None:
    verdict = judge(a_case(*BEFORE.get(kind, [])), action(kind, role))
    if allowed(kind, role):
        assert isinstance(verdict, CaseEvent), verdict
        assert verdict.actor == "u1" and verdict.action_id == "a1"
    else:
        assert isinstance(verdict, Refusal)
        assert verdict.chinese and verdict.english


def test_the_matrix_covers_every_action_once() -> None:
    assert set(ACTION_KINDS) == OFFICE_ONLY | DEPARTMENT_ONLY | EITHER
    assert not (OFFICE_ONLY & DEPARTMENT_ONLY or OFFICE_ONLY & EITHER)


def test_after_a_route_the_new_department_acts_and_the_old_one_cannot() -> None:
    case = a_case()
    routed = decide(case, action("route", department_code="D9"))
    assert isinstance(routed, CaseEvent) and routed.department_code == "D9"
    assert isinstance(decide(case, action("verify", "own department", n=2)), Refusal)
    verified = decide(case, action("verify", "other department", n=3))
    assert isinstance(verified, CaseEvent) and verified.department_code == "D9"


@pytest.mark.parametrize(
    ("done", "kind", "fields", "refusal"),
    [
        ([], "rectify", {}, "请先核实再整改"),
        ([], "rate_rectification", {}, "尚未整改"),
        (["verified"], "verify", {}, "已核实"),
        (["verified", "rectified"], "rectify", {}, "已整改"),
        ([], "refuse_reroute", {}, "没有待答复的退单申请"),
        (["reroute_requested"], "request_reroute", {}, "已申请退单"),
        (["verified"], "request_reroute", {}, "已核实的案件不能退单"),
        ([], "uphold_appeal", {}, "没有待复核的申诉"),
        (["appealed"], "appeal", {}, "已提出申诉"),
        (["appealed", "appeal_rejected"], "reject_appeal", {}, "没有待复核的申诉"),
        (["closed"], "call_back", {}, "已办结"),
        (["appealed", "appeal_upheld"], "call_back", {}, "已办结"),
        ([], "route", {"department_code": "D1"}, "已在该部门"),
    ],
)
def test_the_loop_goes_in_order(
    done: list[str], kind: str, fields: dict[str, Any], refusal: str
) -> None:
    role = "office" if kind in OFFICE_ONLY else "own department"
    verdict = judge(a_case(*done), action(kind, role, **fields))
    assert isinstance(verdict, Refusal) and refusal in verdict.chinese


def test_a_review_found_untrue_is_appealed_not_rectified() -> None:
    case = a_case()
    decide(case, action("verify", "own department", truthful=False, reasonable=False))
    refused = decide(case, action("rectify", "own department", n=2))
    assert isinstance(refused, Refusal) and "申诉" in refused.chinese
    assert isinstance(decide(case, action("appeal", "own department", n=3)), CaseEvent)


def test_the_office_answers_a_reroute_request_by_refusing_or_routing() -> None:
    case = a_case()
    assert isinstance(decide(case, action("request_reroute", "own department")), CaseEvent)
    assert case.reroute_pending
    assert isinstance(decide(case, action("refuse_reroute", n=2)), CaseEvent)
    assert not case.reroute_pending
    assert isinstance(decide(case, action("request_reroute", "own department", n=3)), CaseEvent)
    assert isinstance(decide(case, action("route", n=4, department_code="D2")), CaseEvent)
    assert not case.reroute_pending and case.responsible_department == "D2"


def test_a_replayed_action_gets_the_verdict_it_got_the_first_time() -> None:
    case = a_case()
    early = action("rectify", "own department", n=1)
    first = decide(case, early)
    assert isinstance(first, Refusal)
    decide(case, action("verify", "own department", n=2))
    # the same rectification again (a replay after a crash): still refused, though a new one
    # would now be accepted
    assert decide(case, early) == first
    assert isinstance(decide(case, action("rectify", "own department", n=3)), CaseEvent)
    accepted = action("rate_rectification", "office", n=4)
    event = decide(case, accepted)
    assert isinstance(event, CaseEvent)
    assert decide(case, accepted) == event  # the same event, byte for byte
    assert case.satisfaction == "satisfied"


def test_the_verdicts_survive_the_case_state_round_trip() -> None:
    case = a_case()
    decide(case, action("verify", "own department"))
    again = Case.from_state(case.to_state())
    assert again.verification is not None and again.verification.category == "attitude"
    assert again.verdicts == case.verdicts


def test_a_case_not_open_refuses_every_action_but_the_screening_verdicts() -> None:
    assert isinstance(judge(None, action("call_back", "own department")), Refusal)
    confirmed = judge(None, action("confirm_suspect"))
    assert isinstance(confirmed, CaseEvent) and confirmed.event == "suspect_confirmed"
