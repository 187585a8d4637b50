"""`haochaping dashboard`: the 好差评 office's pages, their JSON and their CSV, read-only.

Every page is a GET whose URL holds all its filters (range, month, dimension, min_total,
sort, order), so a link shows the same view to whoever opens it. Each page has a JSON twin
under /api/ and a CSV of each of its tables under /csv/. Nothing here writes: there is no
other method than GET, and the ClickHouse users it logs in as are read-only (readonly=1).
A bad parameter is a 400 that says what is wrong; ClickHouse away is a 503 in one line.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dashboard.tables import COLUMNS, Column, Table
from reports import dashboard as pages
from reports import queries
from reports.ranges import Range, RangeError, parse
from runtime.settings import Settings

HERE: Final = Path(__file__).parent
REFRESH_S: Final = 30
CODE: Final = re.compile(r"^[0-9A-Za-z_.\-]{1,64}$")
ASCII_COUNT: Final = re.compile(r"[0-9]{1,9}")
MAX_MIN_TOTAL: Final = 1_000_000_000
Execute = pages.Execute


class BadRequest(Exception):
    """A parameter the page cannot take; its text is shown as it is (status 400)."""


class Unavailable(Exception):
    """ClickHouse is unreachable or refused the query (status 503)."""


def _thread_local_execute(connect: Callable[[], Any]) -> Execute:
    """clickhouse-driver clients are not thread-safe; Starlette runs requests in threads."""
    local = threading.local()

    def execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = connect()
        try:
            return list(client.execute(sql, params))
        except BaseException:
            # a broken connection is not reused; the next request connects afresh
            client.disconnect()
            local.client = None
            raise

    return execute


def clickhouse_executes(settings: Settings) -> tuple[Execute, Execute]:
    """The analyst's (every page but one) and the evaluator's (the public page)."""
    from sinks.clickhouse import connect, connect_public

    return (
        _thread_local_execute(lambda: connect(settings, analyst=True)),
        _thread_local_execute(lambda: connect_public(settings)),
    )


def _param(request: Request, name: str, default: str = "") -> str:
    return request.query_params.get(name, default).strip()


def _range(request: Request) -> Range:
    try:
        return parse(_param(request, "range") or None, _param(request, "month") or None)
    except RangeError as exc:
        raise BadRequest(str(exc)) from exc


def _min_total(request: Request, default: int) -> int:
    text = _param(request, "min_total")
    if not text:
        return default
    # ASCII digits only: str.isdigit() takes "²", and int() reads "١٢" as 12 (issue 26)
    if not ASCII_COUNT.fullmatch(text) or not 1 <= int(text) <= MAX_MIN_TOTAL:
        raise BadRequest(f"最小评价量 min_total={text!r} 应为 1 到 {MAX_MIN_TOTAL} 之间的整数")
    return int(text)


class Dashboard:
    def __init__(
        self,
        settings: Settings,
        analyst: Execute | None = None,
        public: Execute | None = None,
        *,
        now: Callable[[], int] | None = None,
    ) -> None:
        if analyst is None or public is None:
            default_analyst, default_public = clickhouse_executes(settings)
            analyst = analyst or default_analyst
            public = public or default_public
        self.settings = settings
        self.read = pages.Reader(analyst, cache_s=settings.dashboard_cache_s)
        self.read_public = pages.Reader(public, cache_s=settings.dashboard_cache_s)
        self.now = now
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters.update(pct=_pct, points=_points, relative=_relative, num=_num)

    # ---- the data of each page (the JSON endpoints return it as it is) -----------------

    def overview(self, request: Request) -> dict[str, Any]:
        return pages.overview(self.read, _range(request))

    def rankings(self, request: Request) -> dict[str, Any]:
        span = _range(request)
        dimension = _param(request, "dimension", "department")
        if dimension not in pages.RANKED_DIMENSIONS:
            raise BadRequest(f"排名维度 dimension={dimension!r}：可选 department、service、hall")
        sort = _param(request, "sort", "good_rate")
        if sort not in pages.SORTABLE:
            raise BadRequest(f"排序 sort={sort!r}：可选 {'、'.join(pages.SORTABLE)}")
        order = _param(request, "order")
        if order not in ("", "asc", "desc"):
            raise BadRequest(f"顺序 order={order!r}：可选 asc、desc")
        min_total = _min_total(request, self.settings.dashboard_min_total)
        rows = pages.ranking(
            self.read, span, dimension, min_total=min_total, sort=sort, order=order, limit=200
        )
        return {
            "range": pages.range_row(span),
            "dimension": dimension,
            "min_total": min_total,
            "sort": sort,
            "order": order or pages.DEFAULT_ORDER[sort],
            "rows": rows,
        }

    def department(self, request: Request) -> dict[str, Any]:
        code = request.path_params["code"]
        if not CODE.match(code):
            raise BadRequest(f"部门编码 {code[:80]!r} 不合法：应为 1 到 64 位字母、数字或 -_.")
        if not self.read(queries.KEY_EXISTS, {"dimension": "department", "key": code})[0][0]:
            raise BadRequest(f"未知的部门 {code}：没有它的评价数据")
        return pages.department_page(self.read, _range(request), code, now=self._now())

    def alerts(self, request: Request) -> dict[str, Any]:
        return pages.alerts_page(self.read, _range(request))

    def followup(self, request: Request) -> dict[str, Any]:
        return pages.followup_page(self.read, _range(request), now=self._now())

    def public(self, request: Request) -> dict[str, Any]:
        min_total = _min_total(request, self.settings.dashboard_min_total)
        found = pages.public_page(self.read_public, _range(request), min_total=min_total)
        found["min_total"] = min_total
        return found

    def _now(self) -> int | None:
        return self.now() if self.now else None


PAGES: Final = {
    "overview": ("/", "总览", "overview.html"),
    "rankings": ("/rankings", "排名", "rankings.html"),
    "department": ("/departments/{code}", "部门", "department.html"),
    "alerts": ("/alerts", "差评激增", "alerts.html"),
    "followup": ("/followup", "督办", "followup.html"),
    "public": ("/public", "公开", "public.html"),
}
NAV: Final = ("overview", "rankings", "alerts", "followup", "public")


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.2f} 个百分点"


def _relative(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cell(value: Any, column: Column) -> str:
    """A table cell as CSV text: rates as percentages, lists joined."""
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value * 100:.2f}%"
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    return str(value)


def _table_rows(page: str, table: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    if page == "overview" and table == "trend":
        trend = data["trend"]
        return [
            {
                "bucket": label,
                "evaluations": trend["evaluations"][i],
                "bad_reviews": trend["bad_reviews"][i],
                "good_rate": trend["good_rate"][i],
                "bad_rate": trend["bad_rate"][i],
            }
            for i, label in enumerate(trend["labels"])
        ]
    found = data.get(table)
    return found if isinstance(found, list) else []


def create_app(
    settings: Settings,
    analyst: Execute | None = None,
    public: Execute | None = None,
    *,
    now: Callable[[], int] | None = None,
) -> Starlette:
    board = Dashboard(settings, analyst, public, now=now)

    def data_of(page: str, request: Request) -> dict[str, Any]:
        return dict(getattr(board, page)(request))

    def html_page(page: str) -> Callable[[Request], Response]:
        _path, title, template = PAGES[page]

        def endpoint(request: Request) -> Response:
            data = data_of(page, request)
            query = dict(request.query_params)
            columns = COLUMNS[page]
            if page == "rankings" and data["dimension"] != "department":
                # only departments have a page of their own to link to
                table = columns["rows"]
                plain = tuple(
                    Column(c.key, c.label) if c.kind == "department" else c for c in table.columns
                )
                columns = {"rows": Table(table.title, plain)}

            def sort_url(key: str) -> str:
                # a second click on the sorted column turns the order round
                current = data.get("sort") == key
                flipped = "asc" if data.get("order") == "desc" else "desc"
                return _url(
                    request.url.path, query, {"sort": key, "order": flipped if current else None}
                )

            html = board.templates.get_template(template).render(
                sort_url=sort_url,
                page=page,
                title=title,
                nav=[(name, PAGES[name][0], PAGES[name][1]) for name in NAV],
                data=data,
                columns=columns,
                query=query,
                refresh_s=REFRESH_S,
                url=lambda path, **changes: _url(path, query, changes),
                csv=lambda table: _url(
                    f"/csv/{page}/{table}" + (f"/{data['code']}" if page == "department" else ""),
                    query,
                    {},
                ),
            )
            return HTMLResponse(html)

        return endpoint

    def json_page(page: str) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            return JSONResponse(data_of(page, request))

        return endpoint

    def csv_table(request: Request) -> Response:
        page, table = request.path_params["page"], request.path_params["table"]
        if page not in COLUMNS or table not in COLUMNS[page]:
            raise BadRequest(f"没有这张表：{page}/{table}")
        data = data_of(page, request)
        columns = COLUMNS[page][table].columns
        out = io.StringIO()
        # the BOM makes Excel, which the office opens CSV files with, read UTF-8
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow([c.label for c in columns])
        for row in _table_rows(page, table, data):
            writer.writerow([_cell(row.get(c.key), c) for c in columns])
        name = f"{page}-{table}-{data['range']['kind']}.csv"
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def healthz(request: Request) -> Response:
        return Response("ok\n", media_type="text/plain")

    routes: list[Route | Mount] = [Route("/healthz", healthz)]
    for page, (path, _title, _template) in PAGES.items():
        routes.append(Route(path, html_page(page)))
        routes.append(Route("/api" + (path if path != "/" else "/overview"), json_page(page)))
    routes += [
        Route("/csv/{page}/{table}", csv_table),
        # the department's code is in the path of its page: /csv/department/<table>/<code>
        Route("/csv/{page}/{table}/{code}", csv_table),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def bad_request(request: Request, exc: Exception) -> Response:
        return _error(request, 400, str(exc))

    async def unavailable(request: Request, exc: Exception) -> Response:
        from sinks.clickhouse import describe

        return _error(request, 503, f"ClickHouse 暂时无法查询：{describe(exc)}")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        text = "没有这个页面" if exc.status_code == 404 else str(exc.detail)
        return _error(request, exc.status_code, text)

    def _error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith(("/api/", "/csv/")):
            return JSONResponse({"error": message}, status_code=status)
        html = board.templates.get_template("error.html").render(
            title="出错了",
            page="error",
            nav=[(name, PAGES[name][0], PAGES[name][1]) for name in NAV],
            status=status,
            message=message,
            query={},
            url=lambda path, **changes: path,
            refresh_s=0,
            data={},
        )
        return HTMLResponse(html, status_code=status)

    from clickhouse_driver import errors as ch_errors

    return Starlette(
        routes=routes,
        exception_handlers={
            BadRequest: bad_request,
            ch_errors.Error: unavailable,
            OSError: unavailable,
            EOFError: unavailable,
            HTTPException: http_error,
        },
    )


def _url(path: str, query: dict[str, str], changes: dict[str, Any]) -> str:
    merged = {**query, **{k: v for k, v in changes.items()}}
    kept = {k: str(v) for k, v in merged.items() if v not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")
