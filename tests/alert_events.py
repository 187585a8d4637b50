"""Surge-alert events for the notifier's tests, unit and integration alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.alerts import AlertEvent, AlertExplanation, CodeCount

NUMBERED_START = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def sample_alert(
    state: str = "opened", key: str = "D1", comment: str = "等了两个小时没人管"
) -> AlertEvent:
    """One department's alert with every field a message shows filled in."""
    return AlertEvent(
        alert_id=f"department:{key}:1764300000",
        dimension="department",
        key=key,
        state=state,  # type: ignore[arg-type]
        bad=20,
        total=50,
        expected=0.5,
        score=12.0,
        p_value=1e-12,
        window_start=datetime(2025, 11, 28, 3, 20, tzinfo=UTC),
        window_end=datetime(2025, 11, 28, 3, 21, tzinfo=UTC),
        at=datetime(2025, 11, 28, 3, 21, 5, tzinfo=UTC),
        explanation=AlertExplanation(
            top_services=[CodeCount(code="S1", count=10)],
            top_channels=[CodeCount(code="app", count=12)],
            sample_comments=[comment],
        ),
        anomalous_minutes=3,
        peak_score=14.5,
    )


def numbered_alert(number: int, state: str = "opened") -> AlertEvent:
    """Alert ``number`` of a series: department D<number>, its minute ``number`` minutes
    after ``NUMBERED_START``; the states of one number share an alert id (a Kafka key)."""
    window_start = NUMBERED_START + timedelta(minutes=number)
    return AlertEvent(
        alert_id=f"department:D{number}:{int(window_start.timestamp())}",
        dimension="department",
        key=f"D{number}",
        state=state,  # type: ignore[arg-type]
        bad=9,
        total=20,
        expected=1.0,
        score=8.0,
        p_value=1e-8,
        window_start=window_start,
        window_end=window_start + timedelta(minutes=1),
        at=window_start + timedelta(minutes=1),
    )


def surge_alert(
    dimension: str, key: str, state: str = "opened", services: tuple[str, ...] = ()
) -> AlertEvent:
    """A surge of ``dimension`` ``key`` in the minute at ``NUMBERED_START``, its bad reviews
    about ``services`` (a department's)."""
    return AlertEvent(
        alert_id=f"{dimension}:{key}:{int(NUMBERED_START.timestamp())}",
        dimension=dimension,
        key=key,
        state=state,  # type: ignore[arg-type]
        bad=12, total=30, expected=1.0, score=9.0, p_value=1e-9,
        window_start=NUMBERED_START, window_end=NUMBERED_START + timedelta(minutes=1),
        at=NUMBERED_START + timedelta(minutes=1),
        explanation=AlertExplanation(top_services=[CodeCount(code=s, count=3) for s in services]),
    )  # fmt: skip
