"""Which shape of the worker runs, told from the groups as the broker describes them
(streams/worker/handover.py, haochaping/readiness.py); the offsets' take-over itself is tested
against the broker (tests/integration/test_handover.py)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.errors import CoordinatorNotAvailableError

from haochaping.readiness import follow_up_apart
from runtime.settings import Settings
from streams.worker import handover
from streams.worker.handover import (
    HandoverRefused,
    check_shape,
    prepare_role,
    reads_follow_up_topics,
)

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


class LoadingAdmin(Admin):
    """A broker just started: its first answers are "coordinator not available"."""

    def __init__(self, groups: dict[str, dict[str, Any]], busy_answers: int) -> None:
        super().__init__(groups)
        self.busy_answers = busy_answers
        self.closed = 0

    def describe_groups(self, names: list[str]) -> dict[str, dict[str, Any]]:
        if self.busy_answers:
            self.busy_answers -= 1
            raise CoordinatorNotAvailableError("FindCoordinatorResponse error for GROUP/hcp")
        return super().describe_groups(names)

    def close(self) -> None:
        self.closed += 1


def test_a_coordinator_still_loading_is_waited_for_not_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # CI: a worker died with CoordinatorNotAvailableError from this check on a loaded machine
    admin = LoadingAdmin({"hcp": ONE_PROCESS}, busy_answers=2)
    monkeypatch.setattr(handover, "connect", lambda settings: admin)
    lines: list[str] = []
    settings = SETTINGS.model_copy(update={"worker_role": "all"})
    assert prepare_role(settings, lines.append) == 0
    assert len(lines) == 2 and "CoordinatorNotAvailableError" in lines[0]
    assert admin.closed == 3


def test_a_coordinator_that_never_comes_back_is_an_error_after_the_patience(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = LoadingAdmin({}, busy_answers=10**6)
    monkeypatch.setattr(handover, "connect", lambda settings: admin)
    settings = SETTINGS.model_copy(update={"worker_role": "all"})
    with pytest.raises(CoordinatorNotAvailableError):
        prepare_role(settings, patience_s=1.5)


def test_a_refusal_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = LoadingAdmin({"hcp-follow-up": FOLLOW_UP_HALF}, busy_answers=0)
    monkeypatch.setattr(handover, "connect", lambda settings: admin)
    settings = SETTINGS.model_copy(update={"worker_role": "all"})
    with pytest.raises(HandoverRefused):
        prepare_role(settings)
    assert admin.closed == 1
