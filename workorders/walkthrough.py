"""A case walked through the loop over HTTP, as two people in two browsers would: the office
routes it, the department verifies, calls back, rectifies and records the citizen's rating.
`haochaping walkthrough` runs it (the demo does, against the supervised dashboard): the same
pages, forms, CSRF tokens and verdicts a browser gets, with the standard library's HTTP client.
"""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar
from typing import Final

CSRF: Final = re.compile(r'name="csrf" value="([^"]+)"')
VERDICT: Final = re.compile(r'class="verdict (accepted|refused|pending)"[^>]*>([^<]*)<')
# the loop, as (who, action, fields)
STEPS: Final = (
    ("office", "route", {"department_code": "{to}"}),
    ("department", "verify", {"truthful": "yes", "reasonable": "yes", "category": "efficiency"}),
    ("department", "call_back", {"outcome": "reached", "note": "已电话联系评价人"}),
    ("department", "rectify", {"note": "增设导办员，材料清单上墙"}),
    ("department", "rate_rectification", {"satisfaction": "satisfied"}),
)


class WalkFailed(Exception):
    """A step did not go through; the message says which and why."""


class Session:
    """One signed-in person: a cookie jar and the pages' CSRF token."""

    def __init__(self, base_url: str, user_id: str, password: str) -> None:
        self.base = base_url.rstrip("/")
        self._open = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar())
        ).open
        token = self._token(self.get("/login"))
        page = self.post("/login", {"csrf": token, "user_id": user_id, "password": password})
        if 'action="/login"' in page:
            raise WalkFailed(f"{user_id} could not sign in at {self.base}/login")

    def get(self, path: str) -> str:
        return self.fetch(self.base + path)[0]

    def post(self, path: str, form: dict[str, str]) -> str:
        return self.fetch(self.base + path, urllib.parse.urlencode(form).encode())[0]

    def fetch(self, url: str, body: bytes | None = None) -> tuple[str, str]:
        """The page and the URL it ended at (after the POST's redirect)."""
        try:
            with self._open(url, data=body, timeout=30) as answer:
                return answer.read().decode("utf-8"), answer.geturl()
        except urllib.error.HTTPError as refused:  # 401, 403, 429: the page says why
            return refused.read().decode("utf-8"), url

    @staticmethod
    def _token(page: str) -> str:
        found = CSRF.search(page)
        if found is None:
            raise WalkFailed("the page carries no CSRF token")
        return found.group(1)

    def act(self, case_id: str, action: str, fields: dict[str, str], timeout_s: float) -> str:
        """Submit one action and wait for the worker's verdict on the page it comes back to."""
        url = f"{self.base}/cases/{urllib.parse.quote(case_id)}"
        token = self._token(self.fetch(url)[0])
        body = urllib.parse.urlencode({"csrf": token, "action": action, **fields}).encode()
        page, verdict_url = self.fetch(url, body)
        deadline = time.monotonic() + timeout_s
        while True:
            found = VERDICT.search(page)
            if found is None:
                raise WalkFailed(f"{action}: the page shows no verdict")
            state, text = found.group(1), html.unescape(found.group(2))
            if state == "accepted":
                return text
            if state == "refused":
                raise WalkFailed(f"{action}: {text}")
            if time.monotonic() > deadline:
                raise WalkFailed(f"{action}: no verdict after {timeout_s:.0f} s (worker, sink?)")
            time.sleep(1.0)
            page = self.fetch(verdict_url)[0]


def walk(
    base_url: str,
    case_id: str,
    to_department: str,
    people: dict[str, tuple[str, str]],
    say: Callable[[str], None],
    timeout_s: float = 120,
) -> Iterator[str]:
    """Walk ``case_id`` through the loop; ``people`` maps office / department to (user id,
    password). Yields each step's verdict as it comes."""
    sessions = {who: Session(base_url, *login) for who, login in people.items()}
    for who, action, fields in STEPS:
        filled = {k: v.format(to=to_department) for k, v in fields.items()}
        verdict = sessions[who].act(case_id, action, filled, timeout_s)
        say(f"{people[who][0]}: {action} → {verdict}")
        yield verdict
