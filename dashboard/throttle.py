"""The public page's rate limit (issue 29): anonymous visitors share the evaluator's
ClickHouse quota, so one client may not spend it for everyone. Pure: requests per client in a
sliding minute; the middleware in dashboard/app.py asks before each public request."""

from __future__ import annotations

import time
from collections.abc import Callable

from runtime.sliding import SlidingCounts


class PerClientLimit:
    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.per_minute = per_minute
        self._requests = SlidingCounts(60.0, clock, max_clients)

    def allow(self, client: str) -> float:
        """0 if ``client`` may make a request now (and count it), else the seconds to wait."""
        if self._requests.count(client) >= self.per_minute:
            return self._requests.wait(client)
        self._requests.add(client)
        return 0.0
