"""When and from where: the office rhythm of traffic, hall opening hours, and the network
addresses of hall pads and of citizens at home."""

from __future__ import annotations

import zlib
from datetime import datetime
from random import Random
from typing import Final

from runtime.clock import CHINA

# mean burst size of each fraud scenario, so that ``fraud_share`` is the planted share
_MEAN_BURST: Final[dict[str, float]] = {
    "staff_farming": 14.0,
    "evaluator_flood": 20.0,
    "malicious_campaign": 5.5,
}


def hall_address(hall_code: str, host: int) -> str:
    """An address on a hall's LAN: one private /24 per hall."""
    n = zlib.crc32(hall_code.encode())
    return f"10.{n % 250 + 1}.{(n >> 8) % 250 + 1}.{host}"


def public_address(r: Random) -> str:
    """A public client address (carrier NAT and home lines), spread over the IPv4 space."""
    return f"{r.randint(36, 223)}.{r.randrange(256)}.{r.randrange(256)}.{r.randint(1, 254)}"


def office_intensity(at: datetime) -> float:
    """Relative evaluation rate at `at` (Shanghai time), 1.0 at the weekday peak."""
    local = at.astimezone(CHINA)
    hour = local.hour + local.minute / 60
    if local.weekday() >= 5:
        # Weekends: halls closed, only people at home doing things online.
        return 0.10 if 9 <= hour < 21 else 0.02
    if hour < 7:
        return 0.01
    if hour < 8.5:
        return 0.08
    if hour < 9:
        return 0.4
    if hour < 11.5:
        return 1.0
    if hour < 12:
        return 0.75
    if hour < 13.5:
        return 0.45  # lunch dip: windows half staffed, people eating
    if hour < 16.5:
        return 0.95
    if hour < 17:
        return 0.7
    if hour < 18:
        return 0.3
    if hour < 22:
        return 0.12  # evening online traffic
    return 0.04


def halls_open(at: datetime) -> bool:
    local = at.astimezone(CHINA)
    hour = local.hour + local.minute / 60
    return local.weekday() < 5 and 9 <= hour < 17
