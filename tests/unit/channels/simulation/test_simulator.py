"""The simulator and the catalogue on their own: determinism, realism, the raw contract."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from channels.simulation import (
    HALL_CHANNELS,
    MALFORMED_REASONS,
    SCENARIOS,
    SURGE_TAGS,
    TAGS_BY_LEVEL,
    Scenario,
    SimulatedMessage,
    Simulator,
    halls_open,
    office_intensity,
)
from runtime.clock import CHINA
from schemas.catalogue import (
    DEPARTMENTS,
    DISTRICTS,
    HALL_BY_CODE,
    HALLS,
    organization_code,
    synthetic_departments,
    uscc,
)
from schemas.codes import REVIEW_TAGS, Channel

MONDAY_0800 = datetime(2024, 5, 13, 8, 0, tzinfo=CHINA)
MONDAY_1000 = datetime(2024, 5, 13, 10, 0, tzinfo=CHINA)
REGION_RE = re.compile(r"^[0-9]{6,12}$")
PII_RE = re.compile(r"1[3-9][0-9]{9}|@|[0-9]{17}[0-9X]")
# the national pf code of every channel, from the one code table (schemas/codes.py)
CHANNEL_PF_CODES = {channel.value: channel.pf for channel in Channel}
CHANNEL_VALUES = set(CHANNEL_PF_CODES) | {str(pf) for pf in CHANNEL_PF_CODES.values()}
SCORE_NAMES = {"efficiency", "attitude", "competence", "guidance", "convenience", "usability"}


def _stream(
    count: int, scenario: str | Scenario = "steady", seed: int = 1, **kw: Any
) -> list[SimulatedMessage]:
    kw.setdefault("start", MONDAY_0800)
    return list(Simulator(seed).stream(count, scenario=scenario, **kw))


def _valid(messages: list[SimulatedMessage]) -> list[dict[str, Any]]:
    return [json.loads(m.value) for m in messages if m.kind == "valid"]


def _office_times(n: int) -> list[datetime]:
    # Spread over weekday office hours so the nominal channel mix applies throughout.
    return [MONDAY_1000 + timedelta(days=(i % 5), seconds=(i * 7) % 21600) for i in range(n)]


def _assert_contract(ev: dict[str, Any]) -> None:
    assert isinstance(ev["evaluation_id"], str) and 0 < len(ev["evaluation_id"]) <= 64
    if "transaction_id" in ev:
        assert isinstance(ev["transaction_id"], str) and 0 < len(ev["transaction_id"]) <= 50
    assert type(ev["evaluation_round"]) is int and ev["evaluation_round"] in (1, 2)
    for field in ("service_code", "department_code", "service_name", "department_name"):
        assert isinstance(ev[field], str) and ev[field]
    assert isinstance(ev["region_code"], str) and REGION_RE.match(ev["region_code"])
    assert ev["channel"] in CHANNEL_VALUES
    assert type(ev["level"]) is int and 1 <= ev["level"] <= 5
    assert isinstance(ev["tags"], list) and all(isinstance(t, str) for t in ev["tags"])
    if "comment" in ev:
        assert isinstance(ev["comment"], str) and len(ev["comment"]) <= 2000
    if "scores" in ev:
        assert set(ev["scores"]) <= SCORE_NAMES
        assert all(type(v) is int and 1 <= v <= 5 for v in ev["scores"].values())
    if "evaluator_id" in ev:
        assert isinstance(ev["evaluator_id"], str) and ev["evaluator_type"] in (1, 2)
    at = datetime.fromisoformat(ev["evaluated_at"])
    assert at.utcoffset() == timedelta(hours=8)
    assert ev["source"] == "simulator"
    for field in ("hall_code", "window_code", "staff_id"):
        if field in ev:
            assert isinstance(ev[field], str)


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_same_messages() -> None:
    a = _stream(3000, "mixed", seed=7)
    b = _stream(3000, "mixed", seed=7)
    assert [(m.key, m.value, m.kind, m.at) for m in a] == [
        (m.key, m.value, m.kind, m.at) for m in b
    ]


def test_different_seed_different_messages() -> None:
    assert [m.value for m in _stream(50, seed=1)] != [m.value for m in _stream(50, seed=2)]


def test_evaluation_ids_are_uuid_like_and_not_from_the_os() -> None:
    ids = [Simulator(3).evaluation(MONDAY_1000)["evaluation_id"] for _ in range(2)]
    assert ids[0] == ids[1]  # two fresh simulators with one seed: same id
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", ids[0]
    )


# --- realism -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_rate", [0.015, 0.05])
def test_level_distribution(bad_rate: float) -> None:
    sim = Simulator(11, bad_rate=bad_rate)
    levels = Counter(sim.evaluation(at)["level"] for at in _office_times(20_000))
    n = sum(levels.values())
    bad = (levels[1] + levels[2]) / n
    assert abs(bad - bad_rate) < 0.005 + bad_rate * 0.15
    good = 1 - bad_rate
    assert abs(levels[5] / n - 0.868 * good) < 0.02
    assert abs(levels[4] / n - 0.10 * good) < 0.015
    assert abs(levels[3] / n - 0.032 * good) < 0.01


def test_tags_belong_to_the_level() -> None:
    sim = Simulator(5, bad_rate=0.2)
    seen: set[str] = set()
    for at in _office_times(5000):
        ev = sim.evaluation(at)
        for tag in ev["tags"]:
            assert tag in REVIEW_TAGS
            assert int(tag[0]) == ev["level"]
            seen.add(tag)
    assert {t[0] for t in seen} == {"1", "2", "3", "4", "5"}


def test_tag_pools_are_the_contract_table_by_level() -> None:
    # The simulator has no tag table of its own: its pools are schemas.codes.REVIEW_TAGS.
    assert sorted(c for pool in TAGS_BY_LEVEL.values() for c in pool) == sorted(REVIEW_TAGS)
    for level, pool in TAGS_BY_LEVEL.items():
        assert len(pool) == 8
        assert all(REVIEW_TAGS[code].level == level for code in pool)


def test_surge_tags_are_bad_contract_tags_of_their_level() -> None:
    assert set(SURGE_TAGS) == {1, 2}
    for level, pool in SURGE_TAGS.items():
        assert pool and len(set(pool)) == len(pool)
        for code in pool:
            assert REVIEW_TAGS[code].level == level


def test_surge_evaluations_carry_surge_tags() -> None:
    sim = Simulator(11)
    at = datetime(2024, 5, 13, 10, 0, tzinfo=CHINA)
    for _ in range(300):
        ev = sim.surge_evaluation(at)
        assert ev["level"] in (1, 2)
        assert ev["tags"]
        assert set(ev["tags"]) <= set(SURGE_TAGS[ev["level"]])


def test_channel_mix_in_office_hours() -> None:
    sim = Simulator(9, pf_code_rate=0.0)
    channels = Counter(sim.evaluation(at)["channel"] for at in _office_times(20_000))
    n = sum(channels.values())
    for channel, share in {"web": 0.35, "app": 0.30, "counter": 0.15, "qrcode": 0.10}.items():
        assert abs(channels[channel] / n - share) < 0.02, channel
    assert set(channels) == set(CHANNEL_PF_CODES)


def test_numeric_channel_codes_are_sent_sometimes() -> None:
    values = [ev["channel"] for ev in _valid(_stream(3000))]
    numeric = [v for v in values if v.isdigit()]
    assert 0.02 < len(numeric) / len(values) < 0.09
    assert set(numeric) <= {str(pf) for pf in CHANNEL_PF_CODES.values()}


def test_hall_channels_carry_hall_window_and_staff() -> None:
    sim = Simulator(4, pf_code_rate=0.0)
    for at in _office_times(3000):
        ev = sim.evaluation(at)
        if ev["channel"] in HALL_CHANNELS:
            hall = HALL_BY_CODE[ev["hall_code"]]
            assert ev["region_code"] == hall.region_code
            if ev["channel"] != "kiosk":
                window = next(w for w in hall.windows if w.code == ev["window_code"])
                assert ev["staff_id"] in window.staff_ids
        elif ev["evaluation_round"] == 1:
            # A 追评 keeps the hall it is about, whatever channel it comes through.
            assert "hall_code" not in ev and "staff_id" not in ev


def test_pii_rate() -> None:
    sim = Simulator(8, pii_rate=0.02)
    comments = [sim.evaluation(at).get("comment", "") for at in _office_times(20_000)]
    share = sum(1 for c in comments if PII_RE.search(c)) / len(comments)
    assert 0.013 < share < 0.027
    none = Simulator(8, pii_rate=0.0)
    assert not any(
        PII_RE.search(none.evaluation(at).get("comment", "")) for at in _office_times(2000)
    )


def test_id_numbers_have_valid_check_characters() -> None:
    sim = Simulator(2)
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for _ in range(200):
        number = sim.id_number()
        total = sum(int(c) * w for c, w in zip(number[:17], weights, strict=True))
        assert number[17] == "10X98765432"[total % 11]


def test_follow_ups_share_the_transaction_of_an_earlier_first_round() -> None:
    evs = _valid(_stream(5000))
    first_rounds = {}
    follow_ups = 0
    for ev in evs:
        if ev["evaluation_round"] == 1:
            if "transaction_id" in ev:
                first_rounds[ev["transaction_id"]] = ev
        else:
            follow_ups += 1
            original = first_rounds[ev["transaction_id"]]
            assert original["evaluated_at"] < ev["evaluated_at"]
            assert original["service_code"] == ev["service_code"]
            assert original["department_code"] == ev["department_code"]
    assert 0.01 * len(evs) < follow_ups < 0.03 * len(evs)


def test_valid_messages_respect_the_contract_and_are_unique() -> None:
    messages = _stream(6000, "mixed")
    evs = _valid(messages)
    for ev in evs:
        _assert_contract(ev)
    assert len({ev["evaluation_id"] for ev in evs}) == len(evs)
    rounds = [
        (ev["transaction_id"], ev["evaluation_round"]) for ev in evs if "transaction_id" in ev
    ]
    assert len(set(rounds)) == len(rounds)
    assert any("transaction_id" not in ev for ev in evs)  # 综合点评 without a transaction
    assert {len(ev["region_code"]) for ev in evs} >= {6, 12}


def test_keys_are_transaction_else_evaluation_id() -> None:
    for m in _stream(2000):
        ev = json.loads(m.value)
        assert m.key == (ev.get("transaction_id") or ev["evaluation_id"]).encode()


def test_values_are_compact_utf8_json() -> None:
    m = _stream(1)[0]
    text = m.value.decode("utf-8")
    assert ", " not in text and ": " not in text and "\\u" not in text


# --- time ----------------------------------------------------------------------------------


def test_office_rhythm_over_a_week() -> None:
    messages = _stream(6000, rate_per_s=0.02)
    hours = Counter(m.at.astimezone(CHINA).hour for m in messages)
    weekday = Counter(m.at.astimezone(CHINA).weekday() < 5 for m in messages)
    assert messages[-1].at - messages[0].at > timedelta(days=3)
    assert hours[10] > 5 * hours[3] + 10
    assert hours[10] > hours[12]  # lunch dip
    assert all(a.at < b.at for a, b in pairwise(messages))
    assert weekday[True] > weekday[False]
    for m in messages:
        ev = json.loads(m.value)
        if not halls_open(m.at):
            assert ev["channel"] not in HALL_CHANNELS | {"3", "4", "5"}


def test_office_intensity_shape() -> None:
    assert office_intensity(MONDAY_1000) == 1.0
    assert office_intensity(MONDAY_1000.replace(hour=12, minute=30)) < 0.6
    assert office_intensity(MONDAY_1000.replace(hour=3)) < 0.05
    assert office_intensity(MONDAY_1000 + timedelta(days=5)) < 0.2  # Saturday


def test_flat_rate_without_rhythm() -> None:
    messages = _stream(2000, rate_per_s=10.0, rhythm=False)
    span = (messages[-1].at - messages[0].at).total_seconds()
    assert 150 < span < 250


def test_live_mode_stamps_the_wall_clock() -> None:
    before = datetime.now(CHINA)
    messages = list(Simulator(1).stream(20))
    after = datetime.now(CHINA)
    for m in messages:
        at = datetime.fromisoformat(json.loads(m.value)["evaluated_at"])
        assert before - timedelta(seconds=1) <= at <= after + timedelta(seconds=1)
    # In live mode every channel speaks whatever the hour, for demos at night.
    channels = {json.loads(m.value)["channel"] for m in Simulator(1).stream(2000)}
    assert channels & HALL_CHANNELS


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        Simulator().evaluation(datetime(2024, 5, 13, 10))


# --- scenarios -----------------------------------------------------------------------------


def _bad_share(evs: list[dict[str, Any]]) -> float:
    return sum(1 for ev in evs if ev["level"] <= 2) / max(1, len(evs))


def test_surge_raises_one_departments_bad_share() -> None:
    sim = Simulator(21)
    target = sim.default_surge_department
    messages = list(sim.stream(20_000, scenario="surge", start=MONDAY_0800))
    before, after = _valid(messages[:10_000]), _valid(messages[10_000:])
    in_dept = [ev for ev in after if ev["department_code"] == target.code]
    others = [ev for ev in after if ev["department_code"] != target.code]
    assert 0.3 < _bad_share(in_dept) < 0.5
    assert _bad_share(others) < 0.03
    assert _bad_share([ev for ev in before if ev["department_code"] == target.code]) < 0.06
    share_before = sum(ev["department_code"] == target.code for ev in before) / len(before)
    assert len(in_dept) / len(after) > 2.5 * share_before
    surge_tags = {t for ev in in_dept if ev["level"] <= 2 for t in ev["tags"]}
    assert surge_tags <= {"110", "112", "113", "115", "211", "212", "213", "214"}


def test_surge_of_a_named_department() -> None:
    target = DEPARTMENTS[2]
    messages = _stream(8000, "surge", surge_department=target.code)
    after = _valid(messages[4000:])
    in_dept = [ev for ev in after if ev["department_code"] == target.code]
    assert _bad_share(in_dept) > 0.3
    assert _bad_share([ev for ev in after if ev["department_code"] != target.code]) < 0.03


def test_surge_of_one_service() -> None:
    item = DEPARTMENTS[3].services[1]
    scenario = Scenario("svc", surge=True, surge_service=item.code, surge_from=0.0)
    evs = _valid(_stream(10_000, scenario))
    in_item = [ev for ev in evs if ev["service_code"] == item.code]
    assert len(in_item) > 100
    assert _bad_share(in_item) > 0.3
    siblings = [
        ev
        for ev in evs
        if ev["department_code"] == DEPARTMENTS[3].code and ev["service_code"] != item.code
    ]
    assert _bad_share(siblings) < 0.05


def test_surge_evaluation_is_bad() -> None:
    sim = Simulator(1)
    for _ in range(100):
        ev = sim.surge_evaluation(MONDAY_1000)
        assert ev["level"] in (1, 2)
        assert ev["department_code"] == sim.default_surge_department.code
        assert all(int(t[0]) == ev["level"] for t in ev["tags"])


def test_duplicates_resend_exact_bytes() -> None:
    messages = _stream(6000, "duplicates")
    kinds = Counter(m.kind for m in messages)
    assert 0.035 * 6000 < kinds["duplicate"] < 0.065 * 6000
    assert kinds["duplicate_transaction"] > 0.005 * 6000
    sent: dict[bytes, SimulatedMessage] = {}
    rounds: dict[tuple[str, int], str] = {}
    for m in messages:
        if m.kind == "valid":
            sent[m.value] = m
            ev = json.loads(m.value)
            if "transaction_id" in ev:
                rounds[(ev["transaction_id"], ev["evaluation_round"])] = ev["evaluation_id"]
        elif m.kind == "duplicate":
            assert m.value in sent
            assert m.key == sent[m.value].key
        elif m.kind == "duplicate_transaction":
            ev = json.loads(m.value)
            _assert_contract(ev)
            first = rounds[(ev["transaction_id"], ev["evaluation_round"])]
            assert ev["evaluation_id"] != first
            assert m.key == ev["transaction_id"].encode()


def test_malformed_kinds_are_each_produced() -> None:
    messages = _stream(2000, "malformed")
    kinds = Counter(m.kind for m in messages)
    assert {f"malformed:{r}" for r in MALFORMED_REASONS} <= set(kinds)
    assert (
        0.07 * 2000 < sum(n for k, n in kinds.items() if k.startswith("malformed:")) < 0.13 * 2000
    )
    for m in messages:
        if m.malformed_reason is not None:
            _assert_broken_as_labelled(m)


def test_malformed_cycle_covers_every_reason_in_a_short_stream() -> None:
    messages = _stream(200, Scenario("m", malformed_rate=0.5))
    assert {m.malformed_reason for m in messages} >= set(MALFORMED_REASONS)


def _assert_broken_as_labelled(m: SimulatedMessage) -> None:
    reason = m.malformed_reason
    assert m.key
    if reason == "not_utf8":
        with pytest.raises(UnicodeDecodeError):
            m.value.decode("utf-8")
        return
    text = m.value.decode("utf-8")
    if reason == "not_json":
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        return
    doc = json.loads(text)
    if reason == "not_object":
        assert isinstance(doc, list)
        return
    assert isinstance(doc, dict)
    if reason == "missing_field":
        assert "department_code" not in doc
    elif reason == "invalid_level":
        assert doc["level"] == 7
    elif reason == "unknown_channel":
        assert doc["channel"] == "fax"
    elif reason == "tag_level_mismatch":
        assert doc["level"] == 5 and doc["tags"] == ["115"]
    elif reason == "invalid_region_code":
        assert doc["region_code"] == "31A101"
    elif reason == "naive_timestamp":
        assert datetime.fromisoformat(doc["evaluated_at"]).tzinfo is None
    elif reason == "future_event":
        assert datetime.fromisoformat(doc["evaluated_at"]) - m.at > timedelta(hours=23)
    elif reason == "field_too_long":
        assert len(doc["comment"]) == 3000


def test_named_scenarios() -> None:
    for name in SCENARIOS:
        assert Scenario.named(name).name == name
    with pytest.raises(ValueError):
        Scenario.named("nope")


# --- catalogue -----------------------------------------------------------------------------


def _uscc_valid(code: str) -> bool:
    return uscc(code[:2], code[2:8], code[8:16]) == code


def test_catalogue_shape() -> None:
    assert 12 <= len(DEPARTMENTS) <= 20
    assert len(DISTRICTS) == 16
    assert {d.code for d in DISTRICTS} == {
        "310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112",
        "310113", "310114", "310115", "310116", "310117", "310118", "310120", "310151",
    }  # fmt: skip
    assert len({d.code for d in DEPARTMENTS}) == len(DEPARTMENTS)
    services = [s.code for d in DEPARTMENTS for s in d.services]
    assert len(set(services)) == len(services)
    for d in DEPARTMENTS:
        assert 3 <= len(d.services) <= 8
        assert len(d.code) == 18 and _uscc_valid(d.code)
        for s in d.services:
            assert re.fullmatch(r"\d{6}-\d{12}-\d", s.code)
    assert len({h.code for h in HALLS}) == len(HALLS)
    staff = [s for h in HALLS for w in h.windows for s in w.staff_ids]
    assert len(set(staff)) == len(staff)
    assert all(REGION_RE.match(h.region_code) for h in HALLS)


def test_catalogue_codes_are_stable() -> None:
    # Codes are part of what ClickHouse holds; a change here is a data migration.
    assert DEPARTMENTS[0].code == "113100000000000191"
    assert DEPARTMENTS[0].services[0].code == "310000-010001001000-1"
    assert HALLS[0].windows[0].staff_ids[0] == "ST3101011011"


def test_check_characters() -> None:
    # The GB 32100 specimen and registered companies' codes, widely used as test vectors.
    assert organization_code("M000100Y") == "M000100Y4"
    for code in ("91350100M000100Y43", "91440300708461136T", "91110108551385082Q"):
        assert _uscc_valid(code), code


def test_synthetic_departments() -> None:
    big = synthetic_departments(200)
    small = synthetic_departments(50)
    assert big[:50] == small
    codes = {d.code for d in big}
    assert len(codes) == 200 and not codes & {d.code for d in DEPARTMENTS}
    services = [s.code for d in big for s in d.services]
    assert len(set(services)) == len(services)
    assert all(3 <= len(d.services) <= 8 for d in big)
    assert all(_uscc_valid(d.code) for d in big)
    evs = _valid(list(Simulator(3, departments=big).stream(20_000, start=MONDAY_0800)))
    assert len({ev["department_code"] for ev in evs}) == 200


def test_stream_checks_its_arguments_before_the_first_message() -> None:
    sim = Simulator(1)
    with pytest.raises(ValueError):
        sim.stream(10, scenario="nope")
    with pytest.raises(KeyError):
        sim.stream(10, scenario="surge", surge_department="no-such-department")
    with pytest.raises(KeyError):
        sim.stream(10, scenario="surge", surge_service="no-such-service")
    with pytest.raises(ValueError):
        sim.stream(10, start=datetime(2024, 5, 13, 8))


# --- issue 16: devices, addresses and planted fakes ------------------------------------------


def test_channels_carry_what_they_know_of_the_client() -> None:
    from channels.simulation import Simulator

    sim = Simulator(seed=4)
    start = datetime(2026, 11, 23, 10, tzinfo=CHINA)
    seen: dict[str, set[str]] = {}
    for msg in sim.stream(2000, start=start, rhythm=False):
        ev = json.loads(msg.value)
        channel = ev["channel"] if not ev["channel"].isdigit() else "pf"
        seen.setdefault(channel, set()).update(k for k in ("device_id", "client_ip") if k in ev)
        if ev["channel"] == "counter":
            assert ev["device_id"] == "PAD-" + ev["window_code"]
    assert seen["counter"] == {"device_id", "client_ip"}
    assert seen["app"] == {"device_id", "client_ip"}
    assert seen["web"] == {"client_ip"}
    assert seen["hotline"] == set()


@pytest.mark.parametrize("scenario", ["staff_farming", "evaluator_flood", "malicious_campaign"])
def test_fraud_scenarios_plant_marked_valid_evaluations(scenario: str) -> None:
    from channels.simulation import KIND_VALID, Simulator
    from channels.tally import SentTally

    sim = Simulator(seed=2)
    msgs = list(sim.stream(3000, scenario=scenario, start=datetime(2026, 11, 23, 10, tzinfo=CHINA)))
    planted = [m for m in msgs if m.planted]
    assert planted and all(m.planted == scenario and m.kind == KIND_VALID for m in planted)
    # none before fraud_from (30 %), about fraud_share (3 %) of what comes after
    assert all(m.planted == "" for m in msgs[:900])
    assert 0.01 < len(planted) / 2100 < 0.08
    tally = SentTally()
    for m in msgs:
        tally.add(m)
    summary = json.loads(tally.to_json("D"))
    assert summary["planted"] == {scenario: len(planted)}
    assert len(summary["planted_ids"]) == len(planted)
    evs = [json.loads(m.value) for m in planted]
    if scenario == "staff_farming":
        assert {ev["window_code"] for ev in evs} == {evs[0]["window_code"]}
        assert {ev["level"] for ev in evs} == {5}
    if scenario == "evaluator_flood":
        assert len({ev["evaluator_id"] for ev in evs}) <= 3
    if scenario == "malicious_campaign":
        assert {ev["level"] for ev in evs} == {1} and all(ev.get("comment") for ev in evs)


@pytest.mark.parametrize("scenario", ["staff_farming", "evaluator_flood", "malicious_campaign"])
def test_every_fraud_stream_plants_a_whole_burst(scenario: str) -> None:
    """Seed 19's 3,000 staff_farming messages drew no burst (bursts are a draw per message,
    about 4.5 expected: none in about one stream of eighty, as in a fresh demo whose screening
    check then had nothing to check); the one a stream plants at its end is whole."""
    from channels.simulation import Simulator

    start = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    msgs = list(Simulator(seed=19).stream(3000, scenario=scenario, start=start, rate_per_s=5.0))
    planted = [m for m in msgs if m.planted]
    assert planted, "no planted message in the stream"
    smallest = {"staff_farming": 8, "evaluator_flood": 10, "malicious_campaign": 3}[scenario]
    assert len(planted) >= smallest
