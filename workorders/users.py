"""Who may sign in: users in one JSON file (``HAOCHAPING_USERS_FILE``), passwords hashed with
argon2 (argon2-cffi's defaults, RFC 9106's second recommendation). No user and no password
ship with the project: ``haochaping users add`` makes them.

The file is written whole to a temporary file and renamed over the old one, with mode 0600 and
the old one's owner: a crash never leaves half a file, and only the account running the
dashboard reads hashes.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Final, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field

Role = Literal["office", "department", "analyst"]
ROLES: Final[tuple[str, ...]] = ("office", "department", "analyst")
USER_ID: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD: Final = 12
_HASHER: Final = PasswordHasher()
# verified when the user is unknown, so that a wrong name costs as long as a wrong password
_DUMMY: Final = _HASHER.hash("not-a-password-of-anyone")


class UserProblem(ValueError):
    """A user cannot be added or changed so; the message says why, in one line."""


class User(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str
    role: Role
    departments: tuple[str, ...] = Field(default=(), description="a department user's codes")
    password_hash: str
    disabled: bool = False


class Users:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def all(self) -> dict[str, User]:
        if not self.path.exists():
            return {}
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        return {u["user_id"]: User.model_validate(u) for u in raw.get("users", [])}

    def add(self, user_id: str, role: str, password: str, departments: tuple[str, ...]) -> User:
        if not USER_ID.match(user_id):
            raise UserProblem("a user id is 1 to 64 letters, digits or _ . -")
        if role not in ROLES:
            raise UserProblem(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if role == "department" and not departments:
            raise UserProblem("a department user needs at least one --department code")
        if role != "department" and departments:
            raise UserProblem(f"an {role} user has no departments")
        if len(password) < MIN_PASSWORD:
            raise UserProblem(f"the password must have at least {MIN_PASSWORD} characters")
        users = self.all()
        if user_id in users:
            raise UserProblem(f"user {user_id} exists already (disable it, or choose another id)")
        user = User(
            user_id=user_id,
            role=role,  # type: ignore[arg-type]
            departments=departments,
            password_hash=_HASHER.hash(password),
        )
        self._write({**users, user_id: user})
        return user

    def disable(self, user_id: str) -> User:
        users = self.all()
        if user_id not in users:
            raise UserProblem(f"no user {user_id}")
        users[user_id] = users[user_id].model_copy(update={"disabled": True})
        self._write(users)
        return users[user_id]

    def remove(self, user_id: str) -> None:
        """Forget a user (before adding them again with `users add --replace`)."""
        users = self.all()
        if users.pop(user_id, None) is not None:
            self._write(users)

    def check(self, user_id: str, password: str) -> User | None:
        """The user if the password is theirs and they are not disabled; else None."""
        user = self.all().get(user_id)
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or user.disabled:
            return None
        return user

    def get(self, user_id: str) -> User | None:
        """An enabled user (a session of a user disabled since is over)."""
        user = self.all().get(user_id)
        return None if user is None or user.disabled else user

    def _write(self, users: dict[str, User]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"users": [u.model_dump(mode="json") for u in sorted(users.values(), key=_id)]}
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".users-")
        try:
            os.fchmod(fd, 0o600)
            _keep_owner(fd, self.path)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out, ensure_ascii=False, indent=1)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _keep_owner(fd: int, path: Path) -> None:
    """Root (`haochaping users` on a server) rewrites the file for the dashboard's own user
    (deploy/supervise.sh hands it over): the new file keeps the old one's owner."""
    if os.geteuid() != 0:
        return
    try:
        old = path.stat()
    except FileNotFoundError:
        return
    os.fchown(fd, old.st_uid, old.st_gid)


def _id(user: User) -> str:
    return user.user_id
