"""Bad-review surge detection: which keys of a dimension got surprisingly many bad reviews in
the minute that just completed.

Pure code, no Faust: the surge step feeds one complete minute of final counts per dimension to
:meth:`SurgeDetector.judge_minute` and hands the judgements to ``streams.surges.lifecycle``.

The statistics, and why
-----------------------
* **Expected rate.** Each key learns its own bad rate as a Beta-binomial posterior mean,
  ``(prior_mean * prior_strength + bad_history) / (prior_strength + total_history)``, over
  exponentially decayed counts (half-life ``half_life_minutes``), so a department's normal
  level can drift over days while one noisy minute barely moves it. The prior keeps a key with
  little history sensible: three evaluations do not define a normal rate. With
  ``learn_prior`` the prior mean is the pooled, decayed bad rate of the whole dimension (seeded
  with ``prior_rate``): a new key is expected to look like its peers, not like a constant
  somebody guessed before the platform had data.
* **Test.** Given the minute's total, bad reviews are binomial; the p-value is the exact
  one-sided tail ``P[X >= bad | total]`` under the posterior predictive, a beta-binomial
  (:func:`betabinom_logsf`, log space, no SciPy). Once a key has a long history it is the
  binomial tail at the expected rate (``predictive=False`` uses that, :func:`binom_logsf`, from
  the start); during the first hours it also allows for the rate being uncertain. Without that,
  a key whose first thousand evaluations happened to be unusually clean gets an expected rate
  half the true one and an ordinary minute looks like a surge: in simulation the plug-in
  binomial raised twice the false alarms during warm-up. Conditioning on the total is what
  makes *more traffic at the usual rate* silent: only the share of bad reviews matters.
* **Lookback.** A surge that straddles a minute boundary, or a small key whose surge is only a
  few reviews a minute, is judged on the sum of the last ``lookback_windows`` minutes too. Each
  key's p-value is the smallest over its windows times ``lookback_windows`` (Bonferroni within
  the key), so the extra windows cost no false-alarm guarantee. A longer window is only looked
  at while the current minute is itself elevated, so a surge that has just ended does not stay
  "anomalous" for another minute on the strength of the previous one.
* **Many keys.** Thousands of keys are tested every minute, so a per-key threshold would page
  somebody many times a day by chance alone. ``alpha`` is a family-wise false-alarm
  probability per dimension per minute. The default correction is Bonferroni over the keys
  that could fire at all (those whose lookback total reaches ``min_bad``; the others have
  probability zero of firing, so leaving them out of the count keeps the union bound): it
  holds whatever the dependence between keys, and each alert stands on its own. ``"bh"``
  (Benjamini-Hochberg) gives the same guarantee on quiet minutes and more power when many keys
  surge together (a platform outage), at the price of controlling only the false share among
  the alerts of such a minute.
* **Materiality.** Significance alone would flag a key with 100,000 evaluations going from 1.0%
  to 1.1%; an alert also needs ``bad >= min_bad`` and an observed rate at least
  ``min_rate_ratio`` times the expected one.
* **Not learning surges.** Minutes that were part of an anomalous window are never learned into
  the history (otherwise a long surge would teach itself normal). Minutes are learned once
  they leave the lookback, so the window being judged never contains its own expectation.

The score is ``-log10(p_value)``: it ranks keys of very different volume on one scale and reads
as "one chance in 10^score"; a z-score would be meaningless for counts of 0–5.

Expected false alarms: at most ``alpha`` per dimension per minute, i.e. with the default 1e-4
at most 0.144 a day (one a week) per dimension, whatever the number of keys. The bound is
approached, not just respected: two-minute sums make the p-values fine-grained, and at
``alpha=1e-3`` a simulation of 200 departments (5–60 evaluations a minute) at a steady 1%
raised 8 false alarms in 28,800 minutes (2.8e-4 per minute, about 0.4 false pages a day per
dimension), hence the stricter default. At 1e-4 the same simulation raised none in 28,800
minutes (one in 24,000 with doubled traffic), while a 30% surge at twice the traffic was still
caught within two minutes in 20/20 runs for departments of 20 evaluations a minute, 18/20 for
10 a minute (19/20 at 1e-3) and 9/20 for 5 a minute (the rest within 3–7 minutes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from runtime.settings import default
from streams.windows import MINUTE

STATE_FORMAT = 1
_LN10 = math.log(10.0)
# Relative accuracy at which a tail sum stops: below double precision, so the sum is exact to
# the last bit that matters.
_TAIL_EPS = 1e-17
# A key whose decayed history weighs less than this share of the prior is indistinguishable
# from a new key, so it is dropped to keep the state bounded by the active keys.
_PRUNE_SHARE = 1e-3
_PRUNE_EVERY_S = 3600


@dataclass(frozen=True, slots=True)
class SurgeConfig:
    """Thresholds of the surge test; the defaults suit department and service keys."""

    alpha: float = default("surge_alpha")
    """Family-wise false-alarm probability per dimension per minute (all keys together):
    1e-4 is at most one false alarm a week per dimension."""

    early_alpha: float = default("surge_early_alpha")
    """The same for each early look at a minute still in progress (streams/surges/minutes.py): a
    tenth of ``alpha``, so that three early looks add at most 30 % to the false alarms, and
    only a clear surge opens an alert before its minute is complete."""

    correction: Literal["bonferroni", "bh"] = "bonferroni"
    """Multiple-testing correction across the keys of a minute (see the module docstring)."""

    min_bad: int = default("surge_min_bad")
    """Fewest bad reviews in the judged window for an alert: below this nobody acts anyway."""

    min_rate_ratio: float = default("surge_min_rate_ratio")
    """Observed bad rate over expected bad rate needed for an alert (materiality)."""

    prior_rate: float = 0.015
    """Bad rate assumed before any data (the prior mean; the pooled rate replaces it when
    ``learn_prior`` is on and the dimension has history)."""

    prior_strength: float = 400.0
    """Weight of the prior, in pseudo-evaluations: a key needs about this many evaluations of
    history before its own rate dominates the expectation."""

    predictive: bool = True
    """Test against the posterior predictive (beta-binomial) instead of a binomial at the
    posterior mean rate. The same test once a key has a long history; while it has little,
    it allows for the rate being uncertain, so a key whose first hours happened to be
    unusually clean is not flagged for an ordinary minute."""

    learn_prior: bool = True
    """Use the dimension's pooled decayed bad rate as the prior mean of every key."""

    half_life_minutes: float = 24 * 60
    """Half-life of history: an evaluation a day old weighs half as much as one just now."""

    lookback_windows: int = 2
    """Window lengths judged, in minutes: 1 judges the minute alone, 2 also the sum of the
    minute and the one before it (catches surges split across a minute boundary, and small
    keys whose surge is a few reviews per minute)."""

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1)")
        if not 0 < self.early_alpha < 1:
            raise ValueError("early_alpha must be in (0, 1)")
        if not 0 < self.prior_rate < 1:
            raise ValueError("prior_rate must be in (0, 1)")
        if self.prior_strength <= 0 or self.half_life_minutes <= 0:
            raise ValueError("prior_strength and half_life_minutes must be positive")
        if self.min_bad < 1 or self.min_rate_ratio < 1:
            raise ValueError("min_bad must be >= 1 and min_rate_ratio >= 1")
        if self.lookback_windows < 1:
            raise ValueError("lookback_windows must be >= 1")
        if self.correction not in ("bonferroni", "bh"):
            raise ValueError(f"unknown correction {self.correction!r}")


class MinuteCounts(NamedTuple):
    """One key's counts of one minute; a plain ``(total, bad)`` tuple works as well."""

    total: int
    bad: int


@dataclass(frozen=True, slots=True)
class Judgement:
    """The verdict on one key for one minute.

    The figures are those of the window that decided: the minute alone, or the last
    ``minutes`` minutes summed (then ``window_start`` is earlier than the judged minute).
    ``window_end`` is always the end of the judged minute.
    """

    key: str
    window_start: int
    window_end: int
    total: int
    bad: int
    expected: float
    """Expected bad reviews in the window: ``total * expected_rate``."""
    expected_rate: float
    p_value: float
    """One-sided tail ``P[X >= bad]`` of the window, times the number of window lengths
    tried (capped at 1)."""
    score: float
    """``-log10(p_value)``, computed in log space so it stays finite when p underflows."""
    anomalous: bool
    threshold: float = 0.0
    """The p-value a key had to reach this minute after the multiple-testing correction."""
    minutes: int = 1

    @property
    def minute_start(self) -> int:
        return self.window_end - MINUTE

    @property
    def rate(self) -> float:
        return self.bad / self.total if self.total else 0.0

    @property
    def rate_ratio(self) -> float:
        return self.rate / self.expected_rate if self.expected_rate > 0 else math.inf


def binom_logsf(k: int, n: int, p: float) -> float:
    """``ln P[X >= k]`` for ``X ~ Binomial(n, p)``, exact to double precision.

    The tail is summed from its largest term outwards with the term ratio, so nothing
    underflows before the logarithm: a p-value of 1e-400 comes back as about -921.
    """
    if k <= 0:
        return 0.0
    if k > n or p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return 0.0
    q = 1.0 - p
    odds = p / q
    if k > n * p:
        # Terms fall from k upwards (k is past the mode), so the sum stops once the geometric
        # bound on what is left is negligible.
        total, term, j = 1.0, 1.0, k
        while j < n:
            ratio = (n - j) / (j + 1) * odds
            term *= ratio
            total += term
            j += 1
            if ratio < 1.0 and term * ratio / (1.0 - ratio) < total * _TAIL_EPS:
                break
        return _binom_logpmf(k, n, p) + math.log(total)
    # k at or below the mean: the lower tail P[X <= k-1] is at most about one half, so its
    # complement loses no precision.
    total, term, j = 1.0, 1.0, k - 1
    while j > 0:
        ratio = j / (n - j + 1) / odds
        term *= ratio
        total += term
        j -= 1
        if ratio < 1.0 and term * ratio / (1.0 - ratio) < total * _TAIL_EPS:
            break
    lower = math.exp(_binom_logpmf(k - 1, n, p)) * total
    return math.log1p(-min(lower, 1.0)) if lower < 1.0 else -math.inf


def betabinom_logsf(k: int, n: int, a: float, b: float) -> float:
    """``ln P[X >= k]`` for ``X ~ BetaBinomial(n, a, b)``: binomial with a Beta(a, b) rate.

    The early stop takes the remaining terms as a geometric series, exact for a log-concave
    pmf (``a, b >= 1``); with ``a < 1`` (a dimension whose bad rate is far below
    ``1 / prior_strength``) every ratio is below 1 anyway and the error stays far below
    double precision.
    """
    if k <= 0:
        return 0.0
    if k > n:
        return -math.inf
    if k > n * a / (a + b):
        total, term, j = 1.0, 1.0, k
        while j < n:
            ratio = (n - j) * (j + a) / ((j + 1) * (n - j - 1 + b))
            term *= ratio
            total += term
            j += 1
            if ratio < 1.0 and term * ratio / (1.0 - ratio) < total * _TAIL_EPS:
                break
        return _betabinom_logpmf(k, n, a, b) + math.log(total)
    total, term, j = 1.0, 1.0, k - 1
    while j > 0:
        ratio = j * (n - j + b) / ((n - j + 1) * (j - 1 + a))
        term *= ratio
        total += term
        j -= 1
        if ratio < 1.0 and term * ratio / (1.0 - ratio) < total * _TAIL_EPS:
            break
    lower = math.exp(_betabinom_logpmf(k - 1, n, a, b)) * total
    return math.log1p(-lower) if lower < 1.0 else -math.inf


def _betabinom_logpmf(k: int, n: int, a: float, b: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + _lbeta(k + a, n - k + b)
        - _lbeta(a, b)
    )


def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _binom_logpmf(k: int, n: int, p: float) -> float:
    return (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )


class _Decayed:
    """Exponentially decayed bad/total counts, as of minute ``at``."""

    __slots__ = ("at", "bad", "total")

    def __init__(self, bad: float = 0.0, total: float = 0.0, at: int | None = None) -> None:
        self.bad = bad
        self.total = total
        self.at = at

    def add(self, bad: float, total: float, at: int, half_life_s: float) -> None:
        if self.at is None:
            self.bad, self.total, self.at = float(bad), float(total), at
        elif at >= self.at:
            factor = _decay(at - self.at, half_life_s)
            self.bad = self.bad * factor + bad
            self.total = self.total * factor + total
            self.at = at
        else:
            # Keys are flushed lazily, so the pooled counts may receive an older minute: decay
            # the minute instead of rewinding the counts.
            factor = _decay(self.at - at, half_life_s)
            self.bad += bad * factor
            self.total += total * factor

    def weight_at(self, at: int, half_life_s: float) -> float:
        """Decay factor that brings the counts to minute ``at``."""
        if self.at is None or at <= self.at:
            return 1.0
        return _decay(at - self.at, half_life_s)

    def to_list(self) -> list[Any]:
        return [self.bad, self.total, self.at]

    @classmethod
    def from_list(cls, data: list[Any]) -> _Decayed:
        bad, total, at = data
        return cls(float(bad), float(total), None if at is None else int(at))


def _decay(seconds: float, half_life_s: float) -> float:
    return math.exp2(-seconds / half_life_s)


class _KeyState:
    """A key's learned history plus its recent minutes, which are not learned yet."""

    __slots__ = ("history", "recent")

    def __init__(
        self, history: _Decayed | None = None, recent: list[list[int]] | None = None
    ) -> None:
        self.history = history if history is not None else _Decayed()
        # [minute_start, total, bad, tainted]: minutes still inside the lookback, oldest first.
        self.recent: list[list[int]] = recent if recent is not None else []


@dataclass(slots=True)
class _Window:
    start: int
    total: int
    bad: int
    minutes: int
    log_p: float
    material: bool


class SurgeDetector:
    """Learns each key's normal bad rate and judges every complete minute of one dimension.

    One instance per dimension: the multiple-testing correction is over the keys judged
    together, and a department's history must not leak into a service's.
    """

    def __init__(self, config: SurgeConfig | None = None) -> None:
        self.config = config if config is not None else SurgeConfig()
        self._keys: dict[str, _KeyState] = {}
        self._pooled = _Decayed()
        self._last_minute: int | None = None
        self._last_prune: int | None = None

    def __len__(self) -> int:
        return len(self._keys)

    # -- judging ------------------------------------------------------------------------------

    def judge_minute(
        self, window_start: int, counts: Mapping[str, tuple[int, int]]
    ) -> dict[str, Judgement]:
        """Judge one complete minute of every key of the dimension, then learn it.

        ``counts`` maps key -> ``(total, bad)`` (see :class:`MinuteCounts`) with the final
        counts of the minute starting at ``window_start``; keys without traffic may be left
        out. Every key given gets a judgement. Minutes must come in order; a minute at or
        before the newest one judged (a replay after a restart) is judged against the current
        state and nothing is learned, so judging it twice changes nothing.
        """
        if window_start % MINUTE:
            raise ValueError(f"window_start {window_start} is not aligned to a minute")
        learn = self._last_minute is None or window_start > self._last_minute
        log_lookback = math.log(self.config.lookback_windows)
        results, checked, candidates = self._score_keys(window_start, counts, learn, log_lookback)
        log_threshold = self._log_threshold(candidates, self.config.alpha)
        judgements = {
            key: _judgement(key, window_start, rate, chosen, can_fire, log_lookback, log_threshold)
            for key, (rate, chosen, can_fire) in results.items()
        }

        if learn:
            for key, judgement in judgements.items():
                self._remember(key, window_start, checked[key], judgement)
            self._last_minute = window_start
            if self._last_prune is None or window_start - self._last_prune >= _PRUNE_EVERY_S:
                self.prune(window_start)
        return judgements

    def revise_minute(
        self, window_start: int, counts: Mapping[str, tuple[int, int]]
    ) -> dict[str, Judgement]:
        """Judge again a minute already judged, with counts that late evaluations raised.

        Judged against the current state, with the same family of keys (every key of the
        minute) as the first look, and nothing new is learned. The key's record of that minute
        takes the new counts while it is still unlearned (inside the lookback), so the windows
        of the following minutes see them; one the revision finds anomalous is never learned.
        """
        if self._last_minute is None or window_start > self._last_minute:
            raise ValueError(f"minute {window_start} was not judged yet")
        judgements, checked = self._judge_only(window_start, counts, self.config.alpha)
        for key, judgement in judgements.items():
            state = self._keys.get(key)
            if state is None:
                continue
            for entry in state.recent:
                if entry[0] == window_start:
                    entry[1], entry[2] = checked[key]
                if judgement.anomalous and judgement.window_start <= entry[0] <= window_start:
                    entry[3] = 1
        return judgements

    def judge_early(
        self, window_start: int, counts: Mapping[str, tuple[int, int]]
    ) -> dict[str, Judgement]:
        """Judge a minute that is still in progress on its counts so far, at the stricter
        ``early_alpha``; nothing is learned or remembered. Under no surge the evaluations so
        far are as much a fair sample of the key's rate as the whole minute, so the test holds
        its level: each early look adds at most ``early_alpha`` to the minute's false alarms."""
        if self._last_minute is not None and window_start <= self._last_minute:
            raise ValueError(f"minute {window_start} was judged already")
        return self._judge_only(window_start, counts, self.config.early_alpha)[0]

    def _judge_only(
        self, window_start: int, counts: Mapping[str, tuple[int, int]], alpha: float
    ) -> tuple[dict[str, Judgement], dict[str, tuple[int, int]]]:
        if window_start % MINUTE:
            raise ValueError(f"window_start {window_start} is not aligned to a minute")
        log_lookback = math.log(self.config.lookback_windows)
        results, checked, candidates = self._score_keys(window_start, counts, False, log_lookback)
        log_threshold = self._log_threshold(candidates, alpha)
        judgements = {
            key: _judgement(key, window_start, rate, chosen, can_fire, log_lookback, log_threshold)
            for key, (rate, chosen, can_fire) in results.items()
        }
        return judgements, checked

    def _score_keys(
        self,
        window_start: int,
        counts: Mapping[str, tuple[int, int]],
        learn: bool,
        log_lookback: float,
    ) -> tuple[dict[str, tuple[float, _Window, bool]], dict[str, tuple[int, int]], list[float]]:
        """Per key: its expected rate, its most telling window and whether it may fire; and
        the log p-values of the testable keys, for the false-alarm control across keys."""
        cfg = self.config
        prior_mean = self._prior_mean(window_start)
        results: dict[str, tuple[float, _Window, bool]] = {}
        checked: dict[str, tuple[int, int]] = {}
        candidates: list[float] = []
        for key in sorted(counts):
            total, bad = checked[key] = _checked(key, counts[key])
            state = self._keys.get(key)
            if state is not None and learn:
                self._flush(state, window_start)
            posterior = self._posterior(state, window_start, prior_mean)
            rate = posterior[0] / (posterior[0] + posterior[1])
            windows = self._windows(state, window_start, total, bad, posterior)
            testable = total > 0 and max(w.total for w in windows) >= cfg.min_bad
            log_p_key = min(0.0, log_lookback + min(w.log_p for w in windows))
            material = [w for w in windows if w.material]
            chosen = min(material or windows, key=lambda w: (w.log_p, w.minutes))
            results[key] = (rate, chosen, testable and bool(material))
            if testable:
                candidates.append(log_p_key)
        return results, checked, candidates

    def expected_rate(self, key: str, window_start: int) -> float:
        """The bad rate ``key`` is expected to have in the minute starting at ``window_start``."""
        a, b = self._posterior(self._keys.get(key), window_start, self._prior_mean(window_start))
        return a / (a + b)

    def _windows(
        self,
        state: _KeyState | None,
        minute: int,
        total: int,
        bad: int,
        posterior: tuple[float, float],
    ) -> list[_Window]:
        cfg = self.config
        rate = posterior[0] / (posterior[0] + posterior[1])
        windows = [self._window(minute, total, bad, 1, posterior)]
        # A longer window only confirms a surge the current minute shows by itself.
        elevated = bad >= 1 and bad >= cfg.min_rate_ratio * total * rate
        if state is None or not elevated:
            return windows
        sum_total, sum_bad = total, bad
        for minutes in range(2, cfg.lookback_windows + 1):
            start = minute - (minutes - 1) * MINUTE
            entry = next((e for e in state.recent if e[0] == start), None)
            if entry is None:
                continue  # no traffic that minute: the same window as a shorter one
            sum_total += entry[1]
            sum_bad += entry[2]
            windows.append(self._window(start, sum_total, sum_bad, minutes, posterior))
        return windows

    def _window(
        self, start: int, total: int, bad: int, minutes: int, posterior: tuple[float, float]
    ) -> _Window:
        cfg = self.config
        a, b = posterior
        rate = a / (a + b)
        material = bad >= cfg.min_bad and bad >= cfg.min_rate_ratio * total * rate
        if cfg.predictive:
            log_p = betabinom_logsf(bad, total, a, b)
        else:
            log_p = binom_logsf(bad, total, rate)
        return _Window(start, total, bad, minutes, log_p, material)

    def _log_threshold(self, log_ps: list[float], alpha: float) -> float:
        cfg = self.config
        m = max(len(log_ps), 1)
        log_alpha = math.log(alpha)
        bonferroni = log_alpha - math.log(m)
        if cfg.correction == "bonferroni":
            return bonferroni
        # Benjamini-Hochberg: the largest rank i whose p-value is at most i * alpha / m.
        cutoff = bonferroni
        for rank, log_p in enumerate(sorted(log_ps), start=1):
            level = log_alpha + math.log(rank / m)
            if log_p <= level:
                cutoff = level
        return cutoff

    # -- learning -----------------------------------------------------------------------------

    def _prior_mean(self, minute: int) -> float:
        cfg = self.config
        if not cfg.learn_prior:
            return cfg.prior_rate
        weight = self._pooled.weight_at(minute, self._half_life_s)
        return (cfg.prior_rate * cfg.prior_strength + self._pooled.bad * weight) / (
            cfg.prior_strength + self._pooled.total * weight
        )

    def _posterior(
        self, state: _KeyState | None, minute: int, prior_mean: float
    ) -> tuple[float, float]:
        """Beta(a, b) belief about the key's bad rate in ``minute``."""
        strength = self.config.prior_strength
        a, b = prior_mean * strength, (1.0 - prior_mean) * strength
        if state is None:
            return a, b
        weight = state.history.weight_at(minute, self._half_life_s)
        bad = state.history.bad * weight
        return a + bad, b + state.history.total * weight - bad

    @property
    def _half_life_s(self) -> float:
        return self.config.half_life_minutes * MINUTE

    def _flush(self, state: _KeyState, minute: int) -> None:
        """Learn the recent minutes that no window ending at ``minute`` can contain."""
        oldest_kept = minute - (self.config.lookback_windows - 1) * MINUTE
        while state.recent and state.recent[0][0] < oldest_kept:
            start, total, bad, tainted = state.recent.pop(0)
            if not tainted and total > 0:
                state.history.add(bad, total, start, self._half_life_s)
                self._pooled.add(bad, total, start, self._half_life_s)

    def _remember(
        self, key: str, minute: int, counts: tuple[int, int], judgement: Judgement
    ) -> None:
        total, bad = counts
        state = self._keys.get(key)
        if state is None:
            if total == 0:
                return
            state = self._keys[key] = _KeyState()
        if judgement.anomalous:
            # The earlier minutes of the deciding window were part of the surge too.
            for entry in state.recent:
                if entry[0] >= judgement.window_start:
                    entry[3] = 1
        if total > 0:
            state.recent.append([minute, total, bad, int(judgement.anomalous)])
        self._flush(state, minute)

    def prune(self, window_start: int) -> int:
        """Forget keys whose history has decayed to nothing; returns how many were dropped.

        Called by :meth:`judge_minute` once an hour of event time; their remaining recent
        minutes are learned first, so the pooled rate loses nothing.
        """
        self._last_prune = window_start
        limit = self.config.prior_strength * _PRUNE_SHARE
        oldest_kept = window_start - (self.config.lookback_windows - 1) * MINUTE
        dropped = 0
        for key in list(self._keys):
            state = self._keys[key]
            if state.recent and state.recent[-1][0] >= oldest_kept:
                continue
            self._flush(state, window_start + self.config.lookback_windows * MINUTE)
            weight = state.history.weight_at(window_start, self._half_life_s)
            if state.history.total * weight < limit:
                del self._keys[key]
                dropped += 1
        return dropped

    # -- durability ---------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible snapshot; :meth:`from_state` restores an identical detector."""
        return {
            "format": STATE_FORMAT,
            "last_minute": self._last_minute,
            "last_prune": self._last_prune,
            "pooled": self._pooled.to_list(),
            "keys": {
                key: {"h": state.history.to_list(), "r": [list(e) for e in state.recent]}
                for key, state in sorted(self._keys.items())
            },
        }

    @classmethod
    def from_state(cls, config: SurgeConfig | None, state: Mapping[str, Any]) -> SurgeDetector:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"unsupported surge detector state format {state.get('format')!r}")
        detector = cls(config)
        detector._last_minute = _opt_int(state.get("last_minute"))
        detector._last_prune = _opt_int(state.get("last_prune"))
        detector._pooled = _Decayed.from_list(state["pooled"])
        detector._keys = {
            str(key): _KeyState(
                _Decayed.from_list(value["h"]), [[int(x) for x in e] for e in value["r"]]
            )
            for key, value in state["keys"].items()
        }
        return detector

    def keys(self) -> Iterable[str]:
        return self._keys.keys()


def _checked(key: str, counts: tuple[int, int]) -> tuple[int, int]:
    total, bad = int(counts[0]), int(counts[1])
    if total < 0 or bad < 0 or bad > total:
        raise ValueError(f"counts of {key!r} must be (total, bad) with 0 <= bad <= total: {counts}")
    return total, bad


def _opt_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _judgement(
    key: str,
    window_start: int,
    rate: float,
    chosen: _Window,
    can_fire: bool,
    log_lookback: float,
    log_threshold: float,
) -> Judgement:
    log_p = min(0.0, log_lookback + chosen.log_p) if chosen.total else 0.0
    return Judgement(
        key=key,
        window_start=chosen.start,
        window_end=window_start + MINUTE,
        total=chosen.total,
        bad=chosen.bad,
        expected=chosen.total * rate,
        expected_rate=rate,
        p_value=math.exp(log_p),
        score=-log_p / _LN10 if log_p < 0 else 0.0,
        anomalous=can_fire and log_p <= log_threshold,
        threshold=math.exp(log_threshold),
        minutes=chosen.minutes,
    )
