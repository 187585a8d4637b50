"""When evaluations reach the platform: realistic arrival delays per channel.

In 好差评 an evaluation is rarely sent the moment it is given:

* online channels (web, app, QR code, kiosk) post it at once: seconds;
* SMS (短信): the invitation goes out when the matter is concluded and people answer in the
  evening or the next days: a log-normal delay, median 2 h, from a minute up to 3 days;
* hotline (12345 / 电话回访): operators enter evaluations in batches after their shift:
  median 4 h, from 30 minutes up to 2 days;
* hall rating pads (评价器, ``counter``): seconds, except that a pad loses its network now and
  then and syncs its queue when it is back, so its evaluations of the outage (15 minutes to
  6 hours of them) arrive together in a burst.

``ArrivalDelays`` draws these from the simulator's own seeded random generator, so a seed
still gives the same stream. Delays are in seconds; the simulator stamps ``evaluated_at`` that
much before the moment the message is sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random
from typing import Final

MINUTE: Final = 60.0
HOUR: Final = 3600.0
DAY: Final = 86_400.0

ONLINE_CHANNELS: Final = frozenset({"web", "app", "qrcode", "kiosk"})
PAD_CHANNEL: Final = "counter"


@dataclass(frozen=True)
class DelayModel:
    """Log-normal delay: median and spread (sigma of the log), clipped to [low, high] s."""

    median_s: float
    sigma: float
    low_s: float
    high_s: float

    def draw(self, rng: Random) -> float:
        value = rng.lognormvariate(math.log(self.median_s), self.sigma)
        return min(self.high_s, max(self.low_s, value))


DELAYS: Final[dict[str, DelayModel]] = {
    "sms": DelayModel(median_s=2 * HOUR, sigma=1.3, low_s=MINUTE, high_s=3 * DAY),
    "hotline": DelayModel(median_s=4 * HOUR, sigma=0.8, low_s=30 * MINUTE, high_s=2 * DAY),
}
# seconds of an online post or a pad that is connected: network and producer batching
ONLINE: Final = DelayModel(median_s=1.5, sigma=0.8, low_s=0.05, high_s=60.0)


@dataclass(frozen=True)
class Burst:
    """A pad back online: ``size`` evaluations it queued over the last ``outage_s`` seconds."""

    size: int
    outage_s: float


class ArrivalDelays:
    """Seeded arrival delays per channel; ``burst_rate`` is the share of pad evaluations that
    come just as the pad reconnects, bringing the queue of its outage with them."""

    def __init__(self, rng: Random, *, burst_rate: float = 0.004) -> None:
        if not 0 <= burst_rate <= 1:
            raise ValueError("burst_rate must be within [0, 1]")
        self.rng = rng
        self.burst_rate = burst_rate

    def delay(self, channel: str) -> float:
        """Seconds between the evaluation and its arrival, for one evaluation of ``channel``."""
        model = DELAYS.get(channel, ONLINE)
        return model.draw(self.rng)

    def burst(self, channel: str) -> Burst | None:
        """A pad's outage ending now, or None (most of the time, and for other channels)."""
        if channel != PAD_CHANNEL or self.rng.random() >= self.burst_rate:
            return None
        outage = self.rng.uniform(15 * MINUTE, 6 * HOUR)
        # a busy counter pad sees one evaluation every few minutes
        size = max(2, round(outage / self.rng.uniform(2 * MINUTE, 6 * MINUTE)))
        return Burst(size, outage)
