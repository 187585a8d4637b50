"""The worker as one process or as two halves: which runs, and the move from one to two.

A follow-up worker's group (``<app>-follow-up``) starts without offsets and would read its
three topics from their earliest records, replaying days of cases and surge minutes. So on its
first start (the group has no offsets at all) it is given the offsets the worker's group
committed on those topics, before it joins.

The two shapes must not run at once: a worker of the ``<app>`` group that still reads the
follow-up topics (``--role all``) and a follow-up half would both judge surges and follow
cases up, and both write the same changelogs. Each refuses to start while the other runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from streams.topology import follow_up_group, follow_up_inputs


class HandoverRefused(Exception):
    """The worker cannot start in its role now; the message says why and what to do."""


def reads_follow_up_topics(group: Mapping[str, Any], settings: Settings) -> bool:
    """Whether a member of this described group (``KafkaAdminClient.describe_groups``) is
    assigned a partition of the follow-up topics."""
    topics = set(follow_up_inputs(settings))
    for member in group.get("members") or ():
        assignment = member.get("member_assignment") or {}
        for assigned in assignment.get("assigned_partitions") or ():
            if assigned.get("topic") in topics and assigned.get("partitions"):
                return True
    return False


def check_shape(settings: Settings, admin: KafkaAdminClient) -> None:
    """Raise :class:`HandoverRefused` if the other shape of the worker is running."""
    group = follow_up_group(settings)
    described = admin.describe_groups([settings.app_id, group])
    if settings.worker_role == "follow-up" and reads_follow_up_topics(
        described.get(settings.app_id, {}), settings
    ):
        raise HandoverRefused(
            f"a worker of the group {settings.app_id} still reads the follow-up topics (one "
            "started with --role all?): stop it, or restart it with --role ingest, before the "
            "follow-up half starts"
        )
    if settings.worker_role == "all" and (described.get(group, {}).get("members") or []):
        raise HandoverRefused(
            f"the worker's follow-up half runs (group {group} has members): run this worker "
            "with --role ingest, or stop the follow-up half first"
        )


def take_over_follow_up_offsets(settings: Settings, admin: KafkaAdminClient) -> int:
    """Commit the worker group's offsets on the follow-up topics to the follow-up group, if
    that group has none yet; how many partitions were taken over."""
    new = follow_up_group(settings)
    committed = admin.list_group_offsets({settings.app_id: None, new: None})
    if committed.get(new):
        return 0
    topics = set(follow_up_inputs(settings))
    offsets = {
        tp: position
        for tp, position in committed.get(settings.app_id, {}).items()
        if tp.topic in topics and position.offset >= 0
    }
    if not offsets:
        return 0
    # per partition: an error class, or None / NoError where the commit was taken
    answers = admin.alter_group_offsets(new, offsets) or {}
    failed = {
        f"{tp.topic}:{tp.partition}": getattr(error, "__name__", str(error))
        for tp, error in answers.items()
        if error is not None and getattr(error, "errno", 0) != 0
    }
    if failed:
        reasons = ", ".join(f"{where} {error}" for where, error in sorted(failed.items()))
        raise HandoverRefused(
            f"the offsets of the group {settings.app_id} could not be given to {new}: "
            f"{reasons}; the next start tries again"
        )
    return len(offsets)


def prepare_role(
    settings: Settings, say: Callable[[str], None] = lambda _: None, patience_s: float = 120
) -> int:
    """Before a worker of the configured role starts: refuse if the other shape runs; for the
    follow-up half, take the offsets over on its first start (how many partitions).

    A broker that has just started answers "coordinator not available" until its offsets topic
    is loaded (CI saw it kill a worker on a loaded machine): such answers are retried for up to
    ``patience_s``, one line each, before the error stands."""
    if settings.worker_role == "ingest":
        return 0

    def before_sleep(state: Any) -> None:
        error = state.outcome.exception()
        say(f"the group coordinator is not ready ({type(error).__name__}); retrying")

    for attempt in Retrying(
        retry=retry_if_exception(is_passing),
        stop=stop_after_delay(patience_s),
        wait=wait_exponential(multiplier=0.5, min=0.5, max=5),
        before_sleep=before_sleep,
        reraise=True,
    ):
        with attempt:
            return _prepare(settings, connect(settings))
    raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover


def is_passing(error: BaseException) -> bool:
    """A Kafka answer that a moment's wait cures (coordinator loading, not yet elected)."""
    return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))


def connect(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=settings.kafka_servers,
        client_id=f"{settings.app_id}-handover",
        request_timeout_ms=10_000,
        **kafka_security(settings),
    )


def _prepare(settings: Settings, admin: KafkaAdminClient) -> int:
    try:
        check_shape(settings, admin)
        if settings.worker_role == "follow-up":
            return take_over_follow_up_offsets(settings, admin)
        return 0
    finally:
        admin.close()
