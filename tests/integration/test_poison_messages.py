"""Poison messages between good ones, through the real broker: each costs itself alone.

The four kinds seen in outside fuzzing of the per-message path: a JSON string with a lone
surrogate, nesting a thousand levels deep, a message of 800 KB, and a valid evaluation whose
comment is "电话" and two thousand ideographic spaces (a cubic regex once spent 41 s on
one like it).
"""

from __future__ import annotations

import json
from pathlib import Path

from clickhouse_driver import Client

from channels.simulation import Simulator
from runtime.settings import Settings
from runtime.watchdog import STALLED
from tests.integration.expected import unique_valid_evaluations
from tests.integration.harness import Service, scalar, send, wait_until


def poisons(template: dict) -> list[tuple[str, bytes]]:
    # a transaction of its own: the good one's would make it a second evaluation of a
    # rated transaction round (一次一评), rejected for that and not for what it carries
    template = {k: v for k, v in template.items() if k != "transaction_id"}

    def with_raw(evaluation_id: str, field: str, raw_json: str) -> bytes:
        text = json.dumps(dict(template, evaluation_id=evaluation_id, **{field: "RAW"}))
        return text.replace('"RAW"', raw_json, 1).encode()

    huge = dict(template, evaluation_id="poison-huge", comment="很" * 270_000)
    spaces = dict(template, evaluation_id="poison-spaces", comment="电话" + "\u3000" * 1990)
    return [
        ("surrogate", with_raw("poison-surrogate", "comment", '"\\ud800"')),
        ("nested", with_raw("poison-nested", "tags", "[" * 1000 + "]" * 1000)),
        ("huge", json.dumps(huge, ensure_ascii=False).encode()),  # 810 KB
        ("spaces", json.dumps(spaces, ensure_ascii=False).encode()),
    ]


def test_poison_messages_cost_only_themselves(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    good = [m for m in Simulator(seed=23, pii_rate=0.0).stream(400) if m.kind == "valid"]
    template = json.loads(good[0].value)
    messages: list[tuple[bytes | None, bytes]] = []
    bad = poisons(template)
    for index, message in enumerate(good):
        messages.append((message.key, message.value))
        if index % 80 == 40 and bad:
            kind, value = bad.pop(0)
            messages.append((kind.encode(), value))
    assert not bad
    evaluations = unique_valid_evaluations(good)
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        send(settings, messages)
        wait_until(
            "every good evaluation and the poison rejections to land",
            lambda: (
                scalar(clickhouse, "SELECT count() FROM ratings FINAL") >= len(evaluations) + 1
                and scalar(clickhouse, "SELECT count() FROM rejected FINAL") >= 3
            ),
            timeout=300,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
    # Never crashed: the only restarts allowed are its watchdog's (exit 75), which a loaded
    # machine can cause on its own (a fresh Faust worker that does not fetch); poison is
    # rejected with a reason, never an internal error.
    assert set(worker.exits) <= {STALLED}, (worker.exits, worker.output()[-3000:])
    assert "internal error" not in worker.output(), worker.output()[-3000:]
    ids = {row[0] for row in clickhouse.execute("SELECT evaluation_id FROM ratings FINAL")}
    assert ids == set(evaluations) | {"poison-spaces"}
    assert scalar(clickhouse, "SELECT count() FROM ratings") == len(ids)  # each once
    rejected = dict(clickhouse.execute("SELECT source_offset, reason FROM rejected FINAL"))
    assert len(rejected) == 3, rejected
    assert set(rejected.values()) <= {"not_json", "not_utf8", "invalid_field", "field_too_long"}
    kept = scalar(clickhouse, "SELECT max(length(raw)) FROM rejected FINAL")
    assert kept <= 200 * 1024  # the 800 KB message is kept as a bounded prefix
