"""默认评价 through the real worker and sink (issue 28): with the setting on, 办件 still unrated
after it get one default rating each on ``ratings.default``, counted apart in ClickHouse and in
no 好评率 and no 评价率; rated ones get none."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client

from runtime.clock import CHINA
from runtime.settings import Settings
from schemas.invitation import DefaultRating
from tests.integration.harness import Service, read_topic, scalar, send, wait_until
from tests.integration.test_coverage import encoded
from tests.integration.test_invitations import transactions_and_evaluations


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # the 办件 below were completed two days ago: invited and rated by default once read
    return {"invitation_after_hours": 1.0, "default_rating_after_days": 1.0}


def test_unrated_transactions_are_rated_by_default_and_counted_apart(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    transactions, evaluations = transactions_and_evaluations(
        datetime.now(CHINA) - timedelta(days=2)
    )
    rated = {e["transaction_id"] for e in evaluations}
    unrated = sorted(t["transaction_id"] for t in transactions if t["transaction_id"] not in rated)
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker.log")
    try:
        send(settings, encoded(evaluations, "transaction_id"))
        wait_until(
            "the evaluations to land",
            lambda: scalar(clickhouse, "SELECT count() FROM ratings FINAL") == len(evaluations),
            timeout=180,
            services=[worker, sink],
        )
        send(settings, encoded(transactions, "transaction_id"), settings.topic_transactions)
        wait_until(
            "the unrated 办件 to be rated by default",
            lambda: scalar(clickhouse, "SELECT count() FROM default_ratings FINAL") >= len(unrated),
            timeout=180,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
    records = read_topic(settings, settings.topic_default_ratings, quiet_s=2.0)
    ratings = [DefaultRating.from_json_bytes(r.value) for r in records]
    assert sorted(r.transaction_id for r in ratings) == unrated
    assert {r.level for r in ratings} == {3}
    # apart: the evaluations are what they were, and 评价率 counts only them
    assert scalar(clickhouse, "SELECT count() FROM ratings FINAL") == len(evaluations)
    assert clickhouse.execute(
        "SELECT sum(transactions), sum(evaluated) FROM coverage_daily"
    ) == [(len(transactions), len(evaluations))]
    assert scalar(clickhouse, "SELECT sum(defaulted) FROM default_ratings_daily") == len(unrated)
