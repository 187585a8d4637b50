"""What a stalled worker says before its watchdog ends it (issue 26, part 3).

A fresh Faust worker has been seen, a few times in many runs, to process a batch or two and
then fetch nothing more; the watchdog restarts it, and the root cause was never caught in the
act. So the exit leaves the evidence: where every agent and task waits, what Faust's
consumer thinks it owns, pauses and has read, and what aiokafka's fetcher holds. Read-only and
defensive: attributes are private and may move in an upgrade, and nothing here may raise.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from streams.worker.kafka import committed_offsets


def stall_evidence(app: Any) -> str:
    """A multi-line report of the worker's state; never raises."""
    parts = []
    for name, gather in (
        ("agents", _agents),
        ("tasks", _tasks),
        ("consumer", _consumer),
        ("acks", _acks),
        ("fetcher", _fetcher),
        ("partitions (aiokafka)", _partition_states),
        ("consumer thread tasks", _thread_tasks),
        ("channels", _channels),
    ):
        try:
            parts.append(f"--- {name}\n{gather(app)}")
        except Exception as exc:  # evidence is best effort: the exit must happen anyway
            parts.append(f"--- {name}: unavailable ({type(exc).__name__}: {exc})")
    return "\n".join(parts)


def _agents(app: Any) -> str:
    return str(app.agents.human_tracebacks())


def _tasks(app: Any) -> str:
    return _tasks_of(app.loop)


def _thread_tasks(app: Any) -> str:
    # aiokafka's fetcher runs in Faust's consumer thread, on that thread's own loop
    return _tasks_of(app.consumer._thread.thread_loop)


def _tasks_of(loop: asyncio.AbstractEventLoop) -> str:
    lines = []
    for task in asyncio.all_tasks(loop):
        frames = task.get_stack(limit=6)
        where = " <- ".join(
            f"{frame.f_code.co_name} ({frame.f_code.co_filename.rsplit('/', 2)[-1]}:"
            f"{frame.f_lineno})"
            for frame in reversed(frames)
        )
        lines.append(f"{task.get_name()}: {where or 'not started'}")
    return "\n".join(sorted(lines))


def _consumer(app: Any) -> str:
    consumer = app.consumer
    tps = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
    read = getattr(consumer, "_read_offset", {})
    committed = committed_offsets(app)
    paused: set[Any] = getattr(consumer, "_paused_partitions", set())
    rows = [
        f"flow_active={getattr(consumer, 'flow_active', '?')} "
        f"unacked={len(getattr(consumer, '_unacked_messages', ()))} "
        f"rebalancing={app.rebalancing} in_recovery={getattr(app, 'in_recovery', '?')}"
    ]
    for tp in tps:
        rows.append(
            f"{tp.topic}:{tp.partition} read={read.get(tp)} committed={committed.get(tp)}"
            f"{' paused' if tp in paused else ''}"
        )
    return "\n".join(rows)


def _acks(app: Any) -> str:
    """What keeps each partition's commit where it is: Faust commits the run of acknowledged
    offsets that follows the committed one, so a hole at the head holds it for ever."""
    consumer = app.consumer
    acked = getattr(consumer, "_acked", {})
    gaps = getattr(consumer, "_gap", {})
    unacked: dict[Any, list[Any]] = {}
    for message in list(getattr(consumer, "_unacked_messages", ())):
        unacked.setdefault(message.tp, []).append(message)
    rows = [f"generation={getattr(app, 'consumer_generation_id', '?')}"]
    tps = set(acked) | set(gaps) | set(unacked)
    for tp in sorted(tps, key=lambda tp: (tp.topic, tp.partition)):
        offsets = sorted(acked.get(tp, ()))
        held = sorted(unacked.get(tp, ()), key=lambda message: message.offset)
        rows.append(
            f"{tp.topic}:{tp.partition} acked={len(offsets)} first={offsets[:5]} "
            f"gaps={sorted((i.begin, i.end) for i in gaps.get(tp, ()))[:3]} "
            f"unacked={len(held)} "
            + " ".join(
                f"{m.offset}(refs={m.refcount} acked={m.acked} gen={m.generation_id})"
                for m in held[:3]
            )
        )
    return "\n".join(rows)


def _fetcher(app: Any) -> str:
    thread = app.consumer._thread
    kafka = getattr(thread, "_consumer", None)
    fetcher = getattr(kafka, "_fetcher", None)
    if fetcher is None:
        return "no aiokafka consumer"
    task = getattr(fetcher, "_fetch_task", None)
    state = "none" if task is None else ("done" if task.done() else "running")
    if task is not None and task.done() and not task.cancelled() and task.exception():
        state += f": {''.join(traceback.format_exception(task.exception())).strip()}"
    held = {
        f"{tp.topic}:{tp.partition}": type(r).__name__
        for tp, r in getattr(fetcher, "_records", {}).items()
    }
    in_flight = sorted(getattr(fetcher, "_in_flight", ()))
    pending = len(getattr(fetcher, "_pending_tasks", ()))
    assignment = getattr(getattr(kafka, "_subscription", None), "subscription", None)
    return (
        f"fetch task {state}; results held per partition {held}; "
        f"nodes in flight {in_flight}; pending fetch tasks {pending}; "
        f"thread alive={getattr(thread, '_thread', None) and thread._thread.is_alive()}; "
        f"subscription={assignment!r}"
    )


def _channels(app: Any) -> str:
    rows = []
    for agent in app.agents.values():
        channel = getattr(agent, "channel", None)
        queue = getattr(channel, "_queue", None)
        size = queue.qsize() if queue is not None else "no queue"
        rows.append(f"{agent.name}: channel queue {size}")
    return "\n".join(rows)


def _partition_states(app: Any) -> str:
    """aiokafka's own view of each partition: Faust's pause set and aiokafka's can differ."""
    kafka = app.consumer._thread._consumer
    assignment = kafka._subscription.subscription.assignment
    rows = []
    for tp in sorted(assignment.tps, key=lambda tp: (tp.topic, tp.partition)):
        state = assignment.state_value(tp)
        position = state.position if state.has_valid_position else None
        rows.append(
            f"{tp.topic}:{tp.partition} position={position} paused={state.paused} "
            f"highwater={state.highwater} leader={kafka._client.cluster.leader_for_partition(tp)}"
        )
    return "\n".join(rows)
