"""The work-order pages, as Starlette routes mounted in the dashboard's app.

- ``/login``, ``/logout``: sign in and out (CSRF token on both forms, throttled sign-in)
- ``/inbox``: the open cases of the user's departments (the office: all), deadlines counted
  down in working days
- ``/cases/{case_id}``: the review, its history, and a form for each action its state allows
  for this user; a POST sends the action to ``cases.actions`` and comes back to the page,
  which shows the worker's verdict once it has landed
- ``/supervision``: the office's 督办 page (re-routing requests and appeals waiting, overdue
  deadlines, this month's loop indicators per department)

Each of these pages checks the Host header against ``HAOCHAPING_DASHBOARD_ALLOWED_HOSTS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from reports.suspects import required_channels
from runtime.settings import Settings
from schemas.actions import CATEGORIES
from schemas.catalogue import DEPARTMENT_NAMES, SERVICE_NAMES
from streams.cases.deadlines import WorkingCalendar
from workorders.auth import LoginThrottle, csrf_token, signed_in
from workorders.casefiles import ACTION_LABELS, DETAIL_LABELS, EVENT_LABELS, Execute
from workorders.submit import Send
from workorders.users import User, Users

HERE: Final = Path(__file__).parent
Endpoint = Callable[[Request], Awaitable[Response]]


class Desk:
    """What the pages need: the users, a reader of ClickHouse, a sender to Kafka."""

    def __init__(self, settings: Settings, read: Execute, send: Send) -> None:
        self.settings, self.read, self.send = settings, read, send
        # checked here, so that a wrong name stops the dashboard at start, in one line
        self.transaction_channels = required_channels(settings.screen_transaction_channels)
        self.users = Users(settings.users_file)
        self.throttle = LoginThrottle(settings.login_max_failures, settings.login_window_s)
        self.calendar = WorkingCalendar()
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> Response:
        user = values.pop("user", None)
        html = self.env.get_template(template).render(
            user=user,
            csrf=csrf_token(request),
            event_labels=EVENT_LABELS,
            action_labels=ACTION_LABELS,
            categories=CATEGORIES,
            labels=DETAIL_LABELS,
            department_name=lambda code: DEPARTMENT_NAMES.get(code, code),
            service_name=lambda code: SERVICE_NAMES.get(code, code),
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def user_of(self, request: Request) -> User | None:
        return signed_in(request, self.users, self.settings.dashboard_session_hours * 3600)

    def host_ok(self, request: Request) -> bool:
        host = request.headers.get("host", "").rsplit(":", 1)[0].strip("[]")
        return host in self.settings.dashboard_allowed_hosts


def routes(desk: Desk) -> list[Route]:
    from workorders import pages

    def guarded(endpoint: Callable[[Desk, Request], Awaitable[Response]]) -> Endpoint:
        async def run(request: Request) -> Response:
            if not desk.host_ok(request):
                return Response("unknown host\n", status_code=400, media_type="text/plain")
            return await endpoint(desk, request)

        return run

    return [
        Route("/login", guarded(pages.login), methods=["GET", "POST"]),
        Route("/logout", guarded(pages.logout), methods=["POST"]),
        Route("/inbox", guarded(pages.inbox)),
        Route("/supervision", guarded(pages.supervision)),
        Route("/audit", guarded(pages.audit)),
        Route("/suspects", guarded(pages.suspects), methods=["GET", "POST"]),
        Route("/cases/{case_id}", guarded(pages.case), methods=["GET", "POST"]),
    ]
