"""Events per key within a sliding window, in memory and bounded: what the login throttle
(workorders/auth.py) and the public page's rate limit (dashboard/throttle.py) both count.
Pure: the clock is given."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

_NONE: deque[float] = deque()  # what a key without events reads (never appended to)


class SlidingCounts:
    def __init__(
        self,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.window_s, self._clock, self._max_keys = window_s, clock, max_keys
        # only keys with an event: reading a key never adds it, so the bound below holds
        self._times: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        times, since = self._times.get(key, _NONE), self._clock() - self.window_s
        while times and times[0] <= since:
            times.popleft()
        return times

    def count(self, key: str) -> int:
        return len(self._recent(key))

    def wait(self, key: str) -> float:
        """Seconds until the oldest event of ``key`` in the window leaves it (0 if none)."""
        times = self._recent(key)
        return max(0.0, times[0] + self.window_s - self._clock()) if times else 0.0

    def add(self, key: str) -> None:
        now = self._clock()
        self._recent(key)
        self._times.setdefault(key, deque()).append(now)
        if len(self._times) > self._max_keys:  # bounded memory: forget idle keys
            since = now - self.window_s
            for idle in [k for k, v in self._times.items() if not v or v[-1] <= since]:
                del self._times[idle]

    def forget(self, key: str) -> None:
        self._times.pop(key, None)
