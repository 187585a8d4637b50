"""The pages as HTML: Jinja templates, the filters they format numbers with, links that keep
every filter of the page in the URL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from dashboard.pages import NAV, PAGES, Dashboard
from dashboard.tables import COLUMNS, Column, Table

HERE: Final = Path(__file__).parent
REFRESH_S: Final = 30


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=_pct, points=_points, relative=_relative, num=_num)
    return env


def nav() -> list[tuple[str, str, str]]:
    return [(name, PAGES[name][0], PAGES[name][1]) for name in NAV]


def _columns(page: str, data: dict[str, Any]) -> dict[str, Table]:
    columns = COLUMNS[page]
    if page == "rankings" and data["dimension"] != "department":
        # only departments have a page of their own to link to
        table = columns["rows"]
        plain = tuple(
            Column(c.key, c.label) if c.kind == "department" else c for c in table.columns
        )
        columns = {"rows": Table(table.title, plain)}
    return columns


def html_endpoint(board: Dashboard, env: Environment, page: str) -> Callable[[Request], Response]:
    _path, title, template = PAGES[page]

    def endpoint(request: Request) -> Response:
        data = board.data(page, request)
        query = dict(request.query_params)

        def sort_url(key: str) -> str:
            # a second click on the sorted column turns the order round
            current = data.get("sort") == key
            flipped = "asc" if data.get("order") == "desc" else "desc"
            return url(
                request.url.path, query, {"sort": key, "order": flipped if current else None}
            )

        def csv(table: str) -> str:
            code = f"/{data['code']}" if page == "department" else ""
            return url(f"/csv/{page}/{table}{code}", query, {})

        html = env.get_template(template).render(
            sort_url=sort_url,
            page=page,
            title=title,
            nav=nav(),
            data=data,
            columns=_columns(page, data),
            query=query,
            refresh_s=REFRESH_S,
            url=lambda path, **changes: url(path, query, changes),
            csv=csv,
        )
        return HTMLResponse(html)

    return endpoint


def error_page(env: Environment, status: int, message: str) -> Response:
    html = env.get_template("error.html").render(
        title="出错了",
        page="error",
        nav=nav(),
        status=status,
        message=message,
        query={},
        url=lambda path, **changes: path,
        refresh_s=0,
        data={},
    )
    return HTMLResponse(html, status_code=status)


def url(path: str, query: dict[str, str], changes: dict[str, Any]) -> str:
    merged = {**query, **{k: v for k, v in changes.items()}}
    kept = {k: str(v) for k, v in merged.items() if v not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "")


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
