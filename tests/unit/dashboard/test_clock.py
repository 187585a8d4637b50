"""The dashboard's clock: a range ends at the board's ``now``, so a page's "today" is the day
of that clock (a test pins it; on the wall clock a test run just after a Shanghai midnight saw
its data under yesterday)."""

from __future__ import annotations

from datetime import datetime

from starlette.testclient import TestClient

from dashboard.app import create_app
from runtime.clock import CHINA
from runtime.settings import Settings
from tests.unit.dashboard.stubs import no_rows


def test_today_is_the_day_of_the_boards_clock() -> None:
    pinned = int(datetime(2026, 3, 4, 0, 10, tzinfo=CHINA).timestamp())
    api = TestClient(create_app(Settings(), no_rows, no_rows, now=lambda: pinned))
    span = api.get("/api/public?range=today").json()["range"]
    assert span["start"] == "2026-03-04T00:00:00+08:00"
    assert span["end"] == "2026-03-04T00:10:00+08:00"
