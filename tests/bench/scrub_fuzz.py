"""Random adversarial inputs for privacy.scrub, timed: the slowest one found in a time budget.

For `make bench` (tests/bench/run.py prints its result): a catastrophic-backtracking
regression shows up as one input taking seconds where all others take milliseconds.

    python -m tests.bench.scrub_fuzz 10
"""

from __future__ import annotations

import random
import sys
import time

from privacy.scrub import scrub_text

# What makes regexes backtrack: runs of the characters that optional, repeated or adjacent
# quantifiers compete for, and the words and marks that make the scrubber look closer.
PIECES: tuple[str, ...] = (
    " ", "\u3000", "\u00a0", "\t", "\n", "\u200b", "\ufeff",
    "-", "－", ".", "/", "_", "—", "–", "(", ")", "（", "）", ":", "：", "+",
    "0", "1", "8", "6", "６", "一", "三", "两", "幺", "①", "٣", "𝟏", "X", "x",
    "电话", "手机", "号码", "号", "tel", "QQ", "微信", "wx", "卡号", "身份证", "编号", "转",
    "@", "＠", "at", " at ", "[at]", "艾特", "点", "dot", ".com", "a", "Z", "张", "中国",
)  # fmt: skip
MAX_LENGTH = 20_000


def random_input(rng: random.Random) -> tuple[str, str]:
    """An input of up to MAX_LENGTH characters and a short description of it."""
    unit = [rng.choice(PIECES) for _ in range(rng.randint(1, 6))]
    length = rng.choice((1_000, 5_000, 10_000, MAX_LENGTH))
    text = ("".join(unit) * (length // len("".join(unit)) + 1))[:length]
    if rng.random() < 0.3:
        # a long filler run with a short tail, like the reported 电话 + 2,000 U+3000 case
        filler = rng.choice((" ", "\u3000", "1", "a", "张", "-"))
        text = rng.choice(("电话", "手机", "QQ", "", "a")) + filler * length + "".join(unit)
        text = text[:MAX_LENGTH]
    return text, f"({'|'.join(unit)!r} repeated, {len(text)} chars)"


def slowest_input(seconds: float = 10.0) -> tuple[float, int, str]:
    """Scrub random adversarial inputs for ``seconds``; (slowest time in seconds, that input's
    length, a short description of it)."""
    rng = random.Random(time.time_ns())
    worst = (0.0, 0, "")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        text, description = random_input(rng)
        start = time.perf_counter()
        scrub_text(text)
        took = time.perf_counter() - start
        if took > worst[0]:
            worst = (took, len(text), description)
    return worst


if __name__ == "__main__":
    took, length, description = slowest_input(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
    print(f"slowest scrub_text input: {took * 1000:.1f} ms for {length} chars {description}")
