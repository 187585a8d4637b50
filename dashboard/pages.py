"""The data of each page, from its request: what the HTML, the JSON twin and the CSV show.

The numbers come from reports/pages/; here the request's parameters are checked and
the right reader (the analyst's, or the evaluator's for the public page) is chosen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from starlette.requests import Request

from dashboard.params import CODE, BadRequest, min_total_of, param, range_of
from reports import pages, queries
from reports.coverage import PLACE
from reports.ranges import Range
from runtime.settings import Settings

Execute = pages.Execute


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

    # ---- the data of each page (the JSON endpoints return it as it is) -----------------

    def overview(self, request: Request) -> dict[str, Any]:
        return pages.overview(self.read, self._range(request))

    def rankings(self, request: Request) -> dict[str, Any]:
        span = self._range(request)
        dimension = param(request, "dimension", "department")
        if dimension not in pages.RANKED_DIMENSIONS:
            known = "、".join(pages.RANKED_DIMENSIONS)
            raise BadRequest(f"排名维度 dimension={dimension!r}：可选 {known}")
        sort = param(request, "sort", "good_rate")
        if sort not in pages.SORTABLE:
            raise BadRequest(f"排序 sort={sort!r}：可选 {'、'.join(pages.SORTABLE)}")
        order = param(request, "order")
        if order not in ("", "asc", "desc"):
            raise BadRequest(f"顺序 order={order!r}：可选 asc、desc")
        min_total = min_total_of(request, self.settings.dashboard_min_total)
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

    def coverage(self, request: Request) -> dict[str, Any]:
        by = param(request, "dimension", "hall")
        if by not in PLACE:
            raise BadRequest(f"维度 dimension={by!r}：可选 {'、'.join(PLACE)}")
        return pages.coverage_page(
            self.read,
            self._range(request),
            by,
            min_transactions=min_total_of(request, COVERAGE_MIN_TRANSACTIONS),
            horizon_days=self.settings.transaction_horizon_days,
        )

    def department(self, request: Request) -> dict[str, Any]:
        code = request.path_params["code"]
        if not CODE.match(code):
            raise BadRequest(f"部门编码 {code[:80]!r} 不合法：应为 1 到 64 位字母、数字或 -_.")
        if not self.read(queries.KEY_EXISTS, {"dimension": "department", "key": code})[0][0]:
            raise BadRequest(f"未知的部门 {code}：没有它的评价数据")
        return pages.department_page(self.read, self._range(request), code, now=self._now())

    def alerts(self, request: Request) -> dict[str, Any]:
        return pages.alerts_page(self.read, self._range(request))

    def followup(self, request: Request) -> dict[str, Any]:
        return pages.followup_page(self.read, self._range(request), now=self._now())

    def public(self, request: Request) -> dict[str, Any]:
        min_total = min_total_of(request, self.settings.dashboard_min_total)
        found = pages.public_page(self.read_public, self._range(request), min_total=min_total)
        found["min_total"] = min_total
        return found

    def data(self, page: str, request: Request) -> dict[str, Any]:
        """The data of ``page`` (a key of PAGES) for ``request``: what its HTML, its JSON twin
        and its CSV tables show."""
        return dict(getattr(self, page)(request))

    def _now(self) -> int | None:
        return self.now() if self.now else None

    def _range(self, request: Request) -> Range:
        # the range ends at the board's clock, so a test's pinned clock pins "today" too
        return range_of(request, self._now())


PAGES: Final = {
    "overview": ("/", "总览", "overview.html"),
    "rankings": ("/rankings", "排名", "rankings.html"),
    "coverage": ("/coverage", "评价率", "coverage.html"),
    "department": ("/departments/{code}", "部门", "department.html"),
    "alerts": ("/alerts", "差评激增", "alerts.html"),
    "followup": ("/followup", "督办", "followup.html"),
    "public": ("/public", "公开", "public.html"),
}

NAV: Final = ("overview", "rankings", "coverage", "alerts", "followup", "public")
# fewest 办件 for a place in the coverage page's list of lowest 评价率 (min_total changes it)
COVERAGE_MIN_TRANSACTIONS: Final = 10
