"""The evaluated-transaction records: bundled per partition, read back whole (issue 28)."""

from __future__ import annotations

from streams.invitations.evaluated import BUNDLE_MAX, bundle_evaluated, unbundle_evaluated


def test_bundles_hold_every_mark_in_order_and_at_most_the_maximum() -> None:
    marks = [(f"T{n}", 1_764_000_000 + n) for n in range(BUNDLE_MAX * 2 + 3)]
    records = list(bundle_evaluated(marks))
    assert len(records) == 3
    assert [m for r in records for m in unbundle_evaluated(r)] == marks


def test_what_is_not_a_bundle_is_skipped() -> None:
    for value in (None, b"", b"{oops", b'{"facts": []}', b'{"evaluated": [["T1"]]}'):
        assert unbundle_evaluated(value) == []
