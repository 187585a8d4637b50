"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright (with the
system executable: Playwright's own browser download is not used), on demo-like data in the
real ClickHouse. Every page opens without a console error and draws its charts; the planted
surge tops the ranking and is under alerts; a click on it opens its department's page; the
planted overdue case is on the follow-up page. A screenshot of every page is saved in the
test's tmp dir (the README's come from here)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest
import uvicorn
from clickhouse_driver import Client

from dashboard.app import create_app
from runtime.clock import CHINA
from runtime.settings import Settings
from tests.integration.dashboard_data import Landed, land_demo
from tests.signin import PASSWORD, add_user

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"users_file": str(tmp_path / "users.json")}


def last_noon(moment: datetime) -> datetime:
    """The latest Shanghai noon at or before ``moment``."""
    local = moment.astimezone(CHINA)
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon <= local else noon - timedelta(days=1)


# The data and the dashboard share one clock, pinned to a Shanghai noon: on the wall clock,
# a run in the first minutes of a Shanghai day found the planted surge under "yesterday"
# (the "today" pages start at midnight), and the alerts page showed none of it.
NOW: Final = last_noon(datetime.now(UTC))


@pytest.fixture
def landed(clickhouse: Client, settings: Settings) -> Landed:
    return land_demo(clickhouse, settings, now=NOW)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def base_url(settings: Settings, landed: Landed) -> Iterator[str]:
    # the public page reads <database>_public as the evaluator; the test database has none
    # (test_dashboard.py tests that page), so here it reads the test database itself
    from sinks.clickhouse import connect

    client = connect(settings, analyst=True)
    app = create_app(
        settings,
        analyst=lambda sql, params: list(client.execute(sql, params)),
        public=lambda sql, params: list(client.execute(sql, params)),
        now=lambda: int(NOW.timestamp()),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start within 30 s"
        assert thread.is_alive(), "the dashboard's server thread ended"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium") or Path(CHROMIUM).exists(), (
        "chromium is missing: `bash deploy/services.sh browser` (make test) installs it"
    )
    with sync_playwright() as playwright:
        # root (CI) cannot use chromium's sandbox
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


PAGES = {
    "overview": "/?range=today",
    "rankings": "/rankings?range=today",
    "alerts": "/alerts?range=today",
    "followup": "/followup?range=30d",
    "public": "/public?range=7d",
}


def test_every_page_in_chromium(
    browser: Any, base_url: str, landed: Landed, tmp_path: Path, settings: Settings
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_default_timeout(30_000)
    # the office's pages need a session (issue 29): the sign-in page sends the browser there
    page.goto(base_url + "/")
    assert page.url.endswith("/login")
    page.fill("input[name=user_id]", add_user(settings))
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()

    def visit(name: str, path: str) -> None:
        response = page.goto(base_url + path, wait_until="load")
        assert response is not None and response.status == 200, (name, path)
        # the charts are drawn by the page's script, as SVG (the renderer the tests read)
        for chart in page.locator(".chart").all():
            chart.locator("svg").first.wait_for(state="attached")
        sparks = page.locator(".spark")
        if sparks.count():
            sparks.first.locator("svg").wait_for(state="attached")
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)

    for name, path in PAGES.items():
        visit(name, path)
        if name == "overview":
            assert page.locator(".chart svg").count() == 2
        if name == "rankings":
            first = page.locator("#table-rows tbody tr").first
            assert first.get_attribute("data-code") == landed.surge_department
            assert first.locator(".spark svg").count() == 1
        if name == "alerts":
            assert page.locator(f'section.alert[data-key="{landed.surge_department}"]').count()
            assert page.locator("section.alert .chart svg").count() >= 1
        if name == "followup":
            overdue = page.locator("#table-overdue tbody tr")
            codes = [overdue.nth(i).get_attribute("data-code") for i in range(overdue.count())]
            assert landed.overdue_case in codes

    # from the ranking, a click on the surging department opens its page
    visit("rankings", PAGES["rankings"])
    page.locator(f'#table-rows tr[data-code="{landed.surge_department}"] a.department').click()
    page.wait_for_url(f"**/departments/{landed.surge_department}?*")
    page.locator(".chart svg").first.wait_for(state="attached")
    assert landed.surge_department in page.locator("h2.subject").inner_text()
    assert page.locator("#table-alerts tbody tr").count() >= 1
    assert page.locator("#table-recent_bad tbody tr").count() >= 1
    page.screenshot(path=str(tmp_path / "department.png"), full_page=True)

    # a wrong parameter is a readable 400 page, not a server error
    response = page.goto(base_url + "/rankings?range=yesterday")
    assert response is not None and response.status == 400
    assert "range" in page.locator(".message").inner_text()
    problems = [p for p in problems if "400" not in p]  # the console reports that very 400

    assert problems == [], problems
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(
        f"{name}.png" for name in [*PAGES, "department"]
    )
