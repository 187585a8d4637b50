"""The follow-up loop through the real broker: a month of cases across the 2026 National Day
holiday (1–7 October, make-up working days 20 September and 10 October), with a worker
restart in the middle; warnings and indicators checked in ClickHouse and on the topic."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka.partitioner import DefaultPartitioner
from clickhouse_driver import Client
from kafka import KafkaConsumer, KafkaProducer

from channels.simulation import Simulator
from runtime.kafka_security import kafka_security
from runtime.settings import Settings
from schemas.cases import CaseEvent
from streams.cases.book import CaseBook, CasePolicy
from streams.cases.deadlines import WorkingCalendar
from tests.integration.harness import (
    Service,
    scalar,
    send,
    wait_until,
)

CST = ZoneInfo("Asia/Shanghai")
DEPARTMENTS = ("D-MINZHENG", "D-SHUIWU", "D-GONGAN")
CALENDAR = WorkingCalendar()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # the cases happened two months ago: nothing may count as late, not even in a minute
    return {
        "allowed_lateness_s": 400 * 86_400,
        "late_horizon_days": 400,
        "dedupe_ttl_days": 400,
        "case_pending_days": 401,
    }


def event(case_id: str, kind: str, at: datetime, department: str, **extra: object) -> CaseEvent:
    return CaseEvent.model_validate_json(
        json.dumps(
            {
                "case_id": case_id,
                "event": kind,
                "at": at.isoformat(),
                "department_code": department,
                **extra,
            },
            default=str,
        )
    )


def month_of_cases() -> list[CaseEvent]:
    """40 bad reviews from 21 September to 16 October, each followed up in one of five ways."""
    events = []
    start = datetime(2026, 9, 21, 9, 30, tzinfo=CST)
    for i in range(40):
        case_id, department = f"case-{i:03d}", DEPARTMENTS[i % 3]
        opened = start + timedelta(hours=15 * i)
        events.append(
            event(
                case_id,
                "opened",
                opened,
                department,
                service_code="S-1",
                level=1 + i % 2,
                evaluated_at=opened.isoformat(),
                # as the worker's ingest opens a case: with its deadlines in working days
                callback_due_at=CALENDAR.add_working_days(opened, 1).isoformat(),
                rectification_due_at=CALENDAR.add_working_days(opened, 15).isoformat(),
            )
        )
        plan = i % 5
        if plan == 0:  # on time: called back within hours, rectified within a week
            events.append(event(case_id, "called_back", opened + timedelta(hours=2), department))
            events.append(event(case_id, "rectified", opened + timedelta(days=5), department))
        elif plan == 1:  # called back three days later, never rectified
            events.append(event(case_id, "called_back", opened + timedelta(days=3), department))
        elif plan == 2:  # appealed, and the appeal upheld two days later
            events.append(event(case_id, "appealed", opened + timedelta(hours=1), department))
            events.append(event(case_id, "appeal_upheld", opened + timedelta(days=2), department))
        elif plan == 3:  # routed elsewhere, called back, rectified a month late
            events.append(event(case_id, "routed", opened + timedelta(hours=1), "D-ZHUJIAN"))
            events.append(event(case_id, "called_back", opened + timedelta(hours=4), "D-ZHUJIAN"))
            events.append(event(case_id, "rectified", opened + timedelta(days=45), "D-ZHUJIAN"))
        # plan 4: nothing ever happens
    # the end of the period: events far later move every partition's clock past all deadlines
    for j in range(12):
        events.append(
            event(f"clock-{j:02d}", "closed", datetime(2026, 12, 31, tzinfo=CST), "D-CLOCK")
        )
    return sorted(events, key=lambda e: e.at)


def expected_warnings(events: list[CaseEvent], partitions: int) -> set[tuple[str, str, str]]:
    """Replays each partition's events in order with the pure case logic, as the worker does."""
    partitioner = DefaultPartitioner()
    by_partition: dict[int, list[CaseEvent]] = defaultdict(list)
    for e in events:
        p = partitioner(e.case_id.encode(), list(range(partitions)), list(range(partitions)))
        by_partition[p].append(e)
    found: set[tuple[str, str, str]] = set()
    for partition_events in by_partition.values():
        book, clock = CaseBook(WorkingCalendar(), CasePolicy()), None
        for e in partition_events:
            book.apply(e)
            clock = e.at if clock is None else max(clock, e.at)
            found |= {(w.case_id, w.deadline, w.kind) for w in book.warnings_due(clock)}
    return found


def produce(settings: Settings, events: list[CaseEvent]) -> None:
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_servers,
        **kafka_security(settings),
        acks="all",
    )
    for e in events:
        producer.send(settings.topic_cases, key=e.case_id.encode(), value=e.to_json_bytes())
    producer.flush()
    producer.close()


def test_a_month_of_cases_across_national_day_warns_exactly_once(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    events = month_of_cases()
    expected = expected_warnings(events, settings.topic_partitions)
    # the holiday shapes the answer: case-014, opened on 30 September at 03:30 and never
    # called back, was overdue at the end of 8 October, the first working day after it
    assert ("case-014", "callback", "overdue") in expected
    due = WorkingCalendar().add_working_days(datetime(2026, 9, 30, 3, 30, tzinfo=CST), 1)
    assert due == datetime(2026, 10, 8, 16, 0, tzinfo=UTC)
    assert len(expected) > 20

    halfway = next(i for i, e in enumerate(events) if e.at >= datetime(2026, 10, 5, tzinfo=CST))
    sink = Service(settings, "sink", tmp_path / "sink.log")
    worker = Service(settings, "worker", tmp_path / "worker-1.log")
    try:
        produce(settings, events[:halfway])
        wait_until(
            "the first half to land",
            lambda: scalar(clickhouse, "SELECT count() FROM case_events FINAL") >= halfway,
            services=[worker, sink],
        )
        worker.stop()  # a restart in the middle of the month
        worker = Service(settings, "worker", tmp_path / "worker-2.log")
        produce(settings, events[halfway:])
        wait_until(
            "every warning",
            lambda: scalar(clickhouse, "SELECT count() FROM case_warnings FINAL") >= len(expected),
            timeout=180,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()

    landed = set(clickhouse.execute("SELECT case_id, deadline, kind FROM case_warnings FINAL"))
    assert landed == expected  # none missed, none extra
    per_warning: Counter[tuple[str, str, str]] = Counter()
    consumer = KafkaConsumer(
        settings.topic_case_warnings,
        bootstrap_servers=settings.kafka_servers,
        **kafka_security(settings),
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    for record in consumer:
        value = json.loads(record.value)
        per_warning[(value["case_id"], value["deadline"], value["kind"])] += 1
    consumer.close()
    assert set(per_warning) == expected
    assert set(per_warning.values()) == {1}  # none twice, also across the restart

    # every warning fell due when its message says, never before its deadline rule allows
    for case_id, deadline, kind, due_at, at in clickhouse.execute(
        "SELECT case_id, deadline, kind, toUnixTimestamp(due_at), toUnixTimestamp(at) "
        "FROM case_warnings FINAL"
    ):
        if kind.startswith("escalated"):  # 督办: 3 and 6 working days after the deadline
            assert at > due_at, (case_id, deadline, kind)
        else:
            assert (at == due_at) if kind == "overdue" else (at < due_at), (case_id, deadline, kind)

    indicators = {
        (row[0], str(row[1])): row[2:]
        for row in clickhouse.execute(
            "SELECT department_code, month, bad_reviews, called_back_cases, rectified_cases, "
            "rectified_on_time_cases, appeals, appeals_upheld FROM case_indicators_monthly"
        )
    }
    assert indicators == expected_indicators(events)


def expected_indicators(events: list[CaseEvent]) -> dict[tuple[str, str], tuple[int, ...]]:
    calendar, policy = WorkingCalendar(), CasePolicy()
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 6)
    opened = {e.case_id: e for e in events if e.event == "opened"}
    done: dict[tuple[str, str], datetime] = {}
    for e in events:
        done.setdefault((e.case_id, e.event), e.at)
    for case_id, o in opened.items():
        month = o.at.astimezone(CST).strftime("%Y-%m-01")
        row = counts[(o.department_code, month)]
        rect_due = calendar.add_working_days(o.at, policy.rectification_working_days)
        row[0] += 1
        row[1] += (case_id, "called_back") in done
        row[2] += (case_id, "rectified") in done
        row[3] += (case_id, "rectified") in done and done[(case_id, "rectified")] <= rect_due
        row[4] += (case_id, "appealed") in done
        row[5] += (case_id, "appeal_upheld") in done
    return {key: tuple(value) for key, value in counts.items()}


def test_a_bad_review_opens_a_case_with_its_deadlines(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    simulator = Simulator(seed=42)
    evaluation = simulator.evaluation(datetime(2026, 9, 30, 10, 15, tzinfo=CST), level=1)
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        send(
            settings,
            [
                (
                    evaluation["evaluation_id"].encode(),
                    json.dumps(evaluation, ensure_ascii=False).encode(),
                )
            ],
        )
        # and a department system sends an event the contract refuses
        bad_event = {
            "case_id": "c-1",
            "event": "fixed",
            "at": "2026-10-09T10:00:00+08:00",
            "department_code": "D1",
        }
        producer = KafkaProducer(
            bootstrap_servers=settings.kafka_servers,
            **kafka_security(settings),
        )
        producer.send(settings.topic_cases, key=b"c-1", value=json.dumps(bad_event).encode())
        producer.flush()
        producer.close()
        wait_until(
            "the case to open and the bad event to be rejected",
            lambda: (
                scalar(clickhouse, "SELECT count() FROM cases") == 1
                and scalar(clickhouse, "SELECT count() FROM rejected FINAL") == 1
            ),
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
    case_id, opened_at, callback_due, rectification_due = clickhouse.execute(
        "SELECT case_id, toUnixTimestamp(opened_at), toUnixTimestamp(callback_due_at), "
        "toUnixTimestamp(rectification_due_at) FROM cases"
    )[0]
    assert case_id == evaluation["evaluation_id"]
    reason, source_topic = clickhouse.execute("SELECT reason, source_topic FROM rejected")[0]
    assert (reason, source_topic) == ("invalid_field", settings.topic_cases)
    # the deadlines count from the platform's receipt of the review (its ingested_at), not
    # from 30 September: 1 and 15 working days from today
    received = scalar(
        clickhouse,
        "SELECT toUnixTimestamp(ingested_at) FROM ratings FINAL WHERE evaluation_id = %(e)s",
        {"e": case_id},
    )
    assert opened_at == received
    at = datetime.fromtimestamp(received, UTC)
    assert callback_due == int(CALENDAR.add_working_days(at, 1).timestamp())
    assert rectification_due == int(CALENDAR.add_working_days(at, 15).timestamp())


def test_late_bad_reviews_count_their_deadlines_from_arrival_and_early_call_backs_count(
    settings: Settings, clickhouse: Client, tmp_path: Path
) -> None:
    """Issue 13 against the real services: a bad review evaluated 8 days ago arrives now; its
    case opens with deadlines from its arrival, not overdue. For a second one, the department's
    `called_back`, dated 3 hours after the review, reaches the worker before the review: no
    call-back warning is ever raised for it, while its unmet rectification still is."""
    simulator = Simulator(seed=77)
    evaluated = datetime.now(UTC) - timedelta(days=8)
    late = simulator.evaluation(evaluated, level=1, open_halls=True)
    early = simulator.evaluation(evaluated, level=2, open_halls=True)
    called_back = evaluated + timedelta(hours=3)
    worker = Service(settings, "worker", tmp_path / "worker.log")
    sink = Service(settings, "sink", tmp_path / "sink.log")
    try:
        produce(settings, [event(early["evaluation_id"], "called_back", called_back, "D1")])
        wait_until(
            "the department's call-back to land",
            lambda: scalar(clickhouse, "SELECT count() FROM case_events FINAL") == 1,
            services=[worker, sink],
        )
        send(
            settings,
            [
                (e["evaluation_id"].encode(), json.dumps(e, ensure_ascii=False).encode())
                for e in (late, early)
            ],
        )
        wait_until(
            "both cases to open",
            lambda: scalar(clickhouse, "SELECT count() FROM cases") == 2,
            services=[worker, sink],
        )
        # nothing is due yet: no warning at once (before, both were overdue on arrival)
        assert scalar(clickhouse, "SELECT count() FROM case_warnings FINAL") == 0
        # then the clock of every partition moves 40 days on (events of other cases)
        future = datetime.now(UTC) + timedelta(days=40)
        produce(settings, [event(f"clock-{n:02d}", "closed", future, "D-CLOCK") for n in range(16)])
        wait_until(
            "the unmet deadlines to be warned about",
            lambda: (
                scalar(
                    clickhouse,
                    "SELECT count() FROM case_warnings FINAL WHERE deadline = 'rectification'",
                )
                == 8  # due soon, overdue and two 督办 levels, for each case
            ),
            timeout=180,
            services=[worker, sink],
        )
    finally:
        worker.stop()
        sink.stop()
    cases = {
        row[0]: row[1:]
        for row in clickhouse.execute(
            "SELECT case_id, toUnixTimestamp(opened_at), toUnixTimestamp(callback_due_at), "
            "called_back, called_back_on_time FROM cases"
        )
    }
    received = dict(
        clickhouse.execute("SELECT evaluation_id, toUnixTimestamp(ingested_at) FROM ratings FINAL")
    )
    for review in (late, early):
        case_id = review["evaluation_id"]
        opened_at, callback_due = cases[case_id][:2]
        assert opened_at == received[case_id]  # the case opened when the review arrived
        arrival = datetime.fromtimestamp(received[case_id], UTC)
        assert callback_due == int(CALENDAR.add_working_days(arrival, 1).timestamp())
    assert cases[early["evaluation_id"]][2:] == (1, 1)  # called back, on time
    warned = set(clickhouse.execute("SELECT case_id, deadline, kind FROM case_warnings FINAL"))
    kinds = ("due_soon", "overdue", "escalated_1", "escalated_2")
    assert warned == {
        *((late["evaluation_id"], "callback", kind) for kind in kinds),
        *((late["evaluation_id"], "rectification", kind) for kind in kinds),
        *((early["evaluation_id"], "rectification", kind) for kind in kinds),
    }
    # the late review's warnings fell due from its arrival, not 8 days before it; a 督办
    # level after its deadline, the others at or before it
    for kind, due_at, at in clickhouse.execute(
        "SELECT kind, toUnixTimestamp(due_at), toUnixTimestamp(at) FROM case_warnings FINAL"
    ):
        assert due_at > received[late["evaluation_id"]]
        assert (at > due_at) if kind.startswith("escalated") else (at <= due_at)
