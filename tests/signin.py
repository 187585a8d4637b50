"""Signing a test client in to the dashboard, as a person would: a user in the settings' users
file, the login form with its CSRF token (the office's pages need a session, issue 29)."""

from __future__ import annotations

import re
from typing import Any

from runtime.settings import Settings
from workorders.users import Users

PASSWORD = "correct horse battery"


def add_user(settings: Settings, user_id: str = "analyst-t", role: str = "analyst") -> str:
    users = Users(settings.users_file)
    if user_id not in users.all():
        users.add(user_id, role, PASSWORD, ("D-T",) if role == "department" else ())
    return user_id


def sign_in(
    client: Any, settings: Settings, user_id: str = "analyst-t", role: str = "analyst"
) -> Any:
    """``client``: a Starlette TestClient (any host in dashboard_allowed_hosts)."""
    add_user(settings, user_id, role)
    page = client.get("/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, page
    answer = client.post(
        "/login",
        data={"csrf": token.group(1), "user_id": user_id, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client
