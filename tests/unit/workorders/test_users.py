"""Who may sign in (workorders/users.py): argon2 hashes in a 0600 file, no default user,
disabled users and wrong passwords alike refused."""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path

import pytest

from workorders.users import UserProblem, Users

PASSWORD = "correct horse battery"


def test_nobody_may_sign_in_before_a_user_is_added(tmp_path: Path) -> None:
    users = Users(tmp_path / "users.json")
    assert users.all() == {}
    assert users.check("admin", "admin") is None


def test_a_user_signs_in_with_their_password_only(tmp_path: Path) -> None:
    users = Users(tmp_path / "users.json")
    users.add("li.na", "department", PASSWORD, ("D-B",))
    user = users.check("li.na", PASSWORD)
    assert user is not None and user.role == "department" and user.departments == ("D-B",)
    assert users.check("li.na", PASSWORD + "x") is None
    assert users.check("wang", PASSWORD) is None


def test_the_file_holds_argon2_hashes_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "deploy" / "users.json"
    Users(path).add("office-1", "office", PASSWORD, ())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert PASSWORD not in text
    assert json.loads(text)["users"][0]["password_hash"].startswith("$argon2id$")
    assert not list(path.parent.glob(".users-*"))  # no temporary file left behind


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can write a file for another user")
def test_root_adding_a_user_leaves_the_file_to_the_dashboards_user(tmp_path: Path) -> None:
    """deploy/supervise.sh hands the file to haochaping-dashboard; `haochaping users add`, run
    as root while the dashboard runs, must not take it back (the sign-in would fail)."""
    path = tmp_path / "users.json"
    path.write_text('{"users": []}\n')
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    Users(path).add("office-1", "office", PASSWORD, ())
    assert (path.stat().st_uid, path.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_disabled_user_cannot_sign_in_nor_keep_a_session(tmp_path: Path) -> None:
    users = Users(tmp_path / "users.json")
    users.add("office-1", "office", PASSWORD, ())
    users.disable("office-1")
    assert users.check("office-1", PASSWORD) is None
    assert users.get("office-1") is None


@pytest.mark.parametrize(
    ("user_id", "role", "password", "departments", "why"),
    [
        ("a b", "office", PASSWORD, (), "letters, digits"),
        ("x", "boss", PASSWORD, (), "role must be one of"),
        ("x", "department", PASSWORD, (), "at least one --department"),
        ("x", "office", PASSWORD, ("D1",), "has no departments"),
        ("x", "office", "short", (), "at least 12"),
    ],
)
def test_a_bad_user_is_refused_with_the_reason(
    tmp_path: Path, user_id: str, role: str, password: str, departments: tuple[str, ...], why: str
) -> None:
    with pytest.raises(UserProblem, match=why):
        Users(tmp_path / "users.json").add(user_id, role, password, departments)


def test_a_user_id_is_added_once(tmp_path: Path) -> None:
    users = Users(tmp_path / "users.json")
    users.add("x", "analyst", PASSWORD, ())
    with pytest.raises(UserProblem, match="exists already"):
        users.add("x", "office", PASSWORD, ())
