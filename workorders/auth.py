"""Sessions, CSRF tokens and login throttling for the work-order pages.

The session is Starlette's signed cookie (itsdangerous): it holds the user id, the CSRF token
and the sign-in time, never a password or a role; the role and departments are read from the
users file on every request, so disabling a user ends their session at once. Every form
carries the session's CSRF token and a POST without it is refused (the cookie is SameSite=lax
too). After ``max_failures`` wrong passwords for one user id or from one address within
``window_s``, sign-in is refused for that user id or address until the window has passed.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any, Final

from starlette.requests import Request

from runtime.sliding import SlidingCounts
from workorders.users import User, Users

SESSION_USER: Final = "user"
SESSION_CSRF: Final = "csrf"
SESSION_SINCE: Final = "since"


class LoginThrottle:
    """Pure: failures per key (a user id, an address) in a sliding window."""

    def __init__(
        self,
        max_failures: int = 5,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self._failures = SlidingCounts(window_s, clock)

    def blocked(self, *keys: str) -> bool:
        return any(self._failures.count(key) >= self.max_failures for key in keys)

    def failed(self, *keys: str) -> None:
        for key in keys:
            self._failures.add(key)

    def succeeded(self, user_key: str) -> None:
        self._failures.forget(user_key)


def sign_in(request: Request, user: User) -> None:
    request.session.clear()
    request.session[SESSION_USER] = user.user_id
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    request.session[SESSION_SINCE] = int(time.time())


def signed_in(request: Request, users: Users, max_age_s: float) -> User | None:
    """The enabled user of this session, if it is younger than ``max_age_s``."""
    session: dict[str, Any] = request.session
    user_id, since = session.get(SESSION_USER), session.get(SESSION_SINCE, 0)
    if not isinstance(user_id, str) or time.time() - float(since) > max_age_s:
        session.clear()
        return None
    user = users.get(user_id)
    if user is None:
        session.clear()
    return user


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = request.session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, sent: Any) -> bool:
    token = request.session.get(SESSION_CSRF)
    return isinstance(token, str) and isinstance(sent, str) and hmac.compare_digest(token, sent)
