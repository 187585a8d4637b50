"""The screener: state per key over event-time windows, and the suspects it finds.

State lives in a mapping (a dict in memory, in the worker and in tests: it is rebuilt from
the facts topic, never serialized, so the facts it keeps are ``ScreenFact`` objects, shared by
every key that keeps one) under keys that start with ``"0|"``, its one partition. Inputs are
kept per key and deduplicated by
evaluation id, and a flag, once raised, is kept with its evaluation: a replay of the same
evaluations finds the same suspects, and a verdict only grows (more reasons), never flips.
Changes are written once per batch (``flush``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from runtime.settings import default
from streams.screening.comments import judge_comment
from streams.screening.facts import ScreenFact
from streams.screening.signals import (
    SENDERS,
    SPANS,
    combined_score,
    expected_share,
    needs_transaction,
    over_limit,
    run_through,
    upper_tail,
    window_start,
)

# how much each reason weighs in an evaluation's score (signals.combined_score)
WEIGHTS: Final[dict[str, float]] = {
    "evaluator_rate": 0.7,
    "device_rate": 0.6,
    "network_rate": 0.5,
    "evaluator_departments": 0.5,
    "window_burst": 0.7,
    "staff_burst": 0.7,
    "window_share": 0.4,
    "no_transaction": 0.4,
    "malicious_comment": 0.5,
}
REASONS: Final[tuple[str, ...]] = tuple(WEIGHTS)
# a hall window and a staff member: where a run of top ratings is looked for
# the attribute of a fact that places a run of top ratings
BURST_PLACES: Final[dict[str, str]] = {"window_burst": "window", "staff_burst": "staff_id"}
TOP_LEVEL: Final = 5
# the field of a fact whose value a reason's evidence names (ScreenRules.evidence); the others
# name none but their rules, except malicious_comment, whose evidence quotes its comment
EVIDENCE_NAMES: Final[dict[str, str]] = {
    "window_burst": "window_code",
    "staff_burst": "staff_id",
    "window_share": "window_code",
    "no_transaction": "channel",
}


# the (sender, span) pairs with a limit, each a setting screen_<sender>_per_<span>
LIMITED = (
    ("evaluator", "minute"),
    ("evaluator", "hour"),
    ("evaluator", "day"),
    ("device", "minute"),
    ("device", "hour"),
    ("device", "day"),
    ("network", "minute"),
    ("network", "hour"),
)


def channel_set(text: str) -> frozenset[str]:
    """Channels from a comma-separated setting."""
    return frozenset(c.strip() for c in text.split(",") if c.strip())


@dataclass(frozen=True, slots=True)
class ScreenRules:
    # (sender, span) → most evaluations one evaluator, device or network makes in that span
    limits: dict[tuple[str, str], int] = field(
        # no day limit for a network: a busy hall's LAN sends thousands a day
        default_factory=lambda: {
            (sender, span): default(f"screen_{sender}_per_{span}") for sender, span in LIMITED
        }
    )
    # distinct departments one evaluator evaluates in a day
    departments_per_day: int = default("screen_departments_per_day")
    burst_run: int = default("screen_burst_run")  # top ratings in a row at one window or staff …
    burst_gap_s: int = default("screen_burst_gap_s")  # … each this soon after the one before
    transaction_channels: frozenset[str] = field(
        default_factory=lambda: channel_set(default("screen_transaction_channels"))
    )
    # a hall window's share of top ratings in an hour, against its usual share: flagged when
    # that many top ratings are less likely than this by chance (per window and hour, so with
    # ~2,500 window-hours a day, 1e-5 is a false alarm about once in 40 days), …
    share_alpha: float = default("screen_share_alpha")
    # … and judged from this many evaluations in the hour on
    share_min_total: int = default("screen_share_min_total")
    share_prior_weight: float = 50.0  # the peers' share counts as this many evaluations
    # state is kept this long past an evaluation's event time (late arrivals older than this
    # start from fresh windows)
    horizon_s: int = default("screen_horizon_hours") * 3600

    def evidence(self, reason: str, fact: ScreenFact) -> str:
        """Why ``fact`` carries ``reason``, in words; the same on every replay."""
        if reason.endswith("_rate"):
            sender = reason.removesuffix("_rate")
            limits = [(span, self.limits.get((sender, span))) for span in SPANS]
            spans = ", ".join(f"{limit}/{span}" for span, limit in limits if limit is not None)
            return f"this {sender} sent more than its limit ({spans})"
        if reason == "evaluator_departments":
            limit = self.departments_per_day
            return f"this evaluator evaluated more than {limit} departments in a day"
        if reason in BURST_PLACES:
            where = getattr(fact, EVIDENCE_NAMES[reason])
            return (
                f"{self.burst_run}+ top ratings in a row at {where}, each within "
                f"{self.burst_gap_s} s of the one before"
            )
        if reason == "window_share":
            return (
                f"far more top ratings in an hour at {fact.window_code} than its usual share and "
                f"its hall's (binomial p < {self.share_alpha:g})"
            )
        if reason == "no_transaction":
            return f"no transaction_id on channel {fact.channel}, which evaluates a transaction"
        if reason == "malicious_comment":
            return judge_comment(fact.comment).evidence()
        return reason


@dataclass(frozen=True, slots=True)
class Suspect:
    fact: ScreenFact
    reasons: tuple[str, ...]  # sorted
    evidence: dict[str, str]

    @property
    def score(self) -> float:
        return combined_score([WEIGHTS.get(r, 0.5) for r in self.reasons])


class Screener:
    PREFIX: Final = "0|"

    def __init__(self, state: MutableMapping[str, Any], rules: ScreenRules | None = None) -> None:
        self._state = state
        self.rules = rules or ScreenRules()
        # per sender, its limited spans: (span, span_s, limit), resolved once, not per fact
        self._limits: tuple[tuple[str, str, tuple[tuple[str, int, int], ...]], ...] = tuple(
            (
                sender,
                f"{sender}_rate",
                tuple(
                    (span, span_s, limit)
                    for span, span_s in SPANS.items()
                    if (limit := self.rules.limits.get((sender, span))) is not None
                ),
            )
            for sender in SENDERS
        )
        self._cache: dict[str, Any] = {}
        self._dirty: set[str] = set()
        self._changed: dict[str, Suspect] = {}
        self._evidence: dict[tuple[str, str], str] = {}
        self.clock = 0  # newest event time seen: the clock of expiry
        # a plain dict (the worker's state, and the tests'): read and written directly, as
        # the cache would hand out (and changes go in place into) its very entries anyway
        self._get: Callable[[str], Any]
        self._put: Callable[[str, Any], None]
        if type(state) is dict:
            self._get, self._put = state.get, state.__setitem__
        else:
            self._get, self._put = self._get_cached, self._put_cached

    # --- state, written once per batch ------------------------------------------------------

    def _get_cached(self, key: str) -> Any:
        if key not in self._cache:
            self._cache[key] = self._state.get(key)
        return self._cache[key]

    def _put_cached(self, key: str, value: Any) -> None:
        self._cache[key] = value
        self._dirty.add(key)

    def flush(self) -> None:
        for key in sorted(self._dirty):
            value = self._cache[key]
            if value is None:
                if self._state.get(key) is not None:
                    del self._state[key]
            else:
                self._state[key] = value
        self._dirty.clear()
        self._cache.clear()

    # --- screening --------------------------------------------------------------------------

    def screen(self, facts: Iterable[ScreenFact]) -> list[Suspect]:
        """Screen a batch; returns the suspects whose verdict this batch changed (new ones,
        and ones with a new reason), each once."""
        self._changed = {}
        for fact in facts:
            self.clock = max(self.clock, fact.at)
            self._screen_one(fact)
        self.flush()
        return list(self._changed.values())

    def _screen_one(self, fact: ScreenFact) -> None:
        rules = self.rules
        kept = fact.without_comment()  # what windows keep of it, made once
        if needs_transaction(fact.channel, fact.has_transaction, rules.transaction_channels):
            self._flag(fact, "no_transaction")
        if fact.level <= 2 and fact.comment and judge_comment(fact.comment).flagged:
            self._flag(fact, "malicious_comment")
        at = fact.at
        for sender, reason, spans in self._limits:
            if who := getattr(fact, sender):
                for span, span_s, limit in spans:
                    key = f"{self.PREFIX}r|{sender}|{span}|{who}|{window_start(at, span_s)}"
                    self._count(key, fact, kept, limit, reason)
        if fact.evaluator:
            self._departments(fact, kept)
        if fact.window_code:
            self._share(fact, kept)
        if fact.level == TOP_LEVEL:
            for reason, place in BURST_PLACES.items():
                if where := getattr(fact, place):
                    self._burst(f"{self.PREFIX}b|{place}|{where}", fact, kept, reason)

    def _count(self, key: str, fact: ScreenFact, kept: ScreenFact, limit: int, reason: str) -> None:
        entry = self._get(key) or {"ids": {}}
        if entry.get("over"):
            self._flag(fact, reason)
            return
        ids: dict[str, ScreenFact] = entry["ids"]
        if fact.evaluation_id in ids:
            return  # a replay: counted already
        ids[fact.evaluation_id] = kept
        if over_limit(len(ids), limit):
            for stored in ids.values():
                self._flag(stored, reason)
            # once over, every further evaluation in the window is flagged: the ids kept so
            # far are not needed to decide anything any more
            self._put(key, {"over": 1, "at": fact.at})
        else:
            entry["at"] = fact.at  # in place, as its ids are: one dict less per fact and span
            self._put(key, entry)

    def _departments(self, fact: ScreenFact, kept: ScreenFact) -> None:
        key = f"{self.PREFIX}d|{fact.evaluator}|{window_start(fact.at, 86_400)}"
        entry = self._get(key) or {"depts": {}}
        if entry.get("over"):
            self._flag(fact, "evaluator_departments")
            return
        depts: dict[str, dict[str, ScreenFact]] = entry["depts"]
        mine = depts.setdefault(fact.department_code, {})
        if fact.evaluation_id in mine:
            return
        mine[fact.evaluation_id] = kept
        if len(depts) > self.rules.departments_per_day:
            for stored in (f for d in depts.values() for f in d.values()):
                self._flag(stored, "evaluator_departments")
            self._put(key, {"over": 1, "at": fact.at})
        else:
            self._put(key, {"depts": depts, "at": fact.at})

    def _burst(self, key: str, fact: ScreenFact, kept: ScreenFact, reason: str) -> None:
        rules = self.rules
        entry = self._get(key) or {"top": {}}
        top: dict[str, ScreenFact] = entry["top"]
        # "at": the newest rating's time, "low": the oldest's (so neither is looked for)
        newest = max(fact.at, entry.get("at", fact.at))
        # what can no longer join a run with anything still to come (within the horizon)
        keep_from = newest - rules.horizon_s
        if fact.at < keep_from:
            return
        low = entry.get("low", fact.at)
        if low < keep_from:
            top = {eid: f for eid, f in top.items() if f.at >= keep_from}
            low = min((f.at for f in top.values()), default=fact.at)
        top[fact.evaluation_id] = kept
        self._put(key, {"top": top, "at": newest, "low": min(low, fact.at)})
        # a run through this rating spans at most run-length gaps on each side of it, and
        # whatever lies further out cannot be in it: only those are sorted
        reach = rules.burst_gap_s * max(rules.burst_run, len(top))
        near = [(f.at, eid) for eid, f in top.items() if abs(f.at - fact.at) <= reach]
        run = run_through(near, fact.evaluation_id, rules.burst_gap_s)
        if run is not None and len(run.members) >= rules.burst_run:
            for eid in run.members:
                self._flag(top[eid], reason)

    def _share(self, fact: ScreenFact, kept: ScreenFact) -> None:
        """The window's top ratings this hour against its own history and its hall's."""
        rules = self.rules
        # fact.window, not its code: a code is unique within its hall only, and the share
        # needs hour ⊆ history ⊆ hall
        window = fact.window
        hour_key = f"{self.PREFIX}q|{window}|{window_start(fact.at, 3600)}"
        hour = self._get(hour_key) or {"ids": [], "top": {}}
        if fact.evaluation_id in hour["ids"]:
            return  # a replay: counted already
        is_top = fact.level == TOP_LEVEL
        hour["ids"].append(fact.evaluation_id)
        if is_top:
            hour["top"][fact.evaluation_id] = kept
        history_key = f"{self.PREFIX}Q|{window}"
        peers_key = f"{self.PREFIX}P|{fact.hall_code}"
        counts = {}
        for key in (history_key, peers_key):
            seen = self._get(key) or {"n": 0, "top": 0, "at": fact.at}
            # the newest time, not the last one's: expiry must not drop a window's history
            # while an hour of it that came earlier stays (facts come out of order)
            at = max(seen["at"], fact.at)
            seen = {"n": seen["n"] + 1, "top": seen["top"] + int(is_top), "at": at}
            self._put(key, seen)
            counts[key] = seen
        if hour.get("over"):
            self._put(hour_key, {**hour, "at": fact.at})
            if is_top:
                self._flag(fact, "window_share")
            return
        n, top = len(hour["ids"]), len(hour["top"])
        if n >= rules.share_min_total:
            history, peers = counts[history_key], counts[peers_key]
            usual = expected_share(
                history["top"] - top,
                history["n"] - n,
                peers["top"] - top,
                peers["n"] - n,
                rules.share_prior_weight,
            )
            if upper_tail(top, n, usual) < rules.share_alpha:
                for stored in hour["top"].values():
                    self._flag(stored, "window_share")
                hour["over"] = 1
        self._put(hour_key, {**hour, "at": fact.at})

    def _flag(self, fact: ScreenFact, reason: str) -> None:
        key = f"{self.PREFIX}s|{fact.evaluation_id}"
        entry = self._get(key)
        reasons = set(entry["r"]) if entry else set()
        if reason in reasons:
            return
        reasons.add(reason)
        ordered = sorted(reasons)
        if entry and not fact.comment:
            # facts kept in windows have no comment; the flag keeps the fullest one
            fact = entry["f"]
        self._put(key, {"f": fact, "r": ordered, "at": fact.at})
        self._changed[fact.evaluation_id] = Suspect(
            fact, tuple(ordered), {r: self._evidence_of(r, fact) for r in ordered}
        )

    def _evidence_of(self, reason: str, fact: ScreenFact) -> str:
        """``rules.evidence``, made once per reason and what its words name (a window, a
        staff member, a channel); a comment's is made each time."""
        if reason == "malicious_comment":
            return self.rules.evidence(reason, fact)
        where = EVIDENCE_NAMES.get(reason)
        key = (reason, getattr(fact, where) if where else "")
        found = self._evidence.get(key)
        if found is None:
            found = self._evidence[key] = self.rules.evidence(reason, fact)
        return found

    # --- expiry -----------------------------------------------------------------------------

    def expire(self, now: int | None = None) -> int:
        """Drop what no evaluation within the horizon can still reach; returns how many."""
        clock = self.clock if now is None else now
        if clock <= 0:
            return 0
        cutoff = clock - self.rules.horizon_s
        dropped = 0
        for key in list(self._state):
            value = self._state.get(key)
            if isinstance(value, dict) and value.get("at", cutoff) < cutoff:
                del self._state[key]
                dropped += 1
        return dropped


def evaluated_at(fact: ScreenFact) -> datetime:
    return datetime.fromtimestamp(fact.at, UTC)
