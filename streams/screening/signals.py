"""Each signal as a pure function over plain data: what the screener decides per key.

Every function here is deterministic in its inputs, whatever order evaluations came in: the
screener keeps the inputs per key (deduplicated by evaluation id), so a replay or a late
arrival leads to the same suspects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# the spans of the rate signal, and their names in reasons and settings
SPANS: Final[dict[str, int]] = {"minute": 60, "hour": 3600, "day": 86_400}
# who may send too much: the pseudonym field of a fact, named in reasons
SENDERS: Final = ("evaluator", "device", "network")


def window_start(at: int, span_s: int) -> int:
    """The start of the tumbling event-time window of ``span_s`` holding ``at`` (UTC)."""
    return at - at % span_s


def over_limit(count: int, limit: int) -> bool:
    """More evaluations in a window than any person (or one device, one network) makes."""
    return count > limit


@dataclass(frozen=True, slots=True)
class Run:
    """Top ratings at one hall window or staff member, each within the gap of the one before."""

    members: tuple[str, ...]  # evaluation ids, oldest first
    first_at: int
    last_at: int


def run_through(
    ratings: Sequence[tuple[int, str]], evaluation_id: str, max_gap_s: int
) -> Run | None:
    """The run of top ratings holding ``evaluation_id``: ``ratings`` are (time, id) pairs of one
    window's top ratings; consecutive ones (by time, then id) at most ``max_gap_s`` apart
    belong to one run. None if the id is not among them."""
    ordered = sorted(ratings)
    position = next((i for i, (_, eid) in enumerate(ordered) if eid == evaluation_id), None)
    if position is None:
        return None
    lo = position
    while lo > 0 and ordered[lo][0] - ordered[lo - 1][0] <= max_gap_s:
        lo -= 1
    hi = position
    while hi + 1 < len(ordered) and ordered[hi + 1][0] - ordered[hi][0] <= max_gap_s:
        hi += 1
    chain = ordered[lo : hi + 1]
    return Run(tuple(eid for _, eid in chain), chain[0][0], chain[-1][0])


def needs_transaction(channel: str, has_transaction: bool, channels: frozenset[str]) -> bool:
    """An evaluation with no transaction on a channel that only evaluates a transaction
    (a hall pad asks after a counter served you: 一次一评)."""
    return channel in channels and not has_transaction


def combined_score(weights: Sequence[float]) -> float:
    """How suspect an evaluation is, 0..1: independent signals combined as
    1 - Π(1 - w), so two weak signals weigh more than one, and the score never passes 1."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - min(1.0, max(0.0, weight))
    return round(1.0 - remaining, 4)


def upper_tail(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), exactly: n is one window's evaluations in an hour."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return min(1.0, sum(math.comb(n, i) * p**i * (1.0 - p) ** (n - i) for i in range(k, n + 1)))


def expected_share(
    own_top: int, own_total: int, peer_top: int, peer_total: int, prior_weight: float
) -> float:
    """The share of top ratings a window usually gets: its own history, shrunk toward its
    peers' (the windows of its hall) by ``prior_weight`` evaluations' worth, so a new window
    is judged by its peers and an old one mostly by itself. Laplace-smoothed, never 0 or 1."""
    peers = (peer_top + 1.0) / (peer_total + 2.0)
    return (own_top + prior_weight * peers) / (own_total + prior_weight)
