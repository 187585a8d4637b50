"""Is the pipeline ready, and has it caught up? Read from the broker, not from the processes.

`haochaping wait` uses it so that `make demo` sends only once the worker and the sink have
joined their groups, and reports only once both groups have no lag left, instead of guessing
from how long ClickHouse's counts stayed still.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient

from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from sinks.landings import LANDINGS
from sinks.watchdog import LagProbe, total_lag
from streams.pipeline import screen_facts_topic, surge_minutes_topic


@dataclass(frozen=True)
class GroupState:
    name: str  # "worker" or "sink"
    group: str
    state: str  # the broker's: Stable, PreparingRebalance, Empty, Dead, …
    members: int
    lag: int  # records not yet committed, over the group's input topics

    @property
    def ready(self) -> bool:
        return self.state == "Stable" and self.members > 0


def group_inputs(settings: Settings) -> dict[str, tuple[str, list[str]]]:
    """name → (consumer group, the topics it consumes)."""
    return {
        "worker": (
            settings.app_id,
            [
                settings.topic_raw,
                settings.topic_cases,
                surge_minutes_topic(settings),
                screen_facts_topic(settings),
            ],
        ),
        "sink": (settings.sink_group, [landing.topic(settings) for landing in LANDINGS]),
    }


class Readiness:
    def __init__(self, settings: Settings) -> None:
        self._admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_servers,
            client_id="haochaping-wait",
            request_timeout_ms=10_000,
            **kafka_security(settings),
        )
        self._groups = group_inputs(settings)
        self._probes = {
            name: LagProbe(settings, topics, group)
            for name, (group, topics) in self._groups.items()
        }

    def look(self) -> list[GroupState]:
        described = self._admin.describe_groups([group for group, _ in self._groups.values()])
        out = []
        for name, (group, _) in self._groups.items():
            info = described.get(group, {})
            ends, positions = self._probes[name].read()
            lag = total_lag(ends, positions)
            out.append(
                GroupState(
                    name, group, info.get("group_state", "?"), len(info.get("members", [])), lag
                )
            )
        return out

    def close(self) -> None:
        self._admin.close()
        for probe in self._probes.values():
            probe.close()
