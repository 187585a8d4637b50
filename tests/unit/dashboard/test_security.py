"""What the dashboard tells a browser, and what its CSV files tell a spreadsheet (issue 29,
part 4): no Host header in redirects, security headers, no formula in a CSV cell."""

from __future__ import annotations

from starlette.testclient import TestClient

from dashboard.app import SECURITY_HEADERS, create_app
from dashboard.exports import _cell
from dashboard.tables import Column
from runtime.settings import Settings
from tests.unit.dashboard.stubs import no_rows


def client() -> TestClient:
    return TestClient(create_app(Settings(), no_rows, no_rows), follow_redirects=False)


def test_a_trailing_slash_redirects_without_the_clients_host() -> None:
    answer = client().get("/rankings/?range=today", headers={"host": "evil.example"})
    assert answer.status_code == 307
    assert answer.headers["location"] == "/rankings?range=today"
    # nor to another server by a doubled slash
    assert client().get("http://testserver//evil.example/").headers["location"] == "/evil.example"


def test_every_answer_carries_the_security_headers() -> None:
    for path in ("/healthz", "/no-such-page", "/rankings/"):
        headers = client().get(path).headers
        for name, value in SECURITY_HEADERS.items():
            assert headers[name] == value, (path, name)
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["content-security-policy"]


def test_a_csv_cell_never_starts_a_formula() -> None:
    name = Column("name", "名称")
    for text in ("=cmd|' /C calc'!A0", '=HYPERLINK("http://x")', "@SUM(A1)", "+1", "-2+3", "\tx"):
        assert _cell(text, name) == "'" + text
    assert _cell(["=1", "b"], name) == "'=1；b"
    assert _cell(-3, name) == "-3" and _cell(-0.5, name) == "-0.5"
    assert _cell("市民中心", name) == "市民中心"


def test_one_client_cannot_spend_the_public_pages_quota_for_everyone() -> None:
    app = create_app(Settings(dashboard_public_per_minute=3), no_rows, no_rows)
    client = TestClient(app, follow_redirects=False)
    answers = [client.get("/api/public?range=7d").status_code for _ in range(4)]
    assert 429 not in answers[:3] and answers[3] == 429
    limited = client.get("/public?range=7d")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "请求过于频繁" in limited.text
    assert client.get("/healthz").status_code == 200  # the rest is not limited


def test_the_limit_is_per_client_and_forgets_after_a_minute() -> None:
    from dashboard.throttle import PerClientLimit

    now = [0.0]
    limit = PerClientLimit(2, clock=lambda: now[0])
    assert limit.allow("a") == 0 and limit.allow("a") == 0
    assert limit.allow("a") == 60 and limit.allow("b") == 0
    now[0] = 30
    assert limit.allow("a") == 30
    now[0] = 60.5
    assert limit.allow("a") == 0
