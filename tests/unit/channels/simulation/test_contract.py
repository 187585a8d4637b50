"""The simulator's labels against the real ingest decision (streams.ingest.decision.check) and the
real "一次一评" state (streams.ingest.dedupe): what the simulator calls valid must be accepted, and
every malformed message must be rejected with exactly the reason it is labelled with."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest

from channels.simulation import MALFORMED_REASONS, Scenario, SimulatedMessage, Simulator
from runtime.clock import CHINA
from streams.ingest.decision import Accepted, Rejected, check
from streams.ingest.dedupe import Deduplicator, Verdict

SECRET = b"test-secret"
START = datetime(2024, 5, 13, 8, 0, tzinfo=CHINA)
PII_RE = re.compile(r"1[3-9][0-9]{9}|[A-Za-z0-9._]+@[A-Za-z0-9.]+|[0-9]{17}[0-9X]")


def _check(m: SimulatedMessage) -> Accepted | Rejected:
    # "now" a few seconds after the event: what a healthy pipeline sees.
    return check(
        m.value,
        now=m.at + timedelta(seconds=2),
        secret=SECRET,
        clock_skew_s=300,
        allowed_lateness_s=3600,
    )


@pytest.mark.parametrize("scenario", ["steady", "surge", "duplicates", "malformed", "mixed"])
def test_labels_match_ingest_decisions(scenario: str) -> None:
    messages = list(Simulator(13).stream(4000, scenario=scenario, start=START))
    mismatches: list[str] = []
    for m in messages:
        result = _check(m)
        if m.malformed_reason is not None:
            if not isinstance(result, Rejected) or result.reason.value != m.malformed_reason:
                mismatches.append(f"{m.kind}: got {result!r}")
        elif not isinstance(result, Accepted):
            # duplicates are a stateful decision: check() itself must still accept them.
            mismatches.append(f"{m.kind}: got {result!r} for {m.value.decode()[:300]}")
    assert not mismatches, "\n".join(mismatches[:20])


def test_every_malformed_reason_is_rejected_with_that_reason() -> None:
    sim = Simulator(5)
    for reason in MALFORMED_REASONS:
        for _ in range(20):
            result = _check(sim.malformed(START, reason))
            assert isinstance(result, Rejected), reason
            assert result.reason.value == reason, (reason, result.message)


def test_accepted_comments_lose_their_personal_data() -> None:
    sim = Simulator(17, pii_rate=1.0)
    for i in range(500):
        at = START + timedelta(minutes=i)
        ev = sim.evaluation(at)
        found = PII_RE.findall(ev["comment"])
        assert found
        result = check(
            json.dumps(ev, ensure_ascii=False).encode(),
            now=at,
            secret=SECRET,
            clock_skew_s=300,
            allowed_lateness_s=3600,
        )
        assert isinstance(result, Accepted)
        scrubbed = result.evaluation.comment or ""
        for value in found:
            assert value not in scrubbed, (ev["comment"], scrubbed)


def test_late_but_valid_messages_are_accepted_as_late() -> None:
    m = next(Simulator(1).stream(1, start=START))
    result = check(
        m.value,
        now=m.at + timedelta(hours=2),
        secret=SECRET,
        clock_skew_s=300,
        allowed_lateness_s=3600,
    )
    assert isinstance(result, Accepted) and result.evaluation.late


def test_duplicate_labels_match_the_deduplicator() -> None:
    # One partition: the simulator keys by transaction, so a resend and a second evaluation
    # of a transaction land on the partition of the original, as they would in Kafka.
    dedupe = Deduplicator({})
    verdicts: Counter[tuple[str, Verdict]] = Counter()
    expected = {
        "valid": Verdict.FIRST,
        "duplicate": Verdict.REPEAT,
        "duplicate_transaction": Verdict.DUPLICATE_TRANSACTION,
    }
    messages = Simulator(23).stream(
        6000,
        scenario=Scenario("dups", duplicate_rate=0.05, duplicate_transaction_rate=0.02),
        start=START,
    )
    for offset, m in enumerate(messages):
        result = _check(m)
        assert isinstance(result, Accepted)
        ev = result.evaluation
        verdict, _ = dedupe.decide(
            partition=0,
            offset=offset,
            timestamp=m.at.timestamp(),
            evaluation_id=ev.evaluation_id,
            transaction_id=ev.transaction_id,
            evaluation_round=ev.evaluation_round,
        )
        verdicts[(m.kind, verdict)] += 1
        assert verdict is expected[m.kind], (m.kind, verdict)
    assert {kind for kind, _ in verdicts} == set(expected)
