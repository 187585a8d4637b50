"""The public page's rate limit (issue 29): anonymous visitors share the evaluator's
ClickHouse quota, so one client may not spend it for everyone. Pure: requests per client in a
sliding minute; the middleware in dashboard/app.py asks before each public request."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class PerClientLimit:
    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.per_minute, self._clock, self._max_clients = per_minute, clock, max_clients
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str) -> float:
        """0 if ``client`` may make a request now (and count it), else the seconds to wait."""
        now = self._clock()
        times = self._seen[client]
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= self.per_minute:
            return max(0.0, times[0] + 60 - now)
        times.append(now)
        if len(self._seen) > self._max_clients:  # bounded memory: forget idle clients
            for key in [k for k, v in self._seen.items() if not v or v[-1] <= now - 60]:
                del self._seen[key]
        return 0.0
