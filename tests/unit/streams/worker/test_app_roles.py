"""Which agents and state a worker process of each role has (streams/worker/app.py), built
without a broker: Faust connects only when the worker starts."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from runtime.settings import Settings
from streams.topology import routes
from streams.worker.app import Worker, _agents
from streams.worker.kafka import FETCH_MAX_WAIT_MS


def worker_of(role: str, tmp_path: Path, ingest_reader: str = "faust") -> Worker:
    settings = Settings(
        app_id="hcp",
        demo_mode=True,
        worker_role=role,
        worker_data_dir=str(tmp_path),
        ingest_reader=ingest_reader,
    )
    worker = Worker(settings)
    _agents(worker)
    return worker


def agents(worker: Worker) -> set[str]:
    return {name.rsplit(".", 1)[-1] for name in worker.app.agents}


def changelogs(worker: Worker) -> set[str]:
    return {table.changelog_topic.get_topic_name() for table in worker.app.tables.values()}


@pytest.mark.parametrize(
    ("role", "group", "expected_agents", "expected_changelogs"),
    [
        (
            "all",
            "hcp",
            {"ingest", "surges", "screening", "cases", "transactions", "invitations"},
            {
                "satisfaction.windows",
                "hcp-dedupe-changelog",
                "hcp-cases-changelog",
                "hcp-surge-changelog",
                "hcp-invitations-changelog",
            },
        ),
        ("ingest", "hcp", {"ingest"}, {"satisfaction.windows", "hcp-dedupe-changelog"}),
        (
            "follow-up",
            "hcp-follow-up",
            {"surges", "screening", "cases", "transactions", "invitations"},
            # named by the pipeline's id, not the process's: the same state in either shape
            {"hcp-cases-changelog", "hcp-surge-changelog", "hcp-invitations-changelog"},
        ),
    ],
)
def test_a_role_runs_its_agents_over_its_own_state(
    role: str,
    group: str,
    expected_agents: set[str],
    expected_changelogs: set[str],
    tmp_path: Path,
) -> None:
    worker = worker_of(role, tmp_path)
    assert worker.app.conf.id == group
    assert agents(worker) == expected_agents
    assert changelogs(worker) == expected_changelogs


def test_the_agents_read_the_routes_the_in_memory_harness_reads(tmp_path: Path) -> None:
    worker = worker_of("all", tmp_path)
    read = {
        topic: name.rsplit(".", 1)[-1]
        for name, agent in worker.app.agents.items()
        for topic in agent.channel.topics
    }
    assert read == {route.topic: route.step for route in routes(worker.settings)}
    assert read["hcp-ratings-rekeyed"] == read["ratings.raw"] == "ingest"
    assert worker.direct is None


@pytest.mark.parametrize("role", ["all", "ingest"])
def test_the_direct_reader_reads_ratings_raw_and_faust_the_rest(role: str, tmp_path: Path) -> None:
    worker = worker_of(role, tmp_path, ingest_reader="direct")
    read = {topic for agent in worker.app.agents.values() for topic in agent.channel.topics}
    assert "ratings.raw" not in read
    # Faust still assigns the co-partitioned rekeyed topic, whose partitions the reader claims
    assert "hcp-ratings-rekeyed" in read
    assert worker.direct is not None


def test_a_follow_up_worker_has_no_direct_reader(tmp_path: Path) -> None:
    assert worker_of("follow-up", tmp_path, ingest_reader="direct").direct is None


def test_the_steps_a_role_does_not_run_keep_no_table(tmp_path: Path) -> None:
    worker = worker_of("follow-up", tmp_path)
    assert worker.states.windows == {} and worker.states.dedupe == {}
    assert "hcp-dedupe-changelog" not in changelogs(worker)


def test_the_collector_runs_in_larger_steps_after_start() -> None:
    from runtime.collector import YOUNG_THRESHOLD, tune_collector

    before = gc.get_threshold()
    try:
        tune_collector()
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_the_workers_consumer_fetches_are_held_at_most_100_ms(tmp_path: Path) -> None:
    # Faust builds it with fetch_max_wait_ms=1500; aiokafka reads the attribute at start()
    worker = worker_of("ingest", tmp_path)

    async def build() -> Any:
        return worker.app.consumer._thread._create_worker_consumer(worker.app.transport)

    consumer = asyncio.run(build())
    assert consumer._fetch_max_wait_ms == FETCH_MAX_WAIT_MS == 100
