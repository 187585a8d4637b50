"""People's actions on cases through the worker's steps in memory (streams/testing.py): a bad
review's loop from 转办 to the citizen's rating, judged by the case step, with refusals on
ratings.rejected and a crash in the middle that changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from channels.simulation import Simulator
from runtime.settings import Settings
from streams.testing import InMemoryPipeline

SETTINGS = Settings(demo_mode=True, topic_partitions=2)
RECEIVED = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def act(pipe: InMemoryPipeline, case_id: str, n: int, kind: str, **fields: Any) -> None:
    value = {
        "action_id": f"{case_id}-{n}",
        "case_id": case_id,
        "action": kind,
        "at": (RECEIVED + timedelta(hours=n)).isoformat(),
        "actor": f"user-{fields.get('actor_role', 'office')}",
        "actor_role": "office",
        **fields,
    }
    at = (RECEIVED + timedelta(hours=n)).timestamp()
    pipe.log(SETTINGS.topic_case_actions).append(
        case_id.encode(), json.dumps(value).encode(), at, None
    )


def a_loop(pipe: InMemoryPipeline, case_id: str, home: str) -> None:
    office: dict[str, Any] = {"actor_role": "office"}
    b = {"actor_role": "department", "actor_departments": ["D-B"]}
    act(pipe, case_id, 1, "route", department_code="D-B", **office)
    act(pipe, case_id, 2, "request_reroute", **b)
    act(pipe, case_id, 3, "refuse_reroute", **office)
    # the department the case came from is not the one it is with now
    act(pipe, case_id, 4, "verify", truthful=True, reasonable=True, category="attitude",
        actor_role="department", actor_departments=[home])  # fmt: skip
    act(pipe, case_id, 5, "rectify", **b)  # before 核实: refused
    act(pipe, case_id, 6, "verify", truthful=True, reasonable=True, category="efficiency", **b)
    act(pipe, case_id, 7, "call_back", outcome="reached", **b)
    act(pipe, case_id, 8, "rectify", note="窗口增设导办", **b)
    act(pipe, case_id, 9, "rate_rectification", satisfaction="satisfied", **b)
    act(pipe, case_id, 10, "close", **b)  # the office's: refused
    act(pipe, case_id, 11, "close", actor_role="analyst")


@pytest.mark.parametrize("crash_after", [None, 2, 3, 4])
def test_a_case_walks_the_loop_and_a_crash_changes_nothing(crash_after: int | None) -> None:
    pipe = InMemoryPipeline(SETTINGS)
    review = Simulator(seed=3).evaluation(RECEIVED - timedelta(hours=1), level=1)
    case_id, home = review["evaluation_id"], review["department_code"]
    pipe.send_raw([(case_id.encode(), json.dumps(review).encode())], RECEIVED.timestamp())
    pipe.run()
    a_loop(pipe, case_id, home)
    pipe.run(batch=3, crash_after=crash_after)

    sent = [e for e in pipe.values(SETTINGS.topic_cases) if e["case_id"] == case_id]
    events = {(e["event"], e["at"], e["department_code"]): e for e in sent}
    # a replay re-sends an event byte for byte (the sink's table keeps one), never another
    assert len({json.dumps(e, sort_keys=True) for e in sent}) == len(events)
    assert [kind for kind, _, _ in sorted(events, key=lambda k: k[1])] == [
        "opened",
        "routed",
        "reroute_requested",
        "reroute_refused",
        "verified",
        "called_back",
        "rectified",
        "rectification_rated",
    ]
    assert all(department == "D-B" for kind, _, department in events if kind != "opened")
    verified = next(e for (kind, _, _), e in events.items() if kind == "verified")
    assert verified["category"] == "efficiency" and verified["actor"] == "user-department"

    refused = {
        r["source_offset"]: r["message"]
        for r in pipe.values(SETTINGS.topic_rejected)
        if r["reason"] == "action_refused"
    }
    assert sorted(refused) == [3, 4, 9, 10], refused  # actions 4, 5, 10 and 11
    if crash_after is not None:  # the crashed batch was judged twice: sent twice
        resent = len(sent) - len(events) + len(pipe.values(SETTINGS.topic_rejected)) - 4
        assert resent > 0
    messages = " ".join(refused.values())
    for why in ("只有承办部门", "请先核实再整改", "只有好差评办公室", "分析人员只能查看"):
        assert why in messages
    assert "窗口增设导办" not in json.dumps(
        pipe.values(SETTINGS.topic_rejected), ensure_ascii=False
    )

    case = pipe.steps.cases.book(pipe.log(SETTINGS.topic_cases).records()[0].partition)
    state = next(c for c in case.cases.values() if c.case_id == case_id)
    assert state.satisfaction == "satisfied" and state.callback_outcome == "reached"
    assert not state.reroute_pending and state.responsible_department == "D-B"


def test_a_malformed_action_is_rejected_with_its_reason() -> None:
    pipe = InMemoryPipeline(SETTINGS)
    actions = pipe.log(SETTINGS.topic_case_actions)
    actions.append(b"E1", b"{not json", RECEIVED.timestamp(), None)
    no_details = {
        "action_id": "x",
        "case_id": "E1",
        "action": "verify",
        "at": RECEIVED.isoformat(),
        "actor": "u",
        "actor_role": "department",
    }
    actions.append(b"E1", json.dumps(no_details).encode(), RECEIVED.timestamp(), None)
    pipe.run()
    reasons = sorted((r["reason"], r["message"]) for r in pipe.values(SETTINGS.topic_rejected))
    assert reasons[0][0] == "missing_field" and "truthful" in reasons[0][1]
    assert reasons[1][0] == "not_json"


def test_an_action_dated_in_the_future_is_refused_not_let_move_the_case_clock() -> None:
    pipe = InMemoryPipeline(SETTINGS)
    review = Simulator(seed=3).evaluation(RECEIVED - timedelta(hours=1), level=1)
    case_id = review["evaluation_id"]
    pipe.send_raw([(case_id.encode(), json.dumps(review).encode())], RECEIVED.timestamp())
    pipe.run()
    future = {
        "action_id": "f1",
        "case_id": case_id,
        "action": "close",
        "at": (RECEIVED + timedelta(days=30)).isoformat(),
        "actor": "office-1",
        "actor_role": "office",
    }
    pipe.log(SETTINGS.topic_case_actions).append(
        case_id.encode(), json.dumps(future).encode(), RECEIVED.timestamp(), None
    )
    pipe.run()
    assert [e["event"] for e in pipe.values(SETTINGS.topic_cases)] == ["opened"]
    assert [r["reason"] for r in pipe.values(SETTINGS.topic_rejected)] == ["future_event"]
    assert pipe.values(SETTINGS.topic_case_warnings) == []  # no deadline judged 30 days on


def test_a_replayed_action_is_answered_from_the_case_without_writing_it_again() -> None:
    pipe = InMemoryPipeline(SETTINGS)
    review = Simulator(seed=3).evaluation(RECEIVED - timedelta(hours=1), level=1)
    case_id = review["evaluation_id"]
    pipe.send_raw([(case_id.encode(), json.dumps(review).encode())], RECEIVED.timestamp())
    pipe.run()
    act(pipe, case_id, 1, "route", department_code="D-B", actor_role="office")
    pipe.run()
    book = pipe.steps.cases.book(pipe.log(SETTINGS.topic_case_actions).records()[0].partition)
    saved: list[str] = []
    save = book.save
    book.save = lambda case: (saved.append(case.case_id), save(case))[-1]  # type: ignore[method-assign]
    act(pipe, case_id, 1, "route", department_code="D-B", actor_role="office")  # a replay
    act(pipe, case_id, 2, "close", actor_role="analyst")  # a new verdict: a refusal
    pipe.run()
    assert saved == [case_id]  # the refusal's record; the replay changed nothing to write
    routed = [e for e in pipe.values(SETTINGS.topic_cases) if e["event"] == "routed"]
    assert len(routed) == 2 and routed[0] == routed[1]  # answered again, byte for byte
