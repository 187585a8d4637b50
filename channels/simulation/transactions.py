"""The 办件 behind simulated evaluations (issue 28): every evaluation's own transaction, and
the transactions of the same service item and place that nobody rated, so that 评价率 has
something to count against.

Shares per channel are assumptions of this simulator, not measured figures: a counter's pad
asks everyone it serves, a web form few. A 办件 is completed before it is rated, by a channel's
usual gap (minutes at a counter, hours by SMS).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Final

from schemas.codes import Channel

# share of 办件 that get a first-round evaluation, per channel
RATED_SHARE: Final[dict[Channel, float]] = {
    Channel.COUNTER: 0.6,
    Channel.KIOSK: 0.45,
    Channel.QRCODE: 0.5,
    Channel.APP: 0.35,
    Channel.WEB: 0.25,
    Channel.HOTLINE: 0.15,
    Channel.SMS: 0.3,
}
# how long before its evaluation a 办件 was completed, seconds (low, high)
COMPLETED_BEFORE: Final[dict[Channel, tuple[int, int]]] = {
    Channel.COUNTER: (30, 600),
    Channel.KIOSK: (30, 300),
    Channel.QRCODE: (60, 1800),
    Channel.APP: (60, 7200),
    Channel.WEB: (60, 7200),
    Channel.HOTLINE: (600, 7200),
    Channel.SMS: (3600, 6 * 3600),
}
MAX_UNRATED: Final = 30
_FIELDS: Final = ("service_code", "department_code", "region_code", "hall_code", "window_code",
                  "staff_id", "source")  # fmt: skip


class TransactionMaker:
    """Deterministic from its seed, apart from the evaluations it is given."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def for_evaluation(self, evaluation: dict[str, Any]) -> list[dict[str, Any]]:
        """The 办件 of a valid first-round ``evaluation`` (none without a transaction_id), and
        the unrated ones of its service item and place completed around it: (1 - p) / p of
        them on average, p the channel's rated share."""
        transaction_id = evaluation.get("transaction_id")
        if not transaction_id or evaluation.get("evaluation_round", 1) != 1:
            return []
        channel = Channel.parse(evaluation["channel"])
        evaluated_at = datetime.fromisoformat(evaluation["evaluated_at"])
        low, high = COMPLETED_BEFORE[channel]
        base = {k: evaluation[k] for k in _FIELDS if evaluation.get(k) is not None}
        base["channel"] = channel.value
        made = [
            {
                **base,
                "transaction_id": transaction_id,
                "completed_at": (
                    evaluated_at - timedelta(seconds=self.rng.randint(low, high))
                ).isoformat(),
            }
        ]
        for n in range(self._unrated(RATED_SHARE[channel])):
            completed = evaluated_at - timedelta(seconds=self.rng.randint(low, high + 3600))
            made.append({
                **base,
                "transaction_id": f"{transaction_id}-U{n}",
                "completed_at": completed.isoformat(),
            })  # fmt: skip
        return made

    def _unrated(self, rated_share: float) -> int:
        # a geometric draw: how many 办件 went unrated before this rated one
        count = 0
        while count < MAX_UNRATED and self.rng.random() > rated_share:
            count += 1
        return count
