"""Who may do what with a case, and when: the verdict on one action of ``cases.actions``.

Pure: a case as its events made it, an action, and out comes either the event the action
becomes on ``cases.events`` or a :class:`Refusal` in Chinese and English. The case step
(streams/cases/step.py) records the verdict in the case under the action's id, so a replayed
action gets the same verdict even after later events changed the case.

The rules (国办发〔2019〕51号: the office routes every 差评 and supervises the answer; the
department that handled the matter verifies, calls back and rectifies; appeals are decided by
the office):

* analysts only read; every action of theirs is refused;
* the office routes (转办), answers a 退单 request (a grant is a route), decides appeals,
  closes cases and gives the screening verdicts;
* the department the case is with now (its last route) asks for a 退单, verifies (核实), calls
  back (回访), rectifies (整改) and appeals; any other department is refused;
* the citizen's rating of a rectification is recorded by that department or by the office;
* order: a closed case takes no action; a department that verified a case can no longer
  ask to send it back; a rectification needs a 核实 that found the review 属实 (a review
  found untrue is appealed, not rectified); a rating needs the rectification; one 核实, one
  rectification, one rating per case; one 退单 request and one appeal open at a time, and
  the office can only answer one that is open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from schemas.actions import CaseAction
from schemas.cases import CaseEvent
from streams.cases.book import Case, apply_event


@dataclass(frozen=True, slots=True)
class Refusal:
    chinese: str
    english: str

    @property
    def message(self) -> str:
        return f"{self.chinese} / {self.english}"


OFFICE_ONLY: Final = frozenset(
    {
        "route",
        "refuse_reroute",
        "uphold_appeal",
        "reject_appeal",
        "close",
        "confirm_suspect",
        "clear_suspect",
    }
)
DEPARTMENT_ONLY: Final = frozenset({"request_reroute", "verify", "call_back", "rectify", "appeal"})
EITHER: Final = frozenset({"rate_rectification"})
SUSPECT_VERDICTS: Final = {
    "confirm_suspect": "suspect_confirmed",
    "clear_suspect": "suspect_cleared",
}
_EVENT_OF: Final = {
    "route": "routed",
    "request_reroute": "reroute_requested",
    "refuse_reroute": "reroute_refused",
    "verify": "verified",
    "call_back": "called_back",
    "rectify": "rectified",
    "rate_rectification": "rectification_rated",
    "appeal": "appealed",
    "uphold_appeal": "appeal_upheld",
    "reject_appeal": "appeal_rejected",
    "close": "closed",
    **SUSPECT_VERDICTS,
}

READ_ONLY = Refusal("分析人员只能查看, 不能办理", "analysts read only")
OFFICE_ONLY_REFUSAL = Refusal("只有好差评办公室可以这样做", "only the office may do this")
NOT_YOURS = Refusal(
    "该差评不在本部门办理, 只有承办部门可以这样做",
    "the case is with another department; only it may do this",
)
NO_CASE = Refusal("案件不存在或尚未建立", "no such case is open")
CLOSED = Refusal("案件已办结", "the case is closed")


MAX_ACTIONS_PER_CASE: Final = 64  # a script in a loop must not grow a case without bound


def decide(case: Case | None, action: CaseAction) -> CaseEvent | Refusal:
    """The verdict on ``action``: the one recorded in the case if it was judged before (a
    replay), else :func:`judge`'s, recorded in the case and, if accepted, applied to it."""
    if case is None:
        return judge(case, action)
    recorded = case.verdicts.get(action.action_id)
    if recorded is not None:
        if "refused" in recorded:
            chinese, english = recorded["refused"]
            return Refusal(chinese, english)
        return CaseEvent.model_validate_json(json.dumps(recorded["event"]))
    if len(case.verdicts) >= MAX_ACTIONS_PER_CASE:
        return Refusal("该案件的操作次数已达上限", "the case has taken all the actions it may")
    verdict = judge(case, action)
    if isinstance(verdict, Refusal):
        case.verdicts[action.action_id] = {"refused": [verdict.chinese, verdict.english]}
    else:
        case.verdicts[action.action_id] = {"event": verdict.model_dump(mode="json")}
        apply_event(case, verdict)
    return verdict


def judge(case: Case | None, action: CaseAction) -> CaseEvent | Refusal:
    """The event ``action`` becomes, or why it is refused."""
    refusal = _who(case, action)
    if refusal is not None:
        return refusal
    if action.action in SUSPECT_VERDICTS:
        return _event(action, action.department_code or "")
    assert case is not None  # _who refuses an action on no case
    refusal = _when(case, action)
    if refusal is not None:
        return refusal
    department = case.responsible_department
    if action.action == "route":
        department = action.department_code or department
    return _event(action, department)


def _who(case: Case | None, action: CaseAction) -> Refusal | None:
    if action.actor_role == "analyst":
        return READ_ONLY
    if action.action in OFFICE_ONLY and action.actor_role != "office":
        return OFFICE_ONLY_REFUSAL
    if action.action in SUSPECT_VERDICTS:
        return None  # a suspect evaluation is no case
    if case is None:
        return NO_CASE
    ours = case.responsible_department in action.actor_departments
    if action.action in DEPARTMENT_ONLY and not (action.actor_role == "department" and ours):
        return NOT_YOURS
    if action.action in EITHER and action.actor_role == "department" and not ours:
        return NOT_YOURS
    return None


def _when(case: Case, action: CaseAction) -> Refusal | None:
    if case.is_closed:
        return CLOSED
    kind = action.action
    if kind == "route" and action.department_code == case.responsible_department:
        return Refusal("案件已在该部门", "the case is already with that department")
    if kind == "request_reroute" and case.reroute_pending:
        return Refusal("已申请退单, 等待办公室答复", "a re-routing request is waiting already")
    if kind == "request_reroute" and case.verification is not None:
        return Refusal("已核实的案件不能退单", "a verified case is not sent back")
    if kind == "refuse_reroute" and not case.reroute_pending:
        return Refusal("没有待答复的退单申请", "no re-routing request is waiting")
    if kind == "verify" and case.verification is not None:
        return Refusal("该差评已核实", "the review is verified already")
    if kind == "rectify":
        return _rectify(case)
    if kind == "rate_rectification" and "rectified" not in case.steps:
        return Refusal("尚未整改, 不能评价整改结果", "nothing rectified to rate yet")
    if kind == "rate_rectification" and case.satisfaction is not None:
        return Refusal("整改结果已评价", "the rectification is rated already")
    if kind == "appeal" and case.appeal_pending:
        return Refusal("已提出申诉, 等待复核", "an appeal is waiting already")
    if kind in ("uphold_appeal", "reject_appeal") and not case.appeal_pending:
        return Refusal("没有待复核的申诉", "no appeal is waiting")
    return None


def _rectify(case: Case) -> Refusal | None:
    if case.verification is None:
        return Refusal("请先核实再整改", "verify the review before rectifying")
    if not case.verification.truthful:
        return Refusal(
            "核实不属实的差评无需整改, 可提出申诉",
            "a review verified as untrue is appealed, not rectified",
        )
    if "rectified" in case.steps:
        return Refusal("该差评已整改", "the review is rectified already")
    return None


def _event(action: CaseAction, department_code: str) -> CaseEvent:
    return CaseEvent(
        case_id=action.case_id,
        event=_EVENT_OF[action.action],  # type: ignore[arg-type]
        at=action.at,
        department_code=department_code,
        actor=action.actor,
        note=action.note,
        action_id=action.action_id,
        truthful=action.truthful,
        reasonable=action.reasonable,
        category=action.category,
        outcome=action.outcome,
        satisfaction=action.satisfaction,
    )
