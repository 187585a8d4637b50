"""Where the worker's time goes: py-spy's raw stacks summed per stage and per leaf frame.

    python -m tests.bench.run --profile /tmp/worker.txt ...   # samples run (b), --idle
    python -m tests.bench.profile /tmp/worker.txt

A sample belongs to the deepest stage frame on its stack (so the JSON parsing inside the check
counts as check, the aiokafka calls inside the outbox as outbox); one with none is Faust's and
aiokafka's own machinery, or the event loop waiting in select (idle).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

# (stage, what a frame of it contains), in no particular order: the deepest match wins
STAGES = (
    ("check (parse, validate, scrub, pseudonymize)", "(streams/perimeter.py"),
    ("dedupe", "Deduplicator."),
    ("windows", "WindowAggregator."),
    ("windows", "IngestStep._count"),
    ("case opening", "IngestStep._open_case"),
    ("surge partials", "IngestStep._finish"),
    ("ingest, other", "IngestStep."),
    ("outbox (records to aiokafka batches, sends)", "Outbox.send"),
    ("outbox (records to aiokafka batches, sends)", "ChangelogState."),
    ("surge step", "SurgeStep."),
    ("case step", "CaseStep."),
    ("rejections", "Rejections."),
    ("metrics", "prometheus_client/"),
)
FAUST = ("faust/", "aiokafka/", "mode/", "kafka/")


def stage_of(frames: list[str]) -> str:
    if frames and "Selector.select (selectors.py" in frames[-1]:
        return "idle (event loop in select)"
    for frame in reversed(frames):
        for stage, needle in STAGES:
            if needle in frame:
                return stage
    if any(any(f"({part}" in frame for part in FAUST) for frame in frames):
        return "Faust and aiokafka"
    return "other (asyncio, gc, startup)"


def summarise(path: Path, top: int = 15) -> str:
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        samples = int(count)
        total += samples
        stages[stage_of(frames)] += samples
        leaves[frames[-1]] += samples
    lines = ["| stage | share of samples |", "| --- | --- |"]
    lines += [f"| {stage} | {n / total:.1%} |" for stage, n in stages.most_common()]
    lines += ["", "| leaf frame (self time) | share |", "| --- | --- |"]
    lines += [f"| `{leaf}` | {n / total:.1%} |" for leaf, n in leaves.most_common(top)]
    lines.append(f"\n{total} samples")
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1])))
