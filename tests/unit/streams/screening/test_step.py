"""The screening step in the in-memory pipeline: each fraud scenario of the simulator, its
recall and the false flags on genuine traffic (the integration test measures the same
against the real services), and a crash mid-way that changes no verdict."""

import json
from collections import Counter
from datetime import datetime

import pytest

from channels.simulation import FRAUD_SCENARIOS, KIND_VALID, Simulator
from runtime.clock import CHINA
from runtime.settings import Settings
from streams.testing import InMemoryPipeline

COUNT = 6000


def run(scenario: str, crash_after: int | None = None) -> tuple[InMemoryPipeline, list, Settings]:
    sim = Simulator(seed=5)
    msgs = list(sim.stream(COUNT, scenario=scenario, start=datetime(2026, 11, 23, 9, tzinfo=CHINA)))
    settings = Settings(_env_file=None, demo_mode=True)  # type: ignore[call-arg]
    pipeline = InMemoryPipeline(settings)
    pipeline.send_raw(((m.key, m.value) for m in msgs), at=msgs[-1].at.timestamp() + 5)
    pipeline.run(batch=1000, crash_after=crash_after)
    return pipeline, msgs, settings


def suspects(pipeline: InMemoryPipeline, settings: Settings) -> dict[str, dict]:
    newest: dict[str, dict] = {}
    for event in pipeline.values(settings.topic_suspect):
        known = newest.get(event["evaluation_id"])
        if known is None or event["version"] >= known["version"]:
            newest[event["evaluation_id"]] = event
    return newest


@pytest.mark.parametrize("scenario", ["steady", *FRAUD_SCENARIOS])
def test_recall_and_false_flags(scenario: str) -> None:
    pipeline, msgs, settings = run(scenario)
    planted = {json.loads(m.value)["evaluation_id"] for m in msgs if m.planted}
    genuine = {
        json.loads(m.value)["evaluation_id"] for m in msgs if m.kind == KIND_VALID and not m.planted
    }
    flagged = suspects(pipeline, settings)
    false = set(flagged) & genuine
    why = Counter(r for e in false for r in flagged[e]["reasons"])
    recall = len(set(flagged) & planted) / len(planted) if planted else 1.0
    print(
        f"{scenario}: {len(planted)} planted, recall {recall:.1%}; {len(genuine)} genuine, "
        f"{len(false)} flagged ({len(false) / len(genuine):.2%}) {dict(why)}"
    )
    if scenario != "steady":
        assert planted
        assert recall >= 0.95
    assert len(false) / len(genuine) <= 0.01


def test_a_crash_changes_no_verdict() -> None:
    calm, _, settings = run("evaluator_flood")
    crashed, _, _ = run("evaluator_flood", crash_after=5)
    assert suspects(crashed, settings) == suspects(calm, settings)
