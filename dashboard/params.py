"""The query parameters of the pages, checked: a value a page cannot take is a 400 whose
text says what is wrong, in Chinese, as the office reads it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from starlette.requests import Request

from reports.ranges import Range, RangeError, parse
from runtime.clock import CHINA

CODE: Final = re.compile(r"^[0-9A-Za-z_.\-]{1,64}$")
ASCII_COUNT: Final = re.compile(r"[0-9]{1,9}")
MAX_MIN_TOTAL: Final = 1_000_000_000


class BadRequest(Exception):
    """A parameter the page cannot take; its text is shown as it is (status 400)."""


def param(request: Request, name: str, default: str = "") -> str:
    return request.query_params.get(name, default).strip()


def range_of(request: Request, now: int | None = None) -> Range:
    """The range the request names, as of ``now`` (epoch seconds; the wall clock if None)."""
    moment = None if now is None else datetime.fromtimestamp(now, CHINA)
    try:
        return parse(param(request, "range") or None, param(request, "month") or None, now=moment)
    except RangeError as exc:
        raise BadRequest(str(exc)) from exc


def min_total_of(request: Request, default: int) -> int:
    text = param(request, "min_total")
    if not text:
        return default
    # ASCII digits only: str.isdigit() takes "²", and int() reads "١٢" as 12 (issue 26)
    if not ASCII_COUNT.fullmatch(text) or not 1 <= int(text) <= MAX_MIN_TOTAL:
        raise BadRequest(f"最小评价量 min_total={text!r} 应为 1 到 {MAX_MIN_TOTAL} 之间的整数")
    return int(text)
