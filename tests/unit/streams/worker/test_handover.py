"""Which shape of the worker runs, told from the groups as the broker describes them
(streams/worker/handover.py, haochaping/readiness.py); the offsets' take-over itself is tested
against the broker (tests/integration/test_handover.py)."""

from __future__ import annotations

from typing import Any

import pytest

from haochaping.readiness import follow_up_apart
from runtime.settings import Settings
from streams.worker.handover import HandoverRefused, check_shape, reads_follow_up_topics

SETTINGS = Settings(app_id="hcp", demo_mode=True)


def member(*topics: str) -> dict[str, Any]:
    # the shape kafka-python's describe_groups gives a consumer group's member
    return {
        "member_id": "faust-1",
        "member_assignment": {
            "assigned_partitions": [{"topic": topic, "partitions": [0]} for topic in topics]
        },
    }


ONE_PROCESS = {"members": [member("ratings.raw", "cases.events", "hcp-surge-minutes")]}
INGEST_HALF = {"members": [member("ratings.raw", "hcp-dedupe-changelog")]}
FOLLOW_UP_HALF = {"members": [member("cases.events", "hcp-screen-facts")]}
NOBODY: dict[str, Any] = {"members": []}


class Admin:
    def __init__(self, groups: dict[str, dict[str, Any]]) -> None:
        self.groups = groups

    def describe_groups(self, names: list[str]) -> dict[str, dict[str, Any]]:
        return {name: self.groups.get(name, NOBODY) for name in names}


def test_a_worker_reading_the_follow_up_topics_is_told_from_one_reading_ratings_raw() -> None:
    assert reads_follow_up_topics(ONE_PROCESS, SETTINGS)
    assert not reads_follow_up_topics(INGEST_HALF, SETTINGS)
    assert not reads_follow_up_topics(NOBODY, SETTINGS)
    # a member between assignments holds nothing yet
    assert not reads_follow_up_topics({"members": [member()]}, SETTINGS)


@pytest.mark.parametrize(
    ("role", "groups", "refused"),
    [
        ("follow-up", {"hcp": ONE_PROCESS}, "still reads the follow-up topics"),
        ("follow-up", {"hcp": INGEST_HALF}, None),
        ("follow-up", {}, None),
        ("all", {"hcp-follow-up": FOLLOW_UP_HALF}, "follow-up half runs"),
        ("all", {"hcp": ONE_PROCESS}, None),
    ],
)
def test_the_two_shapes_never_run_at_once(
    role: str, groups: dict[str, dict[str, Any]], refused: str | None
) -> None:
    settings = SETTINGS.model_copy(update={"worker_role": role})
    if refused is None:
        check_shape(settings, Admin(groups))  # type: ignore[arg-type]
    else:
        with pytest.raises(HandoverRefused, match=refused):
            check_shape(settings, Admin(groups))  # type: ignore[arg-type]


def test_wait_knows_the_shape_and_waits_for_an_absent_follow_up_half() -> None:
    assert not follow_up_apart(ONE_PROCESS, NOBODY, SETTINGS)
    assert follow_up_apart(INGEST_HALF, FOLLOW_UP_HALF, SETTINGS)
    # the follow-up half away (crashing, not started yet): still two processes, not ready
    assert follow_up_apart(INGEST_HALF, NOBODY, SETTINGS)
    # nothing runs: judged as one process, whose group is then not ready either
    assert not follow_up_apart(NOBODY, NOBODY, SETTINGS)
