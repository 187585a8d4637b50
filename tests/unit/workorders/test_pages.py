"""The work-order pages over HTTP, without services (Starlette's TestClient, ClickHouse's
answers and the Kafka send faked at their ports): sign-in, CSRF, throttling, the Host check,
who sees which case and which forms, and what a POST sends."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dashboard.app import create_app
from runtime.settings import Settings
from schemas.actions import CaseAction
from workorders import casefiles, submit
from workorders.users import Users

PASSWORD = "correct horse battery"
OPENED = 1_762_653_600  # 2025-11-09 10:00 Shanghai
CASE_ROWS = [("opened", OPENED, "D-A", "worker", "S1", 1, OPENED - 60, "", -1, -1, "", "", "")]


class Fakes:
    def __init__(self) -> None:
        self.sent: list[CaseAction] = []

    def read(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        if sql == casefiles.EVENTS_OF_CASE:
            return CASE_ROWS if params["case_id"] == "E1" else []
        if sql == submit.VERDICT_REFUSAL:
            return [("只有好差评办公室可以这样做 / only the office may do this",)]
        return []

    def send(self, action: CaseAction) -> tuple[int, int]:
        self.sent.append(action)
        return 1, 41


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    users = Users(tmp_path / "users.json")
    users.add("office-1", "office", PASSWORD, ())
    users.add("handler-a", "department", PASSWORD, ("D-A",))
    users.add("handler-b", "department", PASSWORD, ("D-B",))
    users.add("analyst-1", "analyst", PASSWORD, ())
    return Settings(
        users_file=str(tmp_path / "users.json"), dashboard_allowed_hosts=["testserver"]
    )


def browser(settings: Settings, fakes: Fakes) -> TestClient:
    app = create_app(settings, fakes.read, fakes.read, send=fakes.send)
    return TestClient(app, follow_redirects=False)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def signed_in(settings: Settings, fakes: Fakes, user: str) -> TestClient:
    client = browser(settings, fakes)
    token = csrf(client.get("/login").text)
    answer = client.post("/login", data={"csrf": token, "user_id": user, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    return client


def test_every_page_but_the_login_needs_a_session(settings: Settings, fakes: Fakes) -> None:
    client = browser(settings, fakes)
    for path in ("/inbox", "/supervision", "/cases/E1"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_a_login_without_its_csrf_token_is_refused(settings: Settings, fakes: Fakes) -> None:
    client = browser(settings, fakes)
    client.get("/login")
    answer = client.post("/login", data={"user_id": "office-1", "password": PASSWORD})
    assert answer.status_code == 400 and "页面已过期" in answer.text


def test_wrong_passwords_pause_the_sign_in(settings: Settings, fakes: Fakes) -> None:
    client = browser(settings, fakes)
    token = csrf(client.get("/login").text)
    for _ in range(5):
        wrong = {"csrf": token, "user_id": "office-1", "password": "nope"}
        assert client.post("/login", data=wrong).status_code == 401
    right = {"csrf": token, "user_id": "office-1", "password": PASSWORD}
    answer = client.post("/login", data=right)
    assert answer.status_code == 429 and "登录失败次数过多" in answer.text


def test_an_unknown_host_is_refused(settings: Settings, fakes: Fakes) -> None:
    answer = browser(settings, fakes).get("/login", headers={"host": "evil.example"})
    assert answer.status_code == 400


def test_a_handler_sees_their_departments_case_with_its_forms(
    settings: Settings, fakes: Fakes
) -> None:
    page = signed_in(settings, fakes, "handler-a").get("/cases/E1")
    assert page.status_code == 200
    forms = re.findall(r'data-action="(\w+)"', page.text)
    assert forms == ["request_reroute", "verify", "call_back", "appeal"]
    assert "承办部门" in page.text and "受理差评" in page.text


def test_another_departments_handler_is_not_shown_the_case(
    settings: Settings, fakes: Fakes
) -> None:
    assert signed_in(settings, fakes, "handler-b").get("/cases/E1").status_code == 403


def test_an_analyst_reads_and_gets_no_form(settings: Settings, fakes: Fakes) -> None:
    page = signed_in(settings, fakes, "analyst-1").get("/cases/E1")
    assert page.status_code == 200 and 'data-action="' not in page.text
    assert signed_in(settings, fakes, "analyst-1").get("/supervision").status_code == 403


def test_an_action_is_sent_stamped_with_its_user_and_its_verdict_shown(
    settings: Settings, fakes: Fakes
) -> None:
    client = signed_in(settings, fakes, "handler-a")
    token = csrf(client.get("/cases/E1").text)
    refused = client.post("/cases/E1", data={"action": "close"})  # no token
    assert refused.status_code == 400 and fakes.sent == []
    answer = client.post("/cases/E1", data={"csrf": token, "action": "close"})
    assert answer.status_code == 303
    (action,) = fakes.sent
    assert (action.actor, action.actor_role, action.action) == ("handler-a", "department", "close")
    page = client.get(answer.headers["location"])
    assert "未办理：只有好差评办公室可以这样做" in page.text


def test_a_form_missing_a_field_says_so_and_sends_nothing(
    settings: Settings, fakes: Fakes
) -> None:
    client = signed_in(settings, fakes, "handler-a")
    token = csrf(client.get("/cases/E1").text)
    page = client.post("/cases/E1", data={"csrf": token, "action": "verify"})
    assert page.status_code == 200 and "truthful, reasonable, category: required" in page.text
    assert fakes.sent == []


def test_a_session_ends_after_its_hours(settings: Settings, fakes: Fakes) -> None:
    short = settings.model_copy(update={"dashboard_session_hours": 2 / 3600})
    client = signed_in(short, fakes, "office-1")
    time.sleep(2.5)
    assert client.get("/inbox").headers["location"] == "/login"


def test_a_disabled_user_is_signed_out_at_once(settings: Settings, fakes: Fakes) -> None:
    client = signed_in(settings, fakes, "handler-a")
    Users(settings.users_file).disable("handler-a")
    assert client.get("/inbox").headers["location"] == "/login"
