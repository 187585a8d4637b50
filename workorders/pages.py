"""The endpoints of the work-order pages (routes in workorders/app.py). Blocking reads and the
Kafka send run in Starlette's thread pool."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from reports.suspects import UNKNOWN_TRANSACTION_REASON, with_signal, without_transaction
from runtime.clock import CHINA
from schemas.actions import CaseAction
from workorders import casefiles
from workorders.auth import csrf_ok, sign_in
from workorders.submit import FormProblem, action_from_form, verdict
from workorders.users import User

if TYPE_CHECKING:
    from workorders.app import Desk

CASE_ID: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
NOT_ALLOWED: Final = "没有权限 / not allowed"


def _to_login() -> Response:
    return RedirectResponse("/login", status_code=303)


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, CHINA).strftime("%Y-%m-%d %H:%M") if epoch else "—"


async def login(desk: Desk, request: Request) -> Response:
    if request.method == "GET":
        return desk.render(request, "login.html", message="")
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return desk.render(request, "login.html", 400, message="页面已过期，请重新登录")
    user_id, password = str(form.get("user_id", "")), str(form.get("password", ""))
    address = request.client.host if request.client else "?"
    keys = (f"user:{user_id}", f"address:{address}")
    if desk.throttle.blocked(*keys):
        return desk.render(request, "login.html", 429, message="登录失败次数过多，请15分钟后再试")
    user = await run_in_threadpool(desk.users.check, user_id, password)
    if user is None:
        desk.throttle.failed(*keys)
        return desk.render(request, "login.html", 401, message="用户名或密码不正确")
    desk.throttle.succeeded(keys[0])
    sign_in(request, user)
    return RedirectResponse("/supervision" if user.role == "office" else "/inbox", 303)


async def logout(desk: Desk, request: Request) -> Response:
    form = await request.form()
    if csrf_ok(request, form.get("csrf")):
        request.session.clear()
    return _to_login()


def _office_only(desk: Desk, request: Request, user: User | None) -> Response | None:
    """The answer to anyone but a signed-in office user; None for the office."""
    if user is None:
        return _to_login()
    if user.role != "office":
        return desk.render(request, "denied.html", 403, user=user, message=NOT_ALLOWED)
    return None


async def _send(desk: Desk, action: CaseAction, back: str) -> Response:
    """Send an action to cases.actions and go back to ``back``, which shows its verdict."""
    partition, offset = await run_in_threadpool(desk.send, action)
    sent = f"sent={action.action_id}&p={partition}&o={offset}"
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}{sent}", status_code=303)


def _scope(user: User) -> dict[str, Any]:
    everyone = user.role in ("office", "analyst")
    return {"all": int(everyone), "departments": tuple(user.departments) or ("",)}


async def inbox(desk: Desk, request: Request) -> Response:
    user = desk.user_of(request)
    if user is None:
        return _to_login()
    rows = await run_in_threadpool(desk.read, casefiles.OPEN_CASES, {**_scope(user), "limit": 500})
    now = datetime.now(UTC)
    cases = [_inbox_row(desk, row, now) for row in rows]
    return desk.render(request, "inbox.html", user=user, cases=cases)


def _inbox_row(desk: Desk, row: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    case_id, department, service, level, opened, callback_due, rectify_due = row[:7]
    called_back, rectified, appeal = row[7:10]
    step, due = ("整改", rectify_due) if called_back else ("回访", callback_due)
    left = casefiles.working_days_left(datetime.fromtimestamp(due, UTC), now, desk.calendar)
    return {
        "case_id": case_id,
        "department": department,
        "service": service,
        "level": level,
        "opened": _when(opened),
        "next_step": "—" if rectified else step,
        "due": _when(due),
        "days_left": None if rectified else left,
        "appeal": appeal,
    }


async def supervision(desk: Desk, request: Request) -> Response:
    user = desk.user_of(request)
    refused = _office_only(desk, request, user)
    if refused is not None:
        return refused
    assert user is not None  # _office_only refuses no user
    waiting = await run_in_threadpool(desk.read, casefiles.WAITING, {})
    month = datetime.now(CHINA).strftime("%Y-%m-01")
    loop = await run_in_threadpool(
        desk.read, casefiles.LOOP_OF_MONTH, {**_scope(user), "month": month}
    )
    overdue = await run_in_threadpool(
        desk.read, casefiles.OPEN_CASES, {**_scope(user), "limit": 500}
    )
    levels = dict(await run_in_threadpool(desk.read, casefiles.ESCALATED, {}))
    interviews = await run_in_threadpool(desk.read, casefiles.INTERVIEWS, {})
    now = datetime.now(UTC)
    late = [r for r in (_inbox_row(desk, row, now) for row in overdue) if (r["days_left"] or 0) < 0]
    for row in late:
        row["level"] = levels.get(row["case_id"], 0)
    return desk.render(
        request,
        "supervision.html",
        user=user,
        waiting=[
            {"case_id": w[0], "department": w[1], "reroute": w[2] > w[3], "appeal": w[4] > w[5]}
            for w in waiting
        ],
        loop=loop,
        month=month[:7],
        late=late,
        interviews=interviews,
    )


async def audit(desk: Desk, request: Request) -> Response:
    """审计: who did what with which case, and what the worker said; the office only."""
    user = desk.user_of(request)
    refused = _office_only(desk, request, user)
    if refused is not None:
        return refused
    assert user is not None  # _office_only refuses no user
    rows = await run_in_threadpool(desk.read, casefiles.AUDIT, {"limit": 500})
    return desk.render(
        request,
        "audit.html",
        user=user,
        rows=[(_when(r[0]), *r[1:]) for r in rows],
    )


async def case(desk: Desk, request: Request) -> Response:
    user = desk.user_of(request)
    if user is None:
        return _to_login()
    case_id = request.path_params["case_id"]
    if not CASE_ID.match(case_id):
        return desk.render(request, "denied.html", 404, user=user, message="没有这个案件")
    if request.method == "POST":
        return await _act(desk, request, user, case_id)
    return await run_in_threadpool(_case_page, desk, request, user, case_id)


async def _act(desk: Desk, request: Request, user: User, case_id: str) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return desk.render(
            request, "denied.html", 400, user=user, message="页面已过期，请刷新后重试"
        )
    try:
        action = action_from_form(case_id, form, user)
    except FormProblem as problem:
        return await run_in_threadpool(_case_page, desk, request, user, case_id, str(problem))
    return await _send(desk, action, f"/cases/{case_id}")


def _case_page(
    desk: Desk, request: Request, user: User, case_id: str, problem: str = ""
) -> Response:
    found = casefiles.case_of(desk.read, case_id, desk.calendar)
    if found is None:
        return desk.render(
            request, "denied.html", 404, user=user, message="没有这个案件（或尚未受理）"
        )
    mine = user.role != "department" or found.responsible_department in user.departments
    if not mine:
        return desk.render(request, "denied.html", 403, user=user, message=NOT_ALLOWED)
    history = casefiles.events_of_case(desk.read, case_id)
    review = desk.read(casefiles.REVIEW, {"case_id": case_id})
    follow_up = desk.read(casefiles.FOLLOW_UP, {"case_id": case_id})
    return desk.render(
        request,
        "case.html",
        user=user,
        case=found,
        review=review[0] if review else None,
        follow_up=follow_up[0] if follow_up else None,
        history=[
            {
                "event": h[0],
                "at": _when(h[1]),
                "department": h[2],
                "actor": h[3],
                "detail": _detail(h),
            }
            for h in history
        ],
        actions=casefiles.offered(found, user.role, user.departments),
        sent=_sent(desk, request, case_id),
        problem=problem,
        when=_when,
    )


def _detail(row: tuple[Any, ...]) -> str:
    truthful, reasonable, category, outcome, satisfaction = row[8:13]
    parts = []
    if truthful >= 0:
        parts.append(f"属实：{'是' if truthful else '否'}；合理：{'是' if reasonable else '否'}")
    parts += [
        casefiles.DETAIL_LABELS.get(text, text)
        for text in (category, outcome, satisfaction)
        if text
    ]
    return "；".join(parts)


def _sent(desk: Desk, request: Request, case_id: str) -> dict[str, str] | None:
    """The verdict on the action this page was reached from, if any."""
    query = request.query_params
    action_id, partition, offset = query.get("sent"), query.get("p"), query.get("o")
    if not (action_id and partition and offset and partition.isdigit() and offset.isdigit()):
        return None
    found = verdict(
        desk.read, desk.settings.topic_case_actions, case_id, action_id[:64], int(partition),
        int(offset),
    )  # fmt: skip
    if found is None:
        return {"state": "pending", "text": "已提交，正在处理……（页面自动刷新）"}
    state, text = found
    if state == "accepted":
        return {"state": state, "text": f"已办理：{casefiles.EVENT_LABELS.get(text, text)}"}
    return {"state": state, "text": f"未办理：{text}"}


# the reasons in Chinese where the office reads them; the screening's own stay as it names them
REASON_LABELS: Final = {UNKNOWN_TRANSACTION_REASON: "办件未报送"}


def _pending_suspects(desk: Desk) -> list[tuple[Any, ...]]:
    """What the screening flagged, and the evaluations whose 办件 never came (issue 28)."""
    s = desk.settings
    flagged = desk.read(casefiles.PENDING_SUSPECTS, {"limit": 200})
    unmatched = without_transaction(
        desk.read,
        channels=desk.transaction_channels,
        horizon_days=s.transaction_horizon_days,
        limit=200,
    )
    return with_signal(flagged, unmatched)


async def suspects(desk: Desk, request: Request) -> Response:
    """The screening's suspects waiting for the office's verdict, with a button for each."""
    user = desk.user_of(request)
    refused = _office_only(desk, request, user)
    if refused is not None:
        return refused
    assert user is not None  # _office_only refuses no user
    if request.method == "POST":
        form = await request.form()
        evaluation_id = str(form.get("evaluation_id", ""))
        if not csrf_ok(request, form.get("csrf")) or not CASE_ID.match(evaluation_id):
            return desk.render(
                request, "denied.html", 400, user=user, message="页面已过期，请刷新后重试"
            )
        try:
            action = action_from_form(evaluation_id, form, user)
        except FormProblem as problem:
            return desk.render(request, "denied.html", 400, user=user, message=str(problem))
        return await _send(desk, action, f"/suspects?case={evaluation_id}")
    rows = await run_in_threadpool(_pending_suspects, desk)
    case_id = request.query_params.get("case", "")
    sent = (
        await run_in_threadpool(_sent, desk, request, case_id) if CASE_ID.match(case_id) else None
    )
    return desk.render(
        request,
        "suspects.html",
        user=user,
        rows=rows,
        sent=sent,
        when=_when,
        horizon_days=desk.settings.transaction_horizon_days,
        reason_labels=REASON_LABELS,
    )
