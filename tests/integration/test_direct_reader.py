"""The direct reader of ratings.raw (streams/worker/direct.py): switched on under a worker
that read through Faust before, it resumes where Faust's group committed, and counts exactly."""

from __future__ import annotations

from pathlib import Path

from clickhouse_driver import Client

from channels.simulation import Simulator
from haochaping.topics import admin_client
from runtime.settings import Settings
from streams.topology import raw_group
from tests.integration.harness import Service, send, wait_until
from tests.integration.test_exactly_once import assert_exact, wait_exact


def committed(settings: Settings, group: str) -> dict[int, int]:
    """ratings.raw's offsets ``group`` committed, by partition."""
    admin = admin_client(settings, client_id="hcp-test-direct")
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {tp.partition: o.offset for tp, o in offsets.items() if tp.topic == settings.topic_raw}


def test_switching_to_the_direct_reader_resumes_at_faust_commits_and_counts_exactly(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    through_faust = settings.model_copy(update={"ingest_reader": "faust"})
    direct = settings.model_copy(update={"ingest_reader": "direct"})
    messages = list(Simulator(seed=21).stream(4000, scenario="mixed"))
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(through_faust, "worker", tmp_path / "worker-faust.log")
    try:
        first = send(settings, ((m.key, m.value) for m in messages[:2000]))
        wait_until(
            "the Faust group to commit every record sent",
            lambda: sum(committed(settings, settings.app_id).values()) >= first,
            services=[worker, sink],
        )
        worker.stop()
        faust_commits = dict(sorted(committed(settings, settings.app_id).items()))
        rest = send(settings, ((m.key, m.value) for m in messages[2000:]))
        worker = Service(direct, "worker", tmp_path / "worker-direct.log")
        wait_exact(clickhouse, messages, [worker, sink])
        wait_until(
            "the direct reader to commit every record",
            lambda: sum(committed(settings, raw_group(settings)).values()) >= first + rest,
            services=[worker, sink],
        )
        log = worker.output()
    finally:
        worker.stop()
        sink.stop()
    # it started where Faust's group had committed: nothing read twice, nothing skipped
    assert f"ratings.raw directly from {faust_commits}" in log
    assert_exact(clickhouse, messages)
