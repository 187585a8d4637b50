"""Where the worker's time goes: py-spy's raw stacks summed per stage and per leaf frame.

    python -m tests.bench.run --profile /tmp/prof ...   # samples run (b) and the latency run
    python -m tests.bench.profile /tmp/prof/pipeline.txt [CPU_S_PER_1000]

With the worker's CPU seconds per 1,000 evaluations (what make bench prints for run (b)), each
busy stage's share is also given in µs of CPU per evaluation.

A sample belongs to the deepest stage frame on its stack (so the JSON parsing inside the check
counts as check, the aiokafka calls inside the outbox as outbox); one with none is Faust's and
aiokafka's own machinery, or a thread waiting (idle: ``IDLE_LEAVES``).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

# (stage, what a frame of it contains), in no particular order: the deepest match wins
STAGES = (
    ("check (parse, validate, scrub, pseudonymize)", "(streams/ingest/perimeter.py"),
    ("dedupe", "Deduplicator."),
    ("screening: facts (made, bundled, unbundled)", "(streams/screening/facts.py"),
    ("screening: screener", "Screener."),
    ("screening: comments", "(streams/screening/comments.py"),
    ("screening: step (suspect events)", "ScreenStep."),
    ("windows", "WindowAggregator."),
    ("windows", "IngestStep._count"),
    ("case opening", "IngestStep._open_case"),
    ("surge partials", "IngestStep._finish"),
    ("ingest, other", "IngestStep."),
    ("outbox (records to aiokafka batches, sends)", "(streams/outbox.py"),
    ("outbox (records to aiokafka batches, sends)", "ChangelogState."),
    ("surge step", "SurgeStep."),
    ("case step", "CaseStep."),
    ("rejections", "Rejections."),
    ("metrics", "prometheus_client/"),
)
FAUST = ("faust/", "aiokafka/", "mode/", "kafka/")


IDLE = "idle (event loops in select, pool threads waiting for work)"
# leaves of a thread that waits: an event loop's select (the main one, aiokafka's consumer
# thread), a thread pool's worker blocked on its queue (asyncio's default executor, started by
# a DNS lookup and idle ever after: 60 % of one run's samples were its, counted busy until
# 2026-12-07)
IDLE_LEAVES = ("Selector.select (selectors.py", "_worker (concurrent/futures/thread.py")


def stage_of(frames: list[str]) -> str:
    if frames and any(leaf in frames[-1] for leaf in IDLE_LEAVES):
        return IDLE
    for frame in reversed(frames):
        for stage, needle in STAGES:
            if needle in frame:
                return stage
    if any(any(f"({part}" in frame for part in FAUST) for frame in frames):
        return "Faust and aiokafka"
    return "other (asyncio, gc, startup)"


def task_of(frames: list[str]) -> str:
    """The coroutine the event loop was running: the two frames below its ``Handle._run``."""
    runs = [i for i, frame in enumerate(frames) if frame.startswith("Handle._run")]
    below = frames[runs[-1] + 1 : runs[-1] + 3] if runs else frames[-1:]
    return " → ".join(frame.split(" (")[0] for frame in below) or "(event loop)"


def summarise(path: Path, cpu_per_1000: float | None = None, top: int = 15) -> str:
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    faust: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        samples = int(count)
        total += samples
        stage = stage_of(frames)
        stages[stage] += samples
        leaves[frames[-1]] += samples
        if stage == "Faust and aiokafka":
            faust[task_of(frames)] += samples
    idle = stages.get(IDLE, 0)
    busy = total - idle
    lines = ["| stage | share of samples | share of busy samples | µs of CPU per evaluation |"]
    lines.append("| --- | --- | --- | --- |")
    for stage, n in stages.most_common():
        if stage == IDLE:
            lines.append(f"| {stage} | {n / total:.1%} | | |")
            continue
        per = f"{n / busy * cpu_per_1000 * 1000:.1f}" if cpu_per_1000 and busy else ""
        lines.append(f"| {stage} | {n / total:.1%} | {n / busy:.1%} | {per} |")
    lines += ["", "| Faust and aiokafka, by task | share of samples |", "| --- | --- |"]
    lines += [f"| `{task}` | {n / total:.1%} |" for task, n in faust.most_common(8)]
    lines += ["", "| leaf frame (self time) | share |", "| --- | --- |"]
    lines += [f"| `{leaf}` | {n / total:.1%} |" for leaf, n in leaves.most_common(top)]
    lines.append(f"\n{total} samples")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else None))
