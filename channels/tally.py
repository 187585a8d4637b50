"""What a run of the simulator sent: counts by kind, and the evaluations the pipeline must
land (each valid evaluation once), so a demo or a test can check the result against it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from channels.simulation import SimulatedMessage


@dataclass
class SentTally:
    kinds: Counter[str] = field(default_factory=Counter)
    valid_ids: set[str] = field(default_factory=set)
    first_evaluated_at: str | None = None
    # valid evaluations a fraud scenario planted, by id → scenario (what screening must flag)
    planted: dict[str, str] = field(default_factory=dict)
    transactions: int = 0  # 办件 sent to transactions.done beside the evaluations

    def add(self, message: SimulatedMessage) -> None:
        self.kinds[message.kind] += 1
        if message.kind == "valid":
            evaluation = json.loads(message.value)
            self.valid_ids.add(evaluation["evaluation_id"])
            self.first_evaluated_at = self.first_evaluated_at or evaluation["evaluated_at"]
            if message.planted:
                self.planted[evaluation["evaluation_id"]] = message.planted

    @property
    def sent(self) -> int:
        return sum(self.kinds.values())

    def line(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.kinds.most_common())

    def to_json(self, surge_department: str) -> str:
        return json.dumps(
            {
                "sent": self.sent,
                "kinds": dict(self.kinds),
                "valid_evaluations": len(self.valid_ids),
                "transactions": self.transactions,
                "first_evaluated_at": self.first_evaluated_at,
                "surge_department": surge_department,
                "planted": dict(Counter(self.planted.values())),
                "planted_ids": sorted(self.planted),
            },
            indent=2,
        )
