"""The 差评 work-order loop in a real browser (issue 27): Debian's chromium through Playwright, the
dashboard's work-order pages, a real broker, worker, sink and ClickHouse. A bad review lands;
the office routes it; the department asks to send it back and the office refuses; the
department verifies it (属实), calls back, rectifies and records the citizen's rating; the
worker is SIGKILLed in the middle; every page shows the step just taken and the office's
督办 page shows the department's indicators. Screenshots of each page are saved in the test's
tmp dir (and in $HAOCHAPING_SCREENSHOTS, for the README's, when set)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from clickhouse_driver import Client

from channels.simulation import Simulator, message_key
from dashboard.app import create_app
from runtime.settings import Settings
from tests.integration.harness import Service, send, tails, wait_until
from tests.integration.test_dashboard_browser import CHROMIUM, free_port
from workorders.users import Users

PASSWORD = "correct horse battery"
VERDICT_TIMEOUT_MS = 120_000  # the worker and the sink on a loaded machine, plus a restart


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {
        "users_file": str(tmp_path / "users.json"),
        "dashboard_allowed_hosts": ["127.0.0.1"],
    }


@pytest.fixture
def desk_url(settings: Settings, clickhouse: Client) -> Iterator[str]:
    from sinks.clickhouse import connect

    client = connect(settings, analyst=True)
    lock = threading.Lock()  # one connection, requests in several threads

    def execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with lock:
            return list(client.execute(sql, params))

    app = create_app(settings, analyst=execute, public=execute)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert shutil.which("chromium") or Path(CHROMIUM).exists(), (
        "chromium is missing: `bash deploy/services.sh browser` (make test) installs it"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


class Person:
    """One signed-in user in a browser context of their own."""

    def __init__(self, browser: Any, url: str, user_id: str, shots: Path) -> None:
        self.page = browser.new_context(locale="zh-CN").new_page()
        self.url, self.shots = url, shots
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(f"{url}/login")
        self.page.fill("input[name=user_id]", user_id)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, self.page.content()

    def act(self, case_id: str, action: str, fields: dict[str, str], shot: str) -> None:
        from playwright.sync_api import expect

        self.page.goto(f"{self.url}/cases/{case_id}")
        form = self.page.locator(f"form[data-action={action}]")
        expect(form).to_have_count(1)
        for name, value in fields.items():
            field = form.locator(f"[name={name}]")
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        form.locator("button[type=submit]").click()
        # the page refreshes itself until the worker's verdict has landed; a refusal is a
        # verdict too, and its reason is the failure's message
        verdict = self.page.locator(".verdict:not(.pending)")
        expect(verdict).to_be_visible(timeout=VERDICT_TIMEOUT_MS)
        assert "accepted" in (verdict.get_attribute("class") or ""), verdict.inner_text()
        self.shot(shot)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


def test_a_bad_review_walks_the_loop_in_the_browser(
    settings: Settings, clickhouse: Client, desk_url: str, chromium: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    review = Simulator(seed=271).evaluation(datetime.now(UTC) - timedelta(minutes=3), level=1)
    case_id = review["evaluation_id"]
    assert review["evaluator_id"] and review["transaction_id"]  # 实名, and a transaction
    users = Users(settings.users_file)
    users.add("office-1", "office", PASSWORD, ())
    users.add("handler-b", "department", PASSWORD, ("D-B",))
    shots = tmp_path / "shots"
    shots.mkdir()

    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        send(settings, [(message_key(review), json.dumps(review).encode())])
        wait_until(
            "the case to open",
            lambda: bool(
                clickhouse.execute(
                    "SELECT 1 FROM case_events WHERE case_id = %(id)s", {"id": case_id}
                )
            ),
            services=[worker, sink],
        )
        office = Person(chromium, desk_url, "office-1", shots)
        office.act(case_id, "route", {"department_code": "D-B"}, "workorders-routed")
        handler = Person(chromium, desk_url, "handler-b", shots)
        handler.page.goto(f"{desk_url}/inbox")
        expect(handler.page.locator(f"a[href='/cases/{case_id}']")).to_have_count(1)
        handler.shot("workorders-inbox")
        handler.act(case_id, "request_reroute", {"note": "非本部门事项"}, "reroute-asked")
        office.act(case_id, "refuse_reroute", {}, "reroute-refused")
        handler.act(case_id, "verify", {"truthful": "yes", "reasonable": "yes",
                    "category": "attitude"}, "verified")  # fmt: skip
        worker.kill()  # SIGKILL in the middle of the loop: no commit, no flush
        worker = Service(settings, "worker", tmp_path / "worker-2.log")
        handler.act(case_id, "call_back", {"outcome": "reached"}, "called-back")
        handler.act(case_id, "rectify", {"note": "增设导办员"}, "rectified")
        handler.act(
            case_id, "rate_rectification", {"satisfaction": "basically_satisfied"},
            "workorders-case",
        )  # fmt: skip
        # the citizen rates the transaction again (追评, its round 2): 4 stars
        again = {**review, "evaluation_id": f"{case_id[:-4]}beef", "evaluation_round": 2,
                 "level": 4, "tags": ["413"], "comment": "整改后办得很顺利",
                 "evaluated_at": datetime.now(UTC).isoformat()}  # fmt: skip
        send(settings, [(message_key(again), json.dumps(again).encode())])
        follow_up = handler.page.locator(".follow-up")
        deadline = time.monotonic() + VERDICT_TIMEOUT_MS / 1000
        while not follow_up.count():
            assert time.monotonic() < deadline, "the 追评 never showed on the case page"
            time.sleep(1)
            handler.page.goto(f"{desk_url}/cases/{case_id}")
        expect(follow_up).to_contain_text("追评：4 星")
        handler.shot("workorders-case")
        # nothing is left to do for the department but an appeal
        forms = handler.page.locator("form.action").evaluate_all(
            "forms => forms.map(f => f.dataset.action)"
        )
        assert forms == ["call_back", "appeal"], forms
        expect(handler.page.locator(".state")).to_have_text("已整改")
        history = handler.page.locator("table.history td:nth-child(2)").all_inner_texts()
        assert history == ["受理差评", "转办", "申请退单", "退单不予同意", "核实", "回访", "整改",
                           "整改评价"], history  # fmt: skip

        office.page.goto(f"{desk_url}/supervision")
        row = office.page.locator("table.loop tbody tr", has_text="D-B")
        cells = row.locator("td").all_inner_texts()
        # department, cases, verified, routed, 退单 asked, refused, reached, 回访率, rated,
        # 整改满意率, appeals upheld, 实名差评回访率 (the review names its evaluator), 追评满意率
        assert cells == ["D-B", "1", "1", "1", "1", "1", "1", "100.0%", "1", "100.0%", "0",
                         "100.0%", "100.0%"]  # fmt: skip
        office.shot("workorders-supervision")
        assert office.errors == [] and handler.errors == []
    except AssertionError as failure:  # what the worker and the sink were doing meanwhile
        raise AssertionError(f"{failure}{tails([worker, sink])}") from failure
    finally:
        worker.stop()
        sink.stop()
    wanted = os.environ.get("HAOCHAPING_SCREENSHOTS")
    if wanted:
        for path in shots.glob("workorders-*.png"):
            shutil.copy(path, Path(wanted) / path.name)


def test_the_walkthrough_walks_a_case_over_http(
    settings: Settings, clickhouse: Client, desk_url: str, tmp_path: Path
) -> None:
    from workorders.walkthrough import WalkFailed, walk

    review = Simulator(seed=272).evaluation(datetime.now(UTC) - timedelta(minutes=3), level=1)
    case_id = review["evaluation_id"]
    users = Users(settings.users_file)
    users.add("office-1", "office", PASSWORD, ())
    users.add("handler-1", "department", PASSWORD, ("D-C",))
    people = {"office": ("office-1", PASSWORD), "department": ("handler-1", PASSWORD)}
    with pytest.raises(WalkFailed, match="could not sign in"):
        next(walk(desk_url, case_id, "D-C", {"office": ("office-1", "wrong")}, print))

    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker.log")
    try:
        send(settings, [(message_key(review), json.dumps(review).encode())])
        wait_until(
            "the case to open",
            lambda: bool(
                clickhouse.execute(
                    "SELECT 1 FROM case_events WHERE case_id = %(id)s", {"id": case_id}
                )
            ),
            services=[worker, sink],
        )
        verdicts = list(walk(desk_url, case_id, "D-C", people, print, timeout_s=120))
    finally:
        worker.stop()
        sink.stop()
    steps = ("转办", "核实", "回访", "整改", "整改评价")
    assert verdicts == [f"已办理：{label}" for label in steps]
    row = clickhouse.execute(
        "SELECT cases, verified_cases, reached_callbacks, rectification_satisfaction_rate "
        "FROM case_loop_monthly WHERE department_code = 'D-C'"
    )
    assert row == [(1, 1, 1, 1.0)]
