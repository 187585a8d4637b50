"""Each table of a page as CSV, for Excel (which the office opens CSV files with)."""

from __future__ import annotations

import csv
import io
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from dashboard.pages import Dashboard
from dashboard.params import BadRequest
from dashboard.tables import COLUMNS, Column


def csv_endpoint(board: Dashboard) -> Any:
    def csv_table(request: Request) -> Response:
        page, table = request.path_params["page"], request.path_params["table"]
        if page not in COLUMNS or table not in COLUMNS[page]:
            raise BadRequest(f"没有这张表：{page}/{table}")
        data = board.data(page, request)
        columns = COLUMNS[page][table].columns
        out = io.StringIO()
        # the BOM makes Excel read UTF-8
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

    return csv_table


# what makes a spreadsheet read a cell as a formula (=cmd|' /C calc'!A0, @SUM(…))
FORMULA_LEADS: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, column: Column) -> str:
    """A table cell as CSV text: rates as percentages, lists joined, and text that a
    spreadsheet would run as a formula quoted with a leading ' (issue 29); numbers as they
    are (-3 is a number, not a formula)."""
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value * 100:.2f}%"
    if isinstance(value, int | float):
        return str(value)
    text = "；".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


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
