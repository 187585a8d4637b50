"""Is the pipeline ready, and has it caught up? Read from the broker, not from the processes.

`haochaping wait` uses it so that `make demo` sends only once the worker and the sink have
joined their groups, and reports only once both groups have no lag left, instead of guessing
from how long ClickHouse's counts stayed still.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from haochaping.topics import admin_client
from runtime.poll_watchdog import LagProbe, total_lag
from runtime.settings import Settings
from sinks.landings import LANDINGS
from streams.topology import faust_routes_of, follow_up_group, follow_up_inputs, raw_group
from streams.worker.handover import reads_follow_up_topics


@dataclass(frozen=True)
class GroupState:
    name: str  # "worker", "follow-up" or "sink"
    group: str
    state: str  # the broker's: Stable, PreparingRebalance, Empty, Dead, …
    members: int
    lag: int  # records not yet committed, over the group's input topics

    @property
    def ready(self) -> bool:
        return self.state == "Stable" and self.members > 0


def group_inputs(settings: Settings, *, follow_up_apart: bool) -> dict[str, tuple[str, list[str]]]:
    """name → (consumer group, the topics it consumes), with the follow-up agents in the
    worker's process or in one of their own (``haochaping worker --role follow-up``)."""
    groups = {}
    # what the Faust group commits of the ingest step's inputs: the rekeyed topic, and
    # ratings.raw unless the direct reader commits it in raw_group (added in Readiness.look)
    ingest = [route.topic for route in faust_routes_of(settings, "ingest")]
    if follow_up_apart:
        groups["worker"] = (settings.app_id, ingest)
        groups["follow-up"] = (follow_up_group(settings), follow_up_inputs(settings))
    else:
        groups["worker"] = (settings.app_id, [*ingest, *follow_up_inputs(settings)])
    groups["sink"] = (settings.sink_group, [landing.topic(settings) for landing in LANDINGS])
    return groups


def follow_up_apart(
    worker: Mapping[str, Any], follow_up: Mapping[str, Any], settings: Settings
) -> bool:
    """Whether the follow-up agents run in a process of their own, from the two groups as
    ``describe_groups`` describes them: the follow-up group has members, or the worker's
    group has members none of which reads the follow-up topics (the follow-up half is then
    away, and the pipeline is not ready until it is back)."""
    if follow_up.get("members"):
        return True
    members = worker.get("members") or []
    return bool(members) and not reads_follow_up_topics(worker, settings)


class Readiness:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._admin = admin_client(settings, client_id="haochaping-wait")
        self._probes: dict[tuple[str, tuple[str, ...]], LagProbe] = {}

    def _probe(self, group: str, topics: list[str]) -> LagProbe:
        key = (group, tuple(topics))
        if key not in self._probes:
            self._probes[key] = LagProbe(self._settings, topics, group)
        return self._probes[key]

    def look(self) -> list[GroupState]:
        settings = self._settings
        names = [settings.app_id, follow_up_group(settings), settings.sink_group]
        described = self._admin.describe_groups(names)
        # `make up` runs the follow-up agents apart; a worker run alone runs them all
        apart = follow_up_apart(
            described.get(settings.app_id, {}),
            described.get(follow_up_group(settings), {}),
            settings,
        )
        out = []
        for name, (group, topics) in group_inputs(settings, follow_up_apart=apart).items():
            info = described.get(group, {})
            ends, positions = self._probe(group, topics).read()
            lag = total_lag(ends, positions)
            if name == "worker" and settings.reads_raw_directly:
                lag += total_lag(*self._probe(raw_group(settings), [settings.topic_raw]).read())
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
