"""The simulator: one seeded generator of every message (see the package docstring)."""

from __future__ import annotations

import json
import math
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from random import Random
from typing import Any

from channels.arrival import ArrivalDelays
from channels.simulation.messages import (
    FRAUD_SCENARIOS,
    KIND_DUPLICATE,
    KIND_DUPLICATE_TRANSACTION,
    KIND_VALID,
    MALFORMED_PREFIX,
    MALFORMED_REASONS,
    Scenario,
    SimulatedMessage,
    _channel_name,
    _iso,
    _parse,
    encode_message,
    message_key,
)
from channels.simulation.rhythm import (
    _MEAN_BURST,
    hall_address,
    halls_open,
    office_intensity,
    public_address,
)
from channels.simulation.vocabulary import (
    _CHANNEL_BAD_FACTOR,
    _COMMENTS,
    _MAIL_DOMAINS,
    _MOBILE_PREFIXES,
    _SURGE_COMMENTS_HALL,
    _SURGE_COMMENTS_ONLINE,
    _SURNAMES,
    CAMPAIGN_COMMENTS,
    CHANNEL_MIX,
    HALL_CHANNELS,
    SCORE_INDICATORS_HALL,
    SCORE_INDICATORS_ONLINE,
    SOURCE,
    SURGE_TAGS,
    TAGS_BY_LEVEL,
)
from channels.simulation.windows import WindowPace
from runtime.clock import CHINA
from schemas.catalogue import (
    DEPARTMENTS,
    DISTRICT_BY_CODE,
    DISTRICTS,
    HALLS_BY_DISTRICT,
    Department,
    Hall,
    ServiceItem,
    uscc,
)
from schemas.codes import Channel

# room for the largest burst (evaluator_flood's 30) before a stream's end: where one that has
# planted nothing yet plants its one, so it is not cut short
_LAST_BURST = 40


def _cumulative(weights: Sequence[float]) -> list[float]:
    acc = 0.0
    out = []
    for w in weights:
        acc += w
        out.append(acc)
    return out


@dataclass
class _Sent:
    evaluation: dict[str, Any]
    message: SimulatedMessage


class Simulator:
    """Seeded generator of raw evaluations; see the module docstring for the scenarios.

    bad_rate: overall share of levels 1–2 (default 1.5%); the rest splits ~87/10/3 over
    levels 5/4/3. pii_rate: share of evaluations whose comment carries a phone number, an
    e-mail address or an ID number that ingest must scrub. followup_rate: share of evaluations
    that are a 追评 (round 2) of an earlier evaluated transaction. pf_code_rate: share that
    sends the numeric pf channel code ("4") instead of the name.
    """

    def __init__(
        self,
        seed: int = 42,
        *,
        departments: Sequence[Department] | None = None,
        bad_rate: float = 0.015,
        pii_rate: float = 0.02,
        followup_rate: float = 0.02,
        pf_code_rate: float = 0.05,
        comment_rate: float | None = None,
    ) -> None:
        if not 0 <= bad_rate <= 1:
            raise ValueError("bad_rate must be within [0, 1]")
        if not 0 <= pii_rate <= 1:
            raise ValueError("pii_rate must be within [0, 1]")
        self.rng = Random(seed)
        self.departments: tuple[Department, ...] = tuple(departments or DEPARTMENTS)
        if not self.departments:
            raise ValueError("departments must not be empty")
        self.bad_rate = bad_rate
        self.pii_rate = pii_rate
        self.followup_rate = followup_rate
        self.pf_code_rate = pf_code_rate
        self.comment_rate = comment_rate
        self._dept_cum = _cumulative([d.weight for d in self.departments])
        self._service_cum = {
            d.code: _cumulative([s.weight for s in d.services]) for d in self.departments
        }
        self._district_cum = _cumulative([d.population_10k for d in DISTRICTS])
        nominal = sum(CHANNEL_MIX[c] * f for c, f in _CHANNEL_BAD_FACTOR.items())
        self._bad_factor = {c: f / nominal for c, f in _CHANNEL_BAD_FACTOR.items()}
        # Where transaction numbers start: apart for different seeds, so that two runs (the
        # demo's traffic and its planted fakes) do not give two transactions one id, which
        # the pipeline would rightly reject as a second evaluation of one transaction.
        self._txn_seq = Random(seed).randrange(10**8)
        # Recent first-round evaluations that may still get a 追评; bounded, like a real
        # channel backend only offering follow-ups for recent transactions.
        self._followup_pool: deque[dict[str, Any]] = deque(maxlen=5000)
        self._recent: deque[_Sent] = deque(maxlen=1000)
        self._malformed_cursor = self.rng.randrange(len(MALFORMED_REASONS))
        # devices, addresses and planted fakes: a generator of their own, so adding them did
        # not change the evaluations a seed gives
        self.net_rng = Random(seed * 7919 + 17)
        self.windows = WindowPace()

    # --- picking --------------------------------------------------------------------------

    @property
    def default_surge_department(self) -> Department:
        """The department that surges when none is named: 市医保局 if present, else the first."""
        for d in self.departments:
            if d.short_name == "市医保局":
                return d
        return self.departments[0]

    def department(self, code: str) -> Department:
        for d in self.departments:
            if d.code == code:
                return d
        raise KeyError(f"unknown department code {code!r}")

    def service(self, code: str) -> tuple[Department, ServiceItem]:
        for d in self.departments:
            for s in d.services:
                if s.code == code:
                    return d, s
        raise KeyError(f"unknown service code {code!r}")

    def _pick_department(self, exclude: str | None = None) -> Department:
        while True:
            d = self.rng.choices(self.departments, cum_weights=self._dept_cum)[0]
            if d.code != exclude or len(self.departments) == 1:
                return d

    def _pick_service(self, dept: Department, exclude: str | None = None) -> ServiceItem:
        while True:
            s = self.rng.choices(dept.services, cum_weights=self._service_cum[dept.code])[0]
            if s.code != exclude or len(dept.services) == 1:
                return s

    def _pick_channel(self, open_halls: bool) -> str:
        while True:
            c = self.rng.choices(tuple(CHANNEL_MIX), weights=tuple(CHANNEL_MIX.values()))[0]
            if open_halls or c not in HALL_CHANNELS:
                return c

    def _pick_hall(self, dept: Department) -> Hall:
        if dept.region_code in DISTRICT_BY_CODE:
            district_code = dept.region_code
        else:
            district_code = self.rng.choices(DISTRICTS, cum_weights=self._district_cum)[0].code
        return self.rng.choice(HALLS_BY_DISTRICT[district_code])

    def _pick_level(self, channel: str) -> int:
        bad = min(1.0, self.bad_rate * self._bad_factor[channel])
        u = self.rng.random()
        if u < bad:
            return 1 if self.rng.random() < 0.55 else 2
        return self._good_level()

    def _tags(self, level: int) -> list[str]:
        pool = TAGS_BY_LEVEL[level]
        # Unhappy people tick boxes; happy people mostly just tap five stars.
        weights = (0.45, 0.35, 0.15, 0.05) if level >= 4 else (0.15, 0.45, 0.3, 0.1)
        k = self.rng.choices((0, 1, 2, 3), weights=weights)[0]
        return sorted(self.rng.sample(pool, k))

    def _comment(self, level: int) -> str | None:
        rate = self.comment_rate
        if rate is None:
            rate = {5: 0.3, 4: 0.3, 3: 0.45, 2: 0.8, 1: 0.85}[level]
        if self.rng.random() >= rate:
            return None
        return self.rng.choice(_COMMENTS[level])

    def _scores(self, level: int, channel: str) -> dict[str, int] | None:
        if self.rng.random() >= 0.4:
            return None
        indicators = SCORE_INDICATORS_HALL if channel in HALL_CHANNELS else SCORE_INDICATORS_ONLINE
        return {
            name: max(1, min(5, level + self.rng.choice((-1, 0, 0, 0, 0, 1))))
            for name in indicators
        }

    # --- fake personal data ----------------------------------------------------------------

    def mobile_number(self) -> str:
        return self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def email(self) -> str:
        name = (
            self.rng.choice(_SURNAMES)
            + self.rng.choice(("", ".", "_"))
            + str(self.rng.randrange(1, 9999))
        )
        return f"{name}@{self.rng.choice(_MAIL_DOMAINS)}"

    def id_number(self) -> str:
        """An 18-digit 居民身份证号 with a valid GB 11643 check character."""
        district = self.rng.choice(DISTRICTS).code
        birth = datetime(1950, 1, 1) + timedelta(days=self.rng.randrange(365 * 55))
        body = f"{district}{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        total = sum(int(ch) * w for ch, w in zip(body, weights, strict=True))
        return body + "10X98765432"[total % 11]

    def _with_pii(self, comment: str | None, level: int) -> str:
        base = comment or self.rng.choice(_COMMENTS[level])
        kind = self.rng.choice(("phone", "email", "id"))
        if kind == "phone":
            return f"{base}，有问题请联系我{self.mobile_number()}"
        if kind == "email":
            return f"{base}。结果请发我邮箱{self.email()}"
        return f"{base}，我的身份证号{self.id_number()}"

    def _evaluator(self, dept: Department) -> tuple[str | None, int | None]:
        if self.rng.random() < 0.12:
            return None, None  # anonymous evaluations exist on several channels
        if self.rng.random() < dept.enterprise_share:
            region = self.rng.choice(DISTRICTS).code
            return uscc("91", region, f"MA{self.rng.randrange(36**6):06X}"[:8]), 2
        if self.rng.random() < 0.25:
            return self.mobile_number(), 1  # logged in with the phone number
        return f"U{self.rng.randrange(10**11):011d}", 1

    # --- evaluations ----------------------------------------------------------------------

    def _evaluation_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _transaction_id(self, region_code: str, at: datetime) -> str:
        # A sequence number guarantees uniqueness; the random part keeps ids from looking
        # sequential to anything that might (wrongly) rely on ordering.
        self._txn_seq += 1
        return f"{region_code[:6]}{at.astimezone(CHINA):%Y%m%d}{self.rng.randrange(100):02d}" + (
            f"{self._txn_seq:09d}"
        )

    def evaluation(
        self,
        at: datetime,
        *,
        department: Department | None = None,
        service: ServiceItem | None = None,
        level: int | None = None,
        open_halls: bool | None = None,
        followups: bool = True,
    ) -> dict[str, Any]:
        """One valid raw evaluation at event time `at` (timezone-aware).

        department/service/level pin those choices (a service implies its department);
        open_halls says whether hall channels may be used (default: office hours of `at`).
        With probability `followup_rate` (when `followups` and nothing is pinned) the result
        is a 追评 of an earlier first-round evaluation.
        """
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        if open_halls is None:
            open_halls = halls_open(at)
        if (
            followups
            and department is None
            and service is None
            and level is None
            and self._followup_pool
            and self.rng.random() < self.followup_rate
        ):
            followup = self._followup(at)
            if followup is not None:
                return followup
        if service is not None and department is None:
            department, _ = self.service(service.code)
        dept = department or self._pick_department()
        item = service or self._pick_service(dept)
        channel = self._pick_channel(open_halls)
        lvl = level if level is not None else self._pick_level(channel)
        return self._build(at, dept, item, channel, lvl, self._tags(lvl), self._comment(lvl))

    def surge_evaluation(
        self,
        at: datetime,
        department_code: str | None = None,
        service_code: str | None = None,
        *,
        open_halls: bool | None = None,
    ) -> dict[str, Any]:
        """A bad review (level 1 or 2) in the surging department or service.

        Tags and comments describe what surges are made of in practice: an outage of the
        online system, or a queue in the halls.
        """
        if open_halls is None:
            open_halls = halls_open(at)
        if service_code is not None:
            dept, item = self.service(service_code)
        else:
            dept = (
                self.department(department_code)
                if department_code is not None
                else self.default_surge_department
            )
            item = self._pick_service(dept)
        channel = self._pick_channel(open_halls)
        level = 1 if self.rng.random() < 0.6 else 2
        k = self.rng.choice((1, 1, 2, 2, 3))
        tags = sorted(self.rng.sample(SURGE_TAGS[level], k))
        comments = _SURGE_COMMENTS_HALL if channel in HALL_CHANNELS else _SURGE_COMMENTS_ONLINE
        comment = self.rng.choice(comments) if self.rng.random() < 0.9 else None
        return self._build(at, dept, item, channel, level, tags, comment)

    def _build(
        self,
        at: datetime,
        dept: Department,
        item: ServiceItem,
        channel: str,
        level: int,
        tags: list[str],
        comment: str | None,
    ) -> dict[str, Any]:
        hall = self._pick_hall(dept) if channel in HALL_CHANNELS else None
        region_code = hall.region_code if hall is not None else dept.region_code
        # 综合点评 on the portal is not tied to a transaction; a few online ones lack it.
        has_txn = channel not in ("web", "app") or self.rng.random() >= 0.03
        evaluator_id, evaluator_type = self._evaluator(dept)
        if self.rng.random() < self.pii_rate:
            comment = self._with_pii(comment, level)
        scores = self._scores(level, channel)
        channel_value = (
            str(Channel(channel).pf) if self.rng.random() < self.pf_code_rate else channel
        )
        ev: dict[str, Any] = {"evaluation_id": self._evaluation_id()}
        if has_txn:
            ev["transaction_id"] = self._transaction_id(region_code, at)
        ev["evaluation_round"] = 1
        ev["service_code"] = item.code
        ev["service_name"] = item.name
        ev["department_code"] = dept.code
        ev["department_name"] = dept.name
        ev["region_code"] = region_code
        ev["channel"] = channel_value
        ev["level"] = level
        ev["tags"] = tags
        if comment is not None:
            ev["comment"] = comment
        if scores is not None:
            ev["scores"] = scores
        if evaluator_id is not None:
            ev["evaluator_id"] = evaluator_id
            ev["evaluator_type"] = evaluator_type
        if hall is not None:
            ev["hall_code"] = hall.code
            if channel != "kiosk":  # a kiosk stands in the hall, not at a window
                window = self.windows.seat(hall, self.rng.choice(hall.windows), at)
                ev["window_code"] = window.code
                ev["staff_id"] = self.rng.choice(window.staff_ids)
        self._client(ev, channel, hall)
        ev["evaluated_at"] = _iso(at)
        ev["source"] = SOURCE
        if has_txn:
            self._followup_pool.append(ev)
        return ev

    def _client(self, ev: dict[str, Any], channel: str, hall: Hall | None) -> None:
        """device_id and client_ip as each channel knows them."""
        r = self.net_rng
        if hall is not None and channel in ("counter", "kiosk"):
            where = ev.get("window_code") or hall.code
            ev["device_id"] = ("PAD-" if channel == "counter" else "KIOSK-") + where
            ev["client_ip"] = hall_address(hall.code, r.randrange(2, 250))
        elif channel == "app":
            ev["device_id"] = f"APP-{r.getrandbits(48):012x}"
            ev["client_ip"] = public_address(r)
        elif channel in ("web", "qrcode"):
            ev["client_ip"] = public_address(r)

    def _followup(self, at: datetime) -> dict[str, Any] | None:
        """A 追评: round 2 of an earlier transaction, usually after the case was concluded."""
        original = self._followup_pool.popleft()
        if _parse(original["evaluated_at"]) >= at:
            return None
        channel = _channel_name(original["channel"])
        if channel in HALL_CHANNELS:
            # Nobody goes back to the hall to add a 追评: it comes by SMS link or the app,
            # still about the hall, window and staff member that served them.
            channel = self.rng.choice(("sms", "app"))
        level = self._pick_level(channel)
        comment = self._comment(level)
        if self.rng.random() < self.pii_rate:
            comment = self._with_pii(comment, level)
        ev: dict[str, Any] = {
            "evaluation_id": self._evaluation_id(),
            "transaction_id": original["transaction_id"],
            "evaluation_round": 2,
        }
        for field in (
            "service_code",
            "service_name",
            "department_code",
            "department_name",
            "region_code",
        ):
            ev[field] = original[field]
        # Same channel: keep the producer's spelling of it (name or pf code).
        same = channel == _channel_name(original["channel"])
        ev["channel"] = original["channel"] if same else channel
        ev["level"] = level
        ev["tags"] = self._tags(level)
        if comment is not None:
            ev["comment"] = comment
        for field in ("evaluator_id", "evaluator_type", "hall_code", "window_code", "staff_id"):
            if field in original:
                ev[field] = original[field]
        ev["evaluated_at"] = _iso(at)
        ev["source"] = SOURCE
        return ev

    # --- broken messages -------------------------------------------------------------------

    def malformed(self, at: datetime, reason: str) -> SimulatedMessage:
        """A message that ingest must reject with `reason` (one of MALFORMED_REASONS)."""
        if reason not in MALFORMED_REASONS:
            raise ValueError(f"unknown malformed reason {reason!r}")
        ev = self.evaluation(at, followups=False, open_halls=True)
        # Keep the broken copy out of the follow-up pool: a 追评 of it would be "valid" but
        # refer to a transaction the pipeline never accepted.
        if self._followup_pool and self._followup_pool[-1] is ev:
            self._followup_pool.pop()
        kind = MALFORMED_PREFIX + reason
        key = message_key(ev)
        if reason == "not_utf8":
            # A legacy channel sending GBK instead of UTF-8; the comment guarantees non-ASCII.
            ev.setdefault("comment", self.rng.choice(_COMMENTS[ev["level"]]))
            raw = json.dumps(ev, ensure_ascii=False, separators=(",", ":")).encode("gbk")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                raw = b"\xff" + raw
            return SimulatedMessage(key=key, value=raw, kind=kind, at=at)
        if reason == "not_json":
            text = json.dumps(ev, ensure_ascii=False, separators=(",", ":"))
            # Truncated in transit: an object without its closing brace is never valid JSON.
            cut = self.rng.randrange(len(text) // 3, len(text) - 1)
            return SimulatedMessage(key=key, value=text[:cut].encode("utf-8"), kind=kind, at=at)
        if reason == "not_object":
            # A channel batching evaluations into one array instead of one message each.
            raw = json.dumps([ev], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            return SimulatedMessage(key=key, value=raw, kind=kind, at=at)
        if reason == "missing_field":
            del ev["department_code"]
        elif reason == "invalid_level":
            ev["level"] = 7
            ev["tags"] = []  # so the level, not a tag, is the only thing wrong
        elif reason == "unknown_channel":
            ev["channel"] = "fax"
        elif reason == "tag_level_mismatch":
            ev["level"] = 5
            ev["tags"] = ["115"]
        elif reason == "invalid_region_code":
            ev["region_code"] = "31A101"
        elif reason == "naive_timestamp":
            ev["evaluated_at"] = (
                at.astimezone(CHINA).replace(tzinfo=None).isoformat(timespec="milliseconds")
            )
        elif reason == "future_event":
            ev["evaluated_at"] = _iso(at + timedelta(days=1))
        elif reason == "field_too_long":
            sentence = "材料要求不清楚，跑了三次还没办成。"
            ev["comment"] = (sentence * (3000 // len(sentence) + 1))[:3000]
        return encode_message(ev, kind, at=at)

    # --- streams ----------------------------------------------------------------------------

    def stream(
        self,
        count: int,
        *,
        scenario: str | Scenario = "steady",
        start: datetime | None = None,
        rate_per_s: float | None = None,
        rhythm: bool = True,
        surge_department: str | None = None,
        surge_service: str | None = None,
        arrival_delays: bool = False,
    ) -> Iterator[SimulatedMessage]:
        """`count` messages for `ratings.raw` (see the module docstring), lazily.

        surge_department / surge_service (codes) override the scenario's; they only matter
        for scenarios with a surge. Arguments are checked here, before the first message:
        an unknown scenario or code raises ValueError / KeyError from this call.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        peak = rate_per_s if rate_per_s is not None else 5.0
        if peak <= 0:
            raise ValueError("rate_per_s must be > 0")
        sc = scenario if isinstance(scenario, Scenario) else Scenario.named(scenario)
        if surge_department is not None or surge_service is not None:
            sc = replace(sc, surge_department=surge_department, surge_service=surge_service)
        surge_dept, surge_item = self._surge_target(sc)
        return self._generate(
            count,
            sc,
            start=start.astimezone(CHINA) if start is not None else None,
            peak=peak,
            rhythm=rhythm,
            surge_dept=surge_dept,
            surge_item=surge_item,
            delays=ArrivalDelays(self.rng) if arrival_delays else None,
        )

    def _generate(
        self,
        count: int,
        sc: Scenario,
        *,
        start: datetime | None,
        peak: float,
        rhythm: bool,
        surge_dept: Department,
        surge_item: ServiceItem | None,
        delays: ArrivalDelays | None = None,
    ) -> Iterator[SimulatedMessage]:
        surge_from = math.ceil(count * sc.surge_from) if sc.surge else count
        surge_share = self._surge_share(sc, surge_dept, surge_item)
        fraud_from = math.ceil(count * sc.fraud_from) if sc.fraud else count
        burst_chance = sc.fraud_share / _MEAN_BURST.get(sc.fraud, 1.0)
        planted = False
        clock = start
        # messages ready to send: more than one when a hall pad syncs its queue
        ready: deque[SimulatedMessage] = deque()
        i = 0
        while i < count:
            if ready:
                yield ready.popleft()
                i += 1
                continue
            if clock is None:
                at = datetime.now(CHINA)
                open_halls: bool | None = True
            else:
                clock = self._advance(clock, peak, rhythm)
                at = clock
                open_halls = None if rhythm else True
            # the draw comes first, so a stream that plants by chance is what it always was;
            # one that has not by the end plants there, whole (a demo's 3,000 planted none
            # about one run in eighty, and its screening check then checked nothing)
            if i >= fraud_from and (
                self.net_rng.random() < burst_chance or (not planted and count - i <= _LAST_BURST)
            ):
                ready.extend(self.planted_burst(sc.fraud, at))
                planted = True
                continue
            message = self._next_message(
                at, i >= surge_from, sc, surge_dept, surge_item, surge_share, open_halls
            )
            if delays is None or message.kind != KIND_VALID:
                ready.append(message)
            else:
                ready.extend(self._arriving(message, at, delays))

    # --- planted fakes (issue 16) ---------------------------------------------------------

    def planted_burst(self, scenario: str, at: datetime) -> list[SimulatedMessage]:
        """One burst of fake or malicious evaluations from ``at`` on, each marked planted."""
        r = self.net_rng
        out = []
        if scenario == "staff_farming":
            dept, hall, window = self._farmed_window()
            when = at
            for _ in range(r.randint(8, 20)):
                item = self._pick_service(dept)
                ev = self._build(when, dept, item, "counter", 5, self._tags(5), None)
                ev.update(
                    region_code=hall.region_code,
                    hall_code=hall.code,
                    window_code=window.code,
                    staff_id=window.staff_ids[0],
                    device_id=f"PAD-{window.code}",
                    client_ip=hall_address(hall.code, 9),
                )
                out.append(encode_message(ev, KIND_VALID, at=when, planted=scenario))
                when += timedelta(seconds=r.uniform(2, 8))
        elif scenario == "evaluator_flood":
            k = r.randrange(3)
            when = at
            for _ in range(r.randint(10, 30)):
                dept = self.departments[r.randrange(len(self.departments))]
                item = self._pick_service(dept)
                ev = self._build(when, dept, item, "app", 5, self._tags(5), None)
                ev.update(
                    evaluator_id=f"U9{k:010d}",
                    evaluator_type=1,
                    device_id=f"APP-FLOOD{k}",
                    client_ip=f"203.0.113.{10 + k}",
                )
                out.append(encode_message(ev, KIND_VALID, at=when, planted=scenario))
                when += timedelta(seconds=r.uniform(5, 30))
        elif scenario == "malicious_campaign":
            dept = self._campaign_target()
            when = at
            for _ in range(r.randint(3, 8)):
                k = r.randrange(5)
                item = self._pick_service(dept)
                channel = r.choice(("web", "app"))
                tags = sorted(r.sample(TAGS_BY_LEVEL[1], 1))
                ev = self._build(when, dept, item, channel, 1, tags, r.choice(CAMPAIGN_COMMENTS))
                ev.update(
                    evaluator_id=f"U8{k:010d}",
                    evaluator_type=1,
                    client_ip=f"198.51.100.{20 + k}",
                )
                ev.pop("device_id", None)
                out.append(encode_message(ev, KIND_VALID, at=when, planted=scenario))
                when += timedelta(seconds=r.uniform(20, 90))
        else:
            raise ValueError(f"unknown fraud scenario {scenario!r}; known: {FRAUD_SCENARIOS}")
        return out

    def _farmed_window(self) -> tuple[Department, Hall, Any]:
        """The hall window whose staff farm good reviews: the first window of the first hall
        of the largest department's district (the same for a seed)."""
        dept = max(self.departments, key=lambda d: d.weight)
        district = dept.region_code if dept.region_code in DISTRICT_BY_CODE else DISTRICTS[0].code
        hall = HALLS_BY_DISTRICT[district][0]
        return dept, hall, hall.windows[0]

    def _campaign_target(self) -> Department:
        """The department a 恶意差评 campaign targets: the second largest."""
        return sorted(self.departments, key=lambda d: -d.weight)[min(1, len(self.departments) - 1)]

    def _arriving(
        self, message: SimulatedMessage, at: datetime, delays: ArrivalDelays
    ) -> list[SimulatedMessage]:
        """``message`` as it arrives at ``at``: given a channel's delay earlier, and for a hall
        pad that reconnects, preceded by the evaluations it queued during its outage."""
        sent = self._recent[-1] if self._recent and self._recent[-1].message is message else None
        ev = sent.evaluation if sent is not None else json.loads(message.value)
        channel = _channel_name(ev["channel"])
        burst = delays.burst(channel)
        out = []
        if burst is not None:
            for k in range(burst.size - 1, 0, -1):  # oldest first, spread over the outage
                when = at - timedelta(seconds=burst.outage_s * k / burst.size)
                out.append(encode_message(self._queued_on_pad(ev, when), KIND_VALID, at=when))
        # dict of the follow-up pool too: a 追评 of it sees the time it was given
        ev["evaluated_at"] = _iso(at - timedelta(seconds=delays.delay(channel)))
        delayed = encode_message(ev, KIND_VALID, at=_parse(ev["evaluated_at"]))
        if sent is not None:
            # a later exact re-send (scenario duplicates) repeats these bytes
            self._recent[-1] = _Sent(ev, delayed)
        return [*out, delayed]

    def _queued_on_pad(self, pad: dict[str, Any], at: datetime) -> dict[str, Any]:
        """An evaluation given at ``at`` on the same hall pad (hall, window, staff) as ``pad``."""
        dept = self._pick_department()
        item = self._pick_service(dept)
        level = self._pick_level("counter")
        ev = self._build(at, dept, item, "counter", level, self._tags(level), self._comment(level))
        for field in ("region_code", "hall_code", "window_code", "staff_id"):
            if field in pad:
                ev[field] = pad[field]
        return ev

    def _surge_target(self, sc: Scenario) -> tuple[Department, ServiceItem | None]:
        if sc.surge_service is not None:
            return self.service(sc.surge_service)
        if sc.surge_department is not None:
            return self.department(sc.surge_department), None
        return self.default_surge_department, None

    def _surge_share(self, sc: Scenario, dept: Department, item: ServiceItem | None) -> float:
        """Share of all traffic the surging target takes once the surge has begun."""
        share = dept.weight / sum(d.weight for d in self.departments)
        if item is not None:
            share *= item.weight / sum(s.weight for s in dept.services)
        return min(0.5, share * sc.surge_traffic_factor)

    def _advance(self, clock: datetime, peak: float, rhythm: bool) -> datetime:
        # Poisson process by thinning: candidates at the peak rate, kept in proportion to
        # the office intensity at that instant.
        while True:
            clock += timedelta(seconds=self.rng.expovariate(peak))
            if not rhythm or self.rng.random() < office_intensity(clock):
                return clock

    def _next_message(
        self,
        at: datetime,
        surging: bool,
        sc: Scenario,
        surge_dept: Department,
        surge_item: ServiceItem | None,
        surge_share: float,
        open_halls: bool | None,
    ) -> SimulatedMessage:
        u = self.rng.random()
        if u < sc.malformed_rate:
            reason = MALFORMED_REASONS[self._malformed_cursor]
            self._malformed_cursor = (self._malformed_cursor + 1) % len(MALFORMED_REASONS)
            return self.malformed(at, reason)
        u -= sc.malformed_rate
        if u < sc.duplicate_rate and self._recent:
            return replace(self.rng.choice(self._recent).message, kind=KIND_DUPLICATE, at=at)
        u -= sc.duplicate_rate
        if u < sc.duplicate_transaction_rate:
            dup = self._duplicate_transaction(at)
            if dup is not None:
                return dup

        if surging and self.rng.random() < surge_share:
            if self.rng.random() < sc.surge_bad_share:
                ev = self.surge_evaluation(
                    at,
                    surge_dept.code,
                    surge_item.code if surge_item else None,
                    open_halls=open_halls,
                )
            else:
                ev = self.evaluation(
                    at,
                    department=surge_dept,
                    service=surge_item,
                    level=self._good_level(),
                    open_halls=open_halls,
                )
        elif surging:
            # Outside the surging target, traffic is the usual mix minus that target.
            ev = self._evaluation_excluding(at, surge_dept, surge_item, open_halls)
        else:
            ev = self.evaluation(at, open_halls=open_halls)
        msg = encode_message(ev, KIND_VALID, at=at)
        self._recent.append(_Sent(ev, msg))
        return msg

    def _good_level(self) -> int:
        # Good levels keep the 5:4:3 shape of published 好差评 data whatever the bad rate.
        v = self.rng.random()
        return 5 if v < 0.868 else 4 if v < 0.968 else 3

    def _evaluation_excluding(
        self,
        at: datetime,
        dept: Department,
        item: ServiceItem | None,
        open_halls: bool | None,
    ) -> dict[str, Any]:
        if item is None:
            other = self._pick_department(exclude=dept.code)
            if other.code == dept.code:
                return self.evaluation(at, open_halls=open_halls)
            return self.evaluation(at, department=other, open_halls=open_halls)
        other = self._pick_department()
        service = self._pick_service(other, exclude=item.code)
        if service.code == item.code:
            return self.evaluation(at, open_halls=open_halls)
        return self.evaluation(at, department=other, service=service, open_halls=open_halls)

    def _duplicate_transaction(self, at: datetime) -> SimulatedMessage | None:
        """Same transaction and round as a recent valid message, new evaluation_id."""
        candidates = [s for s in self._recent if "transaction_id" in s.evaluation]
        if not candidates:
            return None
        original = self.rng.choice(candidates).evaluation
        ev = dict(original)
        ev["evaluation_id"] = self._evaluation_id()
        ev["level"] = self._pick_level(_channel_name(original["channel"]))
        ev["tags"] = self._tags(ev["level"])
        ev.pop("comment", None)
        ev["evaluated_at"] = _iso(at)
        return encode_message(ev, KIND_DUPLICATE_TRANSACTION, at=at)
