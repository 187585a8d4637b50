from __future__ import annotations

import json
from collections import Counter

import pytest

from schemas.alerts import AlertEvent
from streams.surges.detector import Judgement
from streams.surges.lifecycle import AlertLifecycle, Explanation

T0 = 1_764_300_000 - 1_764_300_000 % 60


def judgement(
    minute: int, anomalous: bool, key: str = "D1", *, bad: int = 0, minutes: int = 1
) -> Judgement:
    end = T0 + 60 * (minute + 1)
    bad = bad or (20 if anomalous else 1)
    return Judgement(
        key=key,
        window_start=end - 60 * minutes,
        window_end=end,
        total=50 * minutes,
        bad=bad,
        expected=0.5 * minutes,
        expected_rate=0.01,
        p_value=1e-12 if anomalous else 0.4,
        score=12.0 if anomalous else 0.4,
        anomalous=anomalous,
        threshold=5e-7,
        minutes=minutes,
    )


def explanation(minute: int) -> Explanation:
    return Explanation.from_counters(
        services={"S1": 10, "S2": minute},
        channels={"app": 12},
        tags=Counter({"213": 4}),
        comments=[f"comment of minute {minute}"],
    )


def feed(
    lifecycle: AlertLifecycle, pattern: str, first_minute: int = 0, key: str = "D1"
) -> list[AlertEvent]:
    """One character per minute: A anomalous, q quiet judgement, . no traffic (tick only)."""
    events: list[AlertEvent] = []
    for offset, kind in enumerate(pattern):
        minute = first_minute + offset
        if kind != ".":
            j = judgement(minute, kind == "A", key)
            events += lifecycle.step(j, explanation(minute), at=j.window_end + 5)
        events += lifecycle.tick(T0 + 60 * minute)
    return events


def states(events: list[AlertEvent]) -> list[tuple[str, int]]:
    return [(e.state, int(e.window_start.timestamp() - T0) // 60) for e in events]


def test_opens_once_updates_every_five_minutes_and_resolves_after_three_quiet() -> None:
    lifecycle = AlertLifecycle("department")
    events = feed(lifecycle, "qq" + "A" * 12 + "qqq" + "qq")
    assert states(events) == [
        ("opened", 2),
        ("updated", 7),
        ("updated", 12),
        ("resolved", 16),
    ]
    assert {e.alert_id for e in events} == {f"department:D1:{T0 + 120}"}
    opened, _, last_update, resolved = events
    assert opened.started_at == opened.window_start
    assert last_update.anomalous_minutes == 11
    assert resolved.anomalous_minutes == 12 and resolved.peak_score == 12.0
    assert resolved.bad == 1  # the figures of the quiet minute that resolved it
    assert lifecycle.open_alerts == {}


def test_quiet_minutes_must_be_consecutive() -> None:
    lifecycle = AlertLifecycle("department")
    events = feed(lifecycle, "AqqAqqAqqq")
    assert states(events) == [("opened", 0), ("updated", 6), ("resolved", 9)]
    assert len({e.alert_id for e in events}) == 1


def test_a_key_without_traffic_resolves_through_tick() -> None:
    lifecycle = AlertLifecycle("service")
    events = feed(lifecycle, "AA...", key="S9")
    assert states(events) == [("opened", 0), ("resolved", 4)]
    resolved = events[-1]
    assert (resolved.bad, resolved.total, resolved.score) == (0, 0, 0.0)
    assert resolved.at.timestamp() == T0 + 60 * 5  # the end of the silent minute


def test_missing_ticks_still_count_as_quiet_minutes() -> None:
    lifecycle = AlertLifecycle("department")
    first = lifecycle.step(judgement(0, True), explanation(0), at=T0 + 60)
    later = lifecycle.step(judgement(10, True), explanation(10), at=T0 + 660)
    assert states(first) == [("opened", 0)]
    assert states(later) == [("resolved", 3), ("opened", 10)]
    assert later[0].alert_id != later[1].alert_id


def test_alert_id_comes_from_the_window_that_opened_it() -> None:
    lifecycle = AlertLifecycle("department")
    j = judgement(5, True, minutes=2)
    (opened,) = lifecycle.step(j, explanation(5), at=0.0)
    assert opened.alert_id == f"department:D1:{T0 + 240}"
    assert opened.window_start.timestamp() == T0 + 240


def test_a_judgement_seen_twice_is_ignored() -> None:
    lifecycle = AlertLifecycle("department")
    j = judgement(0, True)
    assert len(lifecycle.step(j, explanation(0), at=1.0)) == 1
    assert lifecycle.step(j, explanation(0), at=2.0) == []
    lifecycle.step(judgement(1, True), explanation(1), at=3.0)
    assert lifecycle.step(j, explanation(0), at=4.0) == []  # an older minute
    assert lifecycle.tick(T0) == []


PATTERN = "qqAAAAAAAqqAAAAAAAAqqq..q" + "A" * 8 + "..."


def test_replay_is_deterministic() -> None:
    first = feed(AlertLifecycle("department"), PATTERN)
    second = feed(AlertLifecycle("department"), PATTERN)
    assert first == second
    assert [e.state for e in first].count("opened") == 2


@pytest.mark.parametrize("crash_after", [3, 9, 14, 23, 30])
def test_replay_after_restore_emits_only_what_was_not_sent(crash_after: int) -> None:
    original = AlertLifecycle("department")
    sent = feed(original, PATTERN[:crash_after])
    snapshot = json.loads(json.dumps(original.to_state()))
    rest = feed(original, PATTERN[crash_after:], first_minute=crash_after)

    restored = AlertLifecycle.from_state("department", snapshot)
    # The worker restarts from an older offset: everything is delivered again.
    replayed = feed(restored, PATTERN)
    assert replayed == rest
    assert [e.alert_id for e in sent + replayed if e.state == "opened"] == [
        e.alert_id for e in sent + rest if e.state == "opened"
    ]
    assert restored.to_state() == original.to_state()


def test_state_round_trips_through_json() -> None:
    lifecycle = AlertLifecycle("department", update_every_s=120, quiet_windows_to_resolve=2)
    feed(lifecycle, "AAAq")
    state = lifecycle.to_state()
    assert json.loads(json.dumps(state)) == state
    restored = AlertLifecycle.from_state(
        "department", json.loads(json.dumps(state)), update_every_s=120, quiet_windows_to_resolve=2
    )
    assert restored.to_state() == state
    assert restored.open_alerts == {"D1": f"department:D1:{T0}"}
    with pytest.raises(ValueError, match="dimension"):
        AlertLifecycle.from_state("service", state)


def test_events_carry_the_explanation_so_far() -> None:
    lifecycle = AlertLifecycle("department", update_every_s=120)
    events = feed(lifecycle, "AAA")
    opened, updated = events
    assert [(i.code, i.count) for i in opened.explanation.top_services] == [("S1", 10)]
    assert [(i.code, i.count) for i in updated.explanation.top_services] == [
        ("S1", 30),
        ("S2", 3),
    ]
    assert updated.explanation.sample_comments[0] == "comment of minute 2"
    assert AlertEvent.from_json_bytes(updated.to_json_bytes()) == updated


def test_explanation_from_counters_keeps_the_top_five_deterministically() -> None:
    built = Explanation.from_counters(
        halls={"H7": 3, "H1": 3, "H2": 9, "H3": 1, "H4": 2, "H5": 2, "": 40, "H6": 0},
        windows=Counter({"W1": 1}),
        comments=["  同一条  ", "同一条", "", "二", "三", "四"],
    )
    assert built.top_halls == [("H2", 9), ("H1", 3), ("H7", 3), ("H4", 2), ("H5", 2)]
    assert built.top_windows == [("W1", 1)]
    assert built.top_services == []
    assert built.sample_comments == ["同一条", "二", "三"]


def test_explanations_merge_counts_and_prefers_recent_comments() -> None:
    merged = Explanation.merge(
        [
            Explanation.from_counters(tags={"213": 3, "214": 1}, comments=["旧", "old"]),
            Explanation.from_counters(tags={"214": 5}, comments=["新"]),
        ]
    )
    assert merged.top_tags == [("214", 6), ("213", 3)]
    assert merged.sample_comments == ["新", "旧", "old"]
    assert Explanation.from_state(json.loads(json.dumps(merged.to_state()))) == merged
    assert merged.to_model().top_tags[0].code == "214"


def test_a_second_look_opens_a_late_alert_that_waits_out_its_lateness_before_resolving() -> None:
    lifecycle = AlertLifecycle("department")
    feed(lifecycle, "qqqqqq")  # minutes 0-5 judged quiet: minute 2's evaluations came late
    [opened] = lifecycle.open_late(judgement(2, True), explanation(2), at=T0 + 6 * 60)
    assert (opened.state, opened.alert_id) == ("opened", f"department:D1:{T0 + 120}")
    # minutes 3-5 were seen quiet before their late evaluations came: a second look at
    # minute 4 finds it anomalous too, which opens nothing new but restarts the quiet spell
    assert lifecycle.open_late(judgement(4, True), explanation(4), at=T0 + 7 * 60) == []
    events = feed(lifecycle, "qqqqq", first_minute=6)
    # needs 3 quiet minutes plus the 3 it was late, counted from minute 4
    assert states(events) == [("resolved", 10)]
    assert events[0].anomalous_minutes == 2


def test_a_second_look_never_reopens_a_minute_an_alert_already_covered() -> None:
    lifecycle = AlertLifecycle("department")
    events = feed(lifecycle, "qAqqq")
    assert [e.state for e in events] == ["opened", "resolved"]
    assert lifecycle.open_late(judgement(3, True), explanation(3), at=T0 + 6 * 60) == []
    assert lifecycle.open_late(judgement(1, False), explanation(1), at=T0 + 6 * 60) == []
    restored = AlertLifecycle.from_state("department", lifecycle.to_state())
    assert restored.open_late(judgement(2, True), explanation(2), at=T0 + 6 * 60) == []


def test_an_early_look_opens_the_alert_and_the_minute_counts_once_when_complete() -> None:
    lifecycle = AlertLifecycle("department")
    feed(lifecycle, "qq")
    [opened] = lifecycle.open_early(judgement(2, True), explanation(2), at=T0 + 2 * 60 + 25)
    assert opened.state == "opened" and opened.anomalous_minutes == 0
    assert lifecycle.open_early(judgement(2, True), explanation(2), at=T0 + 2 * 60 + 45) == []
    events = feed(lifecycle, "Aqqq", first_minute=2)
    assert states(events) == [("resolved", 5)]
    assert {e.alert_id for e in events} == {opened.alert_id}
    assert events[0].anomalous_minutes == 1
