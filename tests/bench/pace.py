"""How fast the machine's CPU is right now: the CPU time of a fixed pure-Python workload.

Issue 31 asked why the worker's CPU seconds per 1,000 evaluations moved by 2× between runs.
Minutes apart, on one machine, the same code's figure moved by 1.4× and the Quix peer's by
1.6× (docs/benchmarks.md, 2026-12-07), with no steal time in /proc/stat, and this probe once
took 1.6× its usual CPU time: at moments the CPU gives less work per CPU second (the host's
other tenants, its clock). A probe taken before each row shows such a moment instead of
leaving it to be read as a change of the code.
"""

from __future__ import annotations

import json
import time

# an evaluation as the channels send it: what every contender parses
SAMPLE = json.dumps(
    {
        "evaluation_id": "E-2026-000001",
        "transaction_id": "T-310101-000001",
        "department_code": "D310101",
        "service_code": "S310101-01",
        "channel": "hall_pad",
        "rating": 5,
        "tags": ["办事便捷", "服务热情"],
        "comment": "窗口工作人员很耐心，一次就办好了",
        "evaluated_at": "2026-12-07T04:00:00+08:00",
    },
    ensure_ascii=False,
)
ROUNDS = 20_000


def probe() -> float:
    """CPU seconds of the fixed workload, best of three (a moment's interruption is not the
    machine's pace; a slow minute is)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(ROUNDS):
            json.dumps(json.loads(SAMPLE), ensure_ascii=False)
        best = min(best, time.process_time() - started)
    return best


def paces(probes: dict[str, float]) -> str:
    """Each probe against the fastest of the run, e.g. ``c 1.00×, a 1.31×``."""
    fastest = min(probes.values())
    return ", ".join(f"{name} {seconds / fastest:.2f}×" for name, seconds in probes.items())
