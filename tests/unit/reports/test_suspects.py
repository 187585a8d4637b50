"""Issue 28's screening signal beside the screening's own flags (reports/suspects.py)."""

from __future__ import annotations

import pytest

from reports.suspects import UNKNOWN_TRANSACTION_REASON, required_channels, with_signal


def row(evaluation_id: str, *reasons: str) -> tuple[object, ...]:
    return (evaluation_id, list(reasons), 0.5, "D1", "S1", "counter", 5, "H1", "W1", "P1", 0)


def test_a_flagged_evaluation_without_its_transaction_gains_the_reason_once() -> None:
    pending = [row("E1", "staff_farming"), row("E2", "burst")]
    unmatched = [row("E2", UNKNOWN_TRANSACTION_REASON), row("E3", UNKNOWN_TRANSACTION_REASON)]
    merged = with_signal(pending, unmatched)
    assert [(r[0], r[1]) for r in merged] == [
        ("E1", ["staff_farming"]),
        ("E2", ["burst", UNKNOWN_TRANSACTION_REASON]),
        ("E3", [UNKNOWN_TRANSACTION_REASON]),
    ]


def test_the_required_channels_are_known_channels() -> None:
    assert required_channels("web, counter") == ("counter", "web")
    with pytest.raises(ValueError, match="unknown channels \\['fax'\\]"):
        required_channels("web,fax")
