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
