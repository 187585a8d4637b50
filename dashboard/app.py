"""`haochaping dashboard`: the 好差评 office's pages, their JSON and their CSV, read-only; and the
work-order pages (workorders/: sign-in, inbox, case, 督办), which write only actions to
``cases.actions`` for the worker to judge.

Every page is a GET whose URL holds all its filters (range, month, dimension, min_total,
sort, order), so a link shows the same view to whoever opens it. Each page has a JSON twin
under /api/ and a CSV of each of its tables under /csv/. These pages write nothing: they
answer GET only, and the ClickHouse users it logs in as are read-only (readonly=1); the
work-order pages' POSTs (signed in, CSRF-checked) write to Kafka only, never to ClickHouse.
A bad parameter is a 400 that says what is wrong; ClickHouse away is a 503 in one line.

- ``params``: the query parameters, checked
- ``pages``: the data of each page (the JSON twin returns it as it is)
- ``html``: templates and links; ``exports``: CSV
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from jinja2 import Environment
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dashboard.exports import csv_endpoint
from dashboard.html import HERE, error_page, html_endpoint, templates
from dashboard.pages import PAGES, Dashboard, Execute, clickhouse_executes
from dashboard.params import BadRequest
from dashboard.throttle import PerClientLimit
from runtime.settings import Settings
from workorders.app import Desk
from workorders.app import routes as workorder_routes
from workorders.submit import Send, kafka_sender

__all__ = ["PAGES", "clickhouse_executes", "create_app"]


def create_app(
    settings: Settings,
    analyst: Execute | None = None,
    public: Execute | None = None,
    *,
    now: Callable[[], int] | None = None,
    send: Send | None = None,
) -> Starlette:
    if analyst is None or public is None:
        default_analyst, default_public = clickhouse_executes(settings)
        analyst, public = analyst or default_analyst, public or default_public
    board = Dashboard(settings, analyst, public, now=now)
    env = templates()
    from clickhouse_driver import errors as ch_errors

    # the work-order pages read uncached: a case must show the step just taken
    desk = Desk(settings, analyst, send or kafka_sender(settings))
    unavailable = _unavailable(env)
    app = Starlette(
        routes=[*_routes(board, env), *workorder_routes(desk)],
        exception_handlers={
            BadRequest: _bad_request(env),
            ch_errors.Error: unavailable,
            OSError: unavailable,
            EOFError: unavailable,
            HTTPException: _http_error(env),
        },
        middleware=[
            Middleware(Hardening),
            Middleware(
                SessionMiddleware,
                secret_key=session_key(settings),
                session_cookie="haochaping_session",
                max_age=max(1, math.ceil(settings.dashboard_session_hours * 3600)),
                same_site="lax",
                https_only=False,  # served on loopback; a TLS proxy in front sets Secure
            ),
            # inside the sessions: it reads the signed-in user
            Middleware(SignedInOnly, desk=desk, open_pages=settings.dashboard_open_pages),
            Middleware(PublicLimit, limit=PerClientLimit(settings.dashboard_public_per_minute)),
        ],
    )
    # Starlette's own slash redirect writes the request's Host header into Location
    app.router.redirect_slashes = False
    return app


# what a browser may do with the pages (issue 29): scripts and everything else from this
# server only (ECharts is vendored), inline style attributes (chart heights), no framing
SECURITY_HEADERS: Final = {
    "content-security-policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


class Hardening(BaseHTTPMiddleware):
    """Security headers on every answer, and /page/ redirected to /page by a relative
    Location (never the Host header a client sent)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path != "/" and path.endswith("/"):
            query = request.url.query
            target = "/" + path.strip("/") + (f"?{query}" if query else "")
            response: Response = RedirectResponse(target, status_code=307)
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response


# what anyone may open without signing in: the public page and its data, the sign-in, the
# work-order pages (they check the session themselves), files and the health check
OPEN_PREFIXES: Final = (
    "/public", "/api/public", "/csv/public/", "/static/", "/healthz", "/login", "/logout",
    "/inbox", "/cases/", "/supervision", "/suspects", "/audit",
)  # fmt: skip


PUBLIC_PREFIXES: Final = ("/public", "/api/public", "/csv/public/")


class PublicLimit(BaseHTTPMiddleware):
    """At most HAOCHAPING_DASHBOARD_PUBLIC_PER_MINUTE public requests a minute per client: a
    429 with Retry-After beyond (dashboard/throttle.py)."""

    def __init__(self, app: Any, limit: PerClientLimit) -> None:
        super().__init__(app)
        self._limit = limit

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path.startswith(PUBLIC_PREFIXES):
            wait = self._limit.allow(request.client.host if request.client else "?")
            if wait:
                return JSONResponse(
                    {"error": "请求过于频繁，请稍后再试 / too many requests, try again later"},
                    status_code=429,
                    headers={"retry-after": str(max(1, round(wait)))},
                )
        return await call_next(request)


class SignedInOnly(BaseHTTPMiddleware):
    """The office's pages, their JSON and CSV only for a signed-in user (issue 29): a page
    sends the browser to /login, JSON and CSV answer 401."""

    def __init__(self, app: Any, desk: Desk, open_pages: bool) -> None:
        super().__init__(app)
        self._desk, self._open_pages = desk, open_pages

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if self._open_pages or path.startswith(OPEN_PREFIXES) or self._desk.user_of(request):
            return await call_next(request)
        if path.startswith(("/api/", "/csv/")):
            return JSONResponse({"error": "请先登录 / sign in first (/login)"}, status_code=401)
        return RedirectResponse("/login", status_code=303)


def _routes(board: Dashboard, env: Environment) -> list[Route | Mount]:
    def healthz(request: Request) -> Response:
        return Response("ok\n", media_type="text/plain")

    def json_endpoint(page: str) -> Callable[[Request], Response]:
        return lambda request: JSONResponse(board.data(page, request))

    routes: list[Route | Mount] = [Route("/healthz", healthz)]
    for page, (path, _title, _template) in PAGES.items():
        routes.append(Route(path, html_endpoint(board, env, page)))
        routes.append(Route("/api" + (path if path != "/" else "/overview"), json_endpoint(page)))
    csv_table = csv_endpoint(board)
    return [
        *routes,
        Route("/csv/{page}/{table}", csv_table),
        # the department's code is in the path of its page: /csv/department/<table>/<code>
        Route("/csv/{page}/{table}/{code}", csv_table),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def session_key(settings: Settings) -> str:
    """The key of the session cookies: the configured one, else a random one per process."""
    import secrets

    configured = settings.dashboard_session_secret.get_secret_value()
    return configured or secrets.token_urlsafe(32)


Handler = Callable[[Request, Exception], Any]


def _error(env: Environment, request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith(("/api/", "/csv/")):
        return JSONResponse({"error": message}, status_code=status)
    return error_page(env, status, message)


def _bad_request(env: Environment) -> Handler:
    async def bad_request(request: Request, exc: Exception) -> Response:
        return _error(env, request, 400, str(exc))

    return bad_request


def _unavailable(env: Environment) -> Handler:
    async def unavailable(request: Request, exc: Exception) -> Response:
        from sinks.clickhouse import describe

        return _error(env, request, 503, f"ClickHouse 暂时无法查询：{describe(exc)}")

    return unavailable


def _http_error(env: Environment) -> Handler:
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        text = "没有这个页面" if exc.status_code == 404 else str(exc.detail)
        return _error(env, request, exc.status_code, text)

    return http_error
