"""Known answers, computed independently of the pipeline from the messages a test sends."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from channels.simulation import SimulatedMessage
from schemas.codes import Channel

DAY = 86_400
SHANGHAI_OFFSET = 8 * 3600

WindowKey = tuple[str, str, str, int]  # dimension, key, window, window start (epoch)


def unique_valid_evaluations(messages: Iterable[SimulatedMessage]) -> dict[str, dict]:
    """The evaluations the pipeline must count: valid ones, each evaluation id once."""
    found: dict[str, dict] = {}
    for message in messages:
        if message.kind == "valid":
            evaluation = json.loads(message.value)
            found.setdefault(evaluation["evaluation_id"], evaluation)
    return found


def expected_windows(evaluations: Iterable[dict]) -> dict[WindowKey, list[int]]:
    counts: dict[WindowKey, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for e in evaluations:
        epoch = int(datetime.fromisoformat(e["evaluated_at"]).timestamp())
        minute = epoch - epoch % 60
        day = (epoch + SHANGHAI_OFFSET) // DAY * DAY - SHANGHAI_OFFSET
        channel = Channel.parse(e["channel"]).value
        hall = e.get("hall_code") or ""
        for dimension, key in (
            ("service", e["service_code"]),
            ("department", e["department_code"]),
            ("channel", channel),
            ("region", e["region_code"]),
            # an evaluation given in a hall counts for it too; an online one has no hall
            *((("hall", hall),) if hall.strip() else ()),
        ):
            counts[(dimension, key, "1m", minute)][e["level"] - 1] += 1
            counts[(dimension, key, "1d", day)][e["level"] - 1] += 1
    return dict(counts)


LANDED_WINDOWS = """
SELECT dimension, key, window, toUnixTimestamp(window_start),
       level_1, level_2, level_3, level_4, level_5
FROM satisfaction
"""


def landed_windows(rows: Iterable[tuple]) -> dict[WindowKey, list[int]]:
    return {(d, k, w, int(s)): [l1, l2, l3, l4, l5] for d, k, w, s, l1, l2, l3, l4, l5 in rows}
