"""The evidence a stalled worker leaves (streams/worker/diagnosis.py): whatever it can read, and a
line saying what it could not, never an exception that would keep the watchdog from exiting."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from streams.worker.diagnosis import stall_evidence


class TP(SimpleNamespace):
    def __hash__(self) -> int:
        return hash((self.topic, self.partition))


def test_a_worker_missing_every_private_part_still_gets_a_report() -> None:
    report = stall_evidence(SimpleNamespace())
    for section in ("agents", "tasks", "consumer", "fetcher", "channels"):
        assert f"--- {section}" in report
    assert "unavailable (AttributeError" in report


def test_the_report_names_partitions_offsets_and_waiting_tasks() -> None:
    tp = TP(topic="ratings.raw", partition=1)
    consumer: Any = SimpleNamespace(
        assignment=lambda: {tp},
        _read_offset={tp: 41},
        _committed_offset={tp: 40},
        _paused_partitions={tp},
        flow_active=True,
        _unacked_messages=(),
        _thread=SimpleNamespace(_consumer=None),
    )

    async def main() -> str:
        waiting = asyncio.get_running_loop().create_task(asyncio.sleep(10), name="agent-x")
        await asyncio.sleep(0)
        app = SimpleNamespace(
            consumer=consumer,
            rebalancing=False,
            in_recovery=False,
            loop=asyncio.get_running_loop(),
            agents=SimpleNamespace(human_tracebacks=lambda: "agent tracebacks", values=lambda: []),
        )
        report = stall_evidence(app)
        waiting.cancel()
        return report

    report = asyncio.run(main())
    assert "ratings.raw:1 read=41 committed=40 paused" in report
    assert "agent-x: sleep" in report
    assert "agent tracebacks" in report and "no aiokafka consumer" in report


def test_the_report_gives_aiokafkas_own_view_of_each_partition() -> None:
    """Faust's pause set and aiokafka's can differ: the report shows aiokafka's position,
    pause flag and highwater, and what its fetcher holds and has in flight."""
    tp = TP(topic="cases.actions", partition=1)
    state = SimpleNamespace(has_valid_position=True, position=4, paused=False, highwater=5)
    assignment = SimpleNamespace(tps={tp}, state_value=lambda _: state)
    kafka = SimpleNamespace(
        _subscription=SimpleNamespace(subscription=SimpleNamespace(assignment=assignment)),
        _client=SimpleNamespace(cluster=SimpleNamespace(leader_for_partition=lambda _: 0)),
        _fetcher=SimpleNamespace(
            _fetch_task=None, _records={tp: object()}, _in_flight={0}, _pending_tasks=set()
        ),
    )
    app = SimpleNamespace(consumer=SimpleNamespace(_thread=SimpleNamespace(_consumer=kafka)))
    report = stall_evidence(app)
    assert "cases.actions:1 position=4 paused=False highwater=5 leader=0" in report
    assert "results held per partition {'cases.actions:1': 'object'}" in report
    assert "nodes in flight [0]" in report
