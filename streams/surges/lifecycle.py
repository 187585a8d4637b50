"""Alert lifecycle: from per-minute judgements to ``opened`` / ``updated`` / ``resolved`` events.

Pure code, no Faust. The surge step, once per complete minute and dimension, calls
:meth:`AlertLifecycle.step` for every judged key and then :meth:`AlertLifecycle.tick` for the
minute, which counts a minute without traffic as a quiet one for keys with an open alert.

Everything is a function of the inputs: the ``alert_id`` is built from the window that opened
the alert, and the clock is the event time of the judgements (plus the ``at`` the caller
passes). Replaying judgements therefore yields the same events, and with the state restored
(:meth:`AlertLifecycle.to_state` / :meth:`AlertLifecycle.from_state`) a minute already
processed is skipped, so a restart never sends a second ``opened``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.alerts import AlertEvent, AlertExplanation, AlertState, CodeCount
from schemas.dimensions import FACET_NAMES
from streams.surges.detector import Judgement
from streams.windows import MINUTE

TOP_ITEMS = 5
MAX_COMMENTS = 3
STATE_FORMAT = 1
_CLOSED_FOR_S = 3600

Items = list[tuple[str, int]]


def _top(counts: Mapping[str, int], top: int) -> Items:
    # Ties broken by code, so the same counts always explain the same way.
    items = [(str(code), int(n)) for code, n in counts.items() if code and n > 0]
    items.sort(key=lambda item: (-item[1], item[0]))
    return items[:top]


def _comments(comments: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for comment in comments:
        text = comment.strip()
        if text and text not in kept:
            kept.append(text)
        if len(kept) == MAX_COMMENTS:
            break
    return kept


@dataclass
class Explanation:
    """What a minute's (or an alert's) bad reviews have in common: top codes and samples."""

    top_services: Items = field(default_factory=list)
    top_channels: Items = field(default_factory=list)
    top_halls: Items = field(default_factory=list)
    top_windows: Items = field(default_factory=list)
    top_tags: Items = field(default_factory=list)
    sample_comments: list[str] = field(default_factory=list)

    _FIELDS = tuple(f"top_{name}" for name in FACET_NAMES)

    @classmethod
    def from_counters(
        cls,
        *,
        comments: Iterable[str] = (),
        top: int = TOP_ITEMS,
        **facets: Mapping[str, int],
    ) -> Explanation:
        """From a minute's breakdown of bad reviews: one code -> count map per facet."""
        return cls.from_facets(facets, comments=comments, top=top)

    @classmethod
    def from_facets(
        cls,
        facets: Mapping[str, Mapping[str, int]],
        *,
        comments: Iterable[str] = (),
        top: int = TOP_ITEMS,
    ) -> Explanation:
        unknown = set(facets) - set(FACET_NAMES)
        if unknown:
            raise TypeError(f"unknown facets {sorted(unknown)} (known: {', '.join(FACET_NAMES)})")
        return cls(
            **{f"top_{name}": _top(facets.get(name) or {}, top) for name in FACET_NAMES},
            sample_comments=_comments(comments),
        )

    @classmethod
    def merge(cls, explanations: Iterable[Explanation], top: int = TOP_ITEMS) -> Explanation:
        """Several minutes' explanations as one, oldest first.

        Counts are summed over the items each minute kept, so an item outside a minute's top
        list is undercounted; what drives a surge tops its minutes, so it is not. Comments
        come from the newest minutes first: the latest are the most telling while it lasts.
        """
        items = list(explanations)
        merged: dict[str, Items] = {}
        for name in cls._FIELDS:
            counter: Counter[str] = Counter()
            for explanation in items:
                for code, count in getattr(explanation, name):
                    counter[code] += count
            merged[name] = _top(counter, top)
        comments = [c for explanation in reversed(items) for c in explanation.sample_comments]
        return cls(**merged, sample_comments=_comments(comments))

    def to_model(self) -> AlertExplanation:
        return AlertExplanation(
            **{
                name: [CodeCount(code=code, count=count) for code, count in getattr(self, name)]
                for name in self._FIELDS
            },
            sample_comments=list(self.sample_comments),
        )

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            name: [list(i) for i in getattr(self, name)] for name in self._FIELDS
        }
        state["sample_comments"] = list(self.sample_comments)
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Explanation:
        return cls(
            **{
                name: [(str(code), int(count)) for code, count in state.get(name, [])]
                for name in cls._FIELDS
            },
            sample_comments=[str(c) for c in state.get("sample_comments", [])],
        )


@dataclass
class _OpenAlert:
    alert_id: str
    started: int
    """Start of the window that opened the alert (epoch s)."""
    last_minute: int
    """Newest minute accounted for, by a judgement or by a tick."""
    last_emitted: int
    """Event time (window end) of the newest event sent."""
    quiet: int = 0
    anomalous_minutes: int = 1
    peak_score: float = 0.0
    explanation: Explanation = field(default_factory=Explanation)
    late_minutes: int = 0
    """For an alert a second look opened: how many minutes its key's evaluations came late.
    Its first looks see those minutes quiet, so it needs as many more quiet ones to resolve."""

    def to_state(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "started": self.started,
            "last_minute": self.last_minute,
            "last_emitted": self.last_emitted,
            "quiet": self.quiet,
            "anomalous_minutes": self.anomalous_minutes,
            "peak_score": self.peak_score,
            "explanation": self.explanation.to_state(),
            "late_minutes": self.late_minutes,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> _OpenAlert:
        return cls(
            alert_id=str(state["alert_id"]),
            started=int(state["started"]),
            last_minute=int(state["last_minute"]),
            last_emitted=int(state["last_emitted"]),
            quiet=int(state["quiet"]),
            anomalous_minutes=int(state["anomalous_minutes"]),
            peak_score=float(state["peak_score"]),
            explanation=Explanation.from_state(state["explanation"]),
            late_minutes=int(state.get("late_minutes", 0)),
        )


class AlertLifecycle:
    """Turns one dimension's judgements into alert events.

    * ``opened`` the first minute a key is anomalous; ``alert_id`` is
      ``f"{dimension}:{key}:{window_start}"`` of that judgement and never changes.
    * ``updated`` on an anomalous minute at least ``update_every_s`` (event time) after the
      alert's previous event, with that minute's counts and the explanation so far.
    * ``resolved`` after ``quiet_windows_to_resolve`` consecutive minutes that were not
      anomalous, whether judged quiet or without any traffic.
    """

    def __init__(
        self, dimension: str, *, update_every_s: int = 300, quiet_windows_to_resolve: int = 3
    ) -> None:
        if update_every_s < 0 or quiet_windows_to_resolve < 1:
            raise ValueError("update_every_s must be >= 0 and quiet_windows_to_resolve >= 1")
        self.dimension = dimension
        self.update_every_s = update_every_s
        self.quiet_windows_to_resolve = quiet_windows_to_resolve
        self._open: dict[str, _OpenAlert] = {}
        # The newest minute seen and the keys already handled for it: anything older, or the
        # same key again, is a replay and is ignored.
        self._minute: int | None = None
        self._done: set[str] = set()
        # key -> the minute that resolved its newest alert: a second look at a minute that
        # alert already covered must not open another one
        self._closed: dict[str, int] = {}

    @property
    def open_alerts(self) -> dict[str, str]:
        """key -> alert_id of every open alert."""
        return {key: alert.alert_id for key, alert in sorted(self._open.items())}

    def step(self, judgement: Judgement, explanation: Explanation, at: float) -> list[AlertEvent]:
        """Account one key's judged minute; ``explanation`` describes that minute's bad
        reviews (the minute ending at ``judgement.window_end``), ``at`` stamps the events."""
        key, minute = judgement.key, judgement.minute_start
        if not self._fresh(key, minute):
            return []
        events: list[AlertEvent] = []
        alert = self._open.get(key)
        if alert is not None and minute < alert.last_minute:
            return []  # before an early-opened alert's window: the alert already covers it
        if alert is not None or judgement.anomalous:
            # Only keys with an alert need the guard: for the others a repeat changes nothing.
            self._done.add(key)
        if alert is not None:
            # Minutes skipped since the last one were without traffic, hence quiet.
            missing = (minute - alert.last_minute) // MINUTE - 1
            if missing > 0 and alert.quiet + missing >= self._quiet_needed(alert):
                events.append(self._resolve_silent(key, alert, at))
                alert = None
            elif missing > 0:
                alert.quiet += missing
        if judgement.anomalous:
            if alert is None:
                events.append(self._open_alert(judgement, explanation, at, last_minute=minute))
                alert = self._open[key]
            else:
                alert.quiet = 0
                _account(alert, judgement, explanation)
                if judgement.window_end - alert.last_emitted >= self.update_every_s:
                    alert.last_emitted = judgement.window_end
                    events.append(self._event("updated", key, alert, judgement, at))
        elif alert is not None:
            alert.quiet += 1
            if alert.quiet >= self._quiet_needed(alert):
                del self._open[key]
                self._closed[key] = minute
                events.append(self._event("resolved", key, alert, judgement, at))
        if alert is not None and key in self._open:
            alert.last_minute = minute
        return events

    def open_late(
        self, judgement: Judgement, explanation: Explanation, at: float
    ) -> list[AlertEvent]:
        """A second look found ``judgement``'s minute, judged quiet before its late
        evaluations came, anomalous: open its alert now, unless an alert already covered that
        minute. With one open for the key, the minute counts as anomalous for it: its quiet
        spell restarts there. An alert opened late resolves only after as many more quiet
        minutes as its evaluations were late (see ``_OpenAlert.late_minutes``)."""
        key, minute = judgement.key, judgement.minute_start
        if not judgement.anomalous:
            return []
        newest = minute if self._minute is None else max(self._minute, minute)
        alert = self._open.get(key)
        if alert is not None:
            if minute >= alert.started:
                alert.quiet = min(alert.quiet, (alert.last_minute - minute) // MINUTE)
                _account(alert, judgement, explanation)
            return []
        if self._closed.get(key, -1) >= judgement.window_start:
            return []
        late = (newest - minute) // MINUTE
        return [
            self._open_alert(
                judgement, explanation, at, last_minute=newest, quiet=late, late_minutes=late
            )
        ]

    def open_early(
        self, judgement: Judgement, explanation: Explanation, at: float
    ) -> list[AlertEvent]:
        """An early look found a minute still in progress anomalous: open its alert now. The
        minute itself is accounted for later, by :meth:`step` with its final counts; minutes
        before the alert's window that are judged after it opened leave it alone."""
        key = judgement.key
        if not judgement.anomalous or key in self._open:
            return []
        if self._closed.get(key, -1) >= judgement.window_start:
            return []
        last_minute = judgement.minute_start - MINUTE
        return [
            self._open_alert(
                judgement, explanation, at, last_minute=last_minute, anomalous_minutes=0
            )
        ]

    def _open_alert(
        self, judgement: Judgement, explanation: Explanation, at: float, **fields: int
    ) -> AlertEvent:
        """Open an alert for ``judgement``'s key: ``alert_id`` from its window, never again
        changed; ``fields``: the _OpenAlert counters that differ by how it was opened."""
        alert = _OpenAlert(
            alert_id=f"{self.dimension}:{judgement.key}:{judgement.window_start}",
            started=judgement.window_start,
            last_emitted=judgement.window_end,
            peak_score=judgement.score,
            explanation=Explanation.merge([explanation]),
            **fields,  # type: ignore[arg-type]
        )
        self._open[judgement.key] = alert
        return self._event("opened", judgement.key, alert, judgement, at)

    def _quiet_needed(self, alert: _OpenAlert) -> int:
        return self.quiet_windows_to_resolve + alert.late_minutes

    def tick(self, window_start: int, at: float | None = None) -> list[AlertEvent]:
        """Close the minute starting at ``window_start``: an open alert whose key got no
        judgement for it counts a quiet minute. Call after the minute's :meth:`step` calls;
        ``at`` defaults to the end of the minute that completed the quiet spell."""
        events: list[AlertEvent] = []
        for key in sorted(self._open):
            alert = self._open[key]
            if alert.last_minute >= window_start or not self._fresh(key, window_start):
                continue
            self._done.add(key)
            quiet = alert.quiet + (window_start - alert.last_minute) // MINUTE
            if quiet >= self._quiet_needed(alert):
                events.append(self._resolve_silent(key, alert, at))
            else:
                alert.quiet = quiet
                alert.last_minute = window_start
        return events

    def _fresh(self, key: str, minute: int) -> bool:
        """False for a minute already handled for ``key``; moves the replay guard forward."""
        if self._minute is not None and minute < self._minute:
            return False
        if self._minute is None or minute > self._minute:
            self._minute = minute
            self._done = set()
            # older closings than an hour can no longer meet a second look
            self._closed = {k: m for k, m in self._closed.items() if minute - m <= _CLOSED_FOR_S}
        return key not in self._done

    def _resolve_silent(self, key: str, alert: _OpenAlert, at: float | None) -> AlertEvent:
        """Resolve at the minute that completed the quiet spell, which had no traffic."""
        minute = alert.last_minute + (self._quiet_needed(alert) - alert.quiet) * MINUTE
        del self._open[key]
        self._closed[key] = minute
        silent = Judgement(
            key=key,
            window_start=minute,
            window_end=minute + MINUTE,
            total=0,
            bad=0,
            expected=0.0,
            expected_rate=0.0,
            p_value=1.0,
            score=0.0,
            anomalous=False,
        )
        return self._event("resolved", key, alert, silent, minute + MINUTE if at is None else at)

    def _event(
        self, state: AlertState, key: str, alert: _OpenAlert, judgement: Judgement, at: float
    ) -> AlertEvent:
        return AlertEvent(
            alert_id=alert.alert_id,
            dimension=self.dimension,  # type: ignore[arg-type]
            key=key,
            state=state,
            bad=judgement.bad,
            total=judgement.total,
            expected=judgement.expected,
            score=judgement.score,
            p_value=min(max(judgement.p_value, 0.0), 1.0),
            window_start=_utc(judgement.window_start),
            window_end=_utc(judgement.window_end),
            at=_utc(at),
            explanation=alert.explanation.to_model(),
            started_at=_utc(alert.started),
            anomalous_minutes=alert.anomalous_minutes,
            peak_score=alert.peak_score,
        )

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible snapshot: the open alerts and the replay guard."""
        return {
            "format": STATE_FORMAT,
            "dimension": self.dimension,
            "minute": self._minute,
            "done": sorted(self._done),
            "closed": dict(sorted(self._closed.items())),
            "open": {key: alert.to_state() for key, alert in sorted(self._open.items())},
        }

    @classmethod
    def from_state(
        cls,
        dimension: str,
        state: Mapping[str, Any],
        *,
        update_every_s: int = 300,
        quiet_windows_to_resolve: int = 3,
    ) -> AlertLifecycle:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported alert lifecycle state format {state.get('format')!r}")
        if state.get("dimension") != dimension:
            raise ValueError(f"state of dimension {state.get('dimension')!r}, not {dimension!r}")
        lifecycle = cls(
            dimension,
            update_every_s=update_every_s,
            quiet_windows_to_resolve=quiet_windows_to_resolve,
        )
        minute = state.get("minute")
        lifecycle._minute = None if minute is None else int(minute)
        lifecycle._done = {str(key) for key in state.get("done", [])}
        lifecycle._closed = {str(k): int(m) for k, m in state.get("closed", {}).items()}
        lifecycle._open = {
            str(key): _OpenAlert.from_state(value) for key, value in state["open"].items()
        }
        return lifecycle


def _account(alert: _OpenAlert, judgement: Judgement, explanation: Explanation) -> None:
    """One more anomalous minute of an open alert."""
    alert.anomalous_minutes += 1
    alert.peak_score = max(alert.peak_score, judgement.score)
    alert.explanation = Explanation.merge([alert.explanation, explanation])


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
