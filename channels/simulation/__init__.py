"""Deterministic simulator of raw 好差评 evaluations, as channels send them to `ratings.raw`.

Everything is drawn from one ``random.Random(seed)``: two simulators built with the same seed
and arguments, called the same way, produce the same bytes (except in live mode, where
`evaluated_at` is the wall clock).

Usage::

    sim = Simulator(seed=7)
    sim.evaluation(at)                 # one valid raw evaluation (a dict) at event time `at`
    sim.surge_evaluation(at, department_code=...)   # one bad review of a surging department
    for msg in sim.stream(10_000, scenario="surge", start=datetime(2024, 5, 13, tzinfo=CHINA)):
        producer.send("ratings.raw", key=msg.key, value=msg.value)

`stream()` has two clocks:

- span mode (`start` given): event times advance from `start` as a Poisson process whose
  rate follows office rhythm (weekday 9–17 peak, lunch dip, evenings and weekends quiet;
  halls closed outside office hours, so only online channels and the hotline speak then);
  `rate_per_s` is the peak rate (default 5/s). With ``rhythm=False`` the rate is flat.
- live mode (`start` None): every event is stamped with the wall clock when it is generated,
  and halls count as open whatever the hour, so a demo at night still shows every channel.
  Pacing is the caller's job (the CLI); `stream()` only yields.

Scenarios (`SCENARIOS`, or a `Scenario` instance for custom mixes):

- ``steady``: the base traffic only.
- ``surge``: from message `surge_from` (a fraction of `count`, default 0.5) on, one
  department (or one service item) gets `surge_traffic_factor` × its usual share of traffic
  (default 3×, at most half of all traffic) and `surge_bad_share` of it (default 40%) is bad
  (level 1/2, tags 110/112/113/115 or 211–214, comments about outages and queues).
- ``duplicates``: `duplicate_rate` (default 5%) of messages are exact re-sends of a recent
  valid message (kind ``duplicate``), and `duplicate_transaction_rate` (default 1%) are a
  second evaluation of an already evaluated transaction and round under a new evaluation_id
  (kind ``duplicate_transaction``), which the pipeline must reject.
- ``malformed``: `malformed_rate` (default 10%) of messages are broken, cycling through
  `MALFORMED_REASONS` so every reason appears once there are at least 11 malformed messages;
  kind is ``malformed:<reason>``, the reason code the pipeline must reject them with.
- ``mixed``: surge + 1% duplicates + 0.5% duplicate transactions + 1% malformed (the demo).
- fakes and malice (issue 16), planted from `fraud_from` (default 0.3) on, in bursts, about
  `fraud_share` (default 3%) of the messages after it, at least one burst whatever the seed
  (a stream with none by its last 40 messages plants one there); each planted message has
  ``planted`` set to the scenario's name, so tests can measure recall:
  - ``staff_farming``: staff at one hall window press its pad themselves: runs of 8–20
    five-star evaluations 2–8 s apart, on that window's pad and staff member;
  - ``evaluator_flood``: three accounts (each on one app install and one network) send runs
    of 10–30 five-star evaluations 5–30 s apart (刷好评);
  - ``malicious_campaign``: five accounts on one network post bad reviews of one department
    whose comments are abuse or advertising (恶意差评), 20–90 s apart.

A hall window serves one person at a time (channels/simulation/windows.py): a window used
less than 4 minutes ago passes the next person to the hall's window free longest, so windows
see ratings at a human pace, not a pad pressed every few seconds.

Every evaluation carries what a channel knows of the client: a hall pad or kiosk its
``device_id`` and the hall's LAN address, the app its install id and a public address, the
web portal the address; hotline and SMS neither. These are drawn from a generator of their
own, so a seed gives the same evaluations as before they existed.

``arrival_delays=True`` (any scenario; ``haochaping simulate --arrival-delays``, the demo) makes
evaluations arrive as they do in practice (channels/arrival.py): the clock above is when a
message is sent, and its ``evaluated_at`` lies a channel's delay before it: seconds online,
hours for SMS and the hotline, and hall pads that sync a burst of queued evaluations after an
outage.
"""

from channels.simulation.messages import (
    FRAUD_SCENARIOS,
    KIND_DUPLICATE,
    KIND_DUPLICATE_TRANSACTION,
    KIND_VALID,
    MALFORMED_PREFIX,
    MALFORMED_REASONS,
    SCENARIOS,
    Scenario,
    SimulatedMessage,
    encode_message,
    message_key,
)
from channels.simulation.rhythm import hall_address, halls_open, office_intensity, public_address
from channels.simulation.simulator import Simulator
from channels.simulation.vocabulary import (
    CAMPAIGN_COMMENTS,
    CHANNEL_MIX,
    HALL_CHANNELS,
    SCORE_INDICATORS_HALL,
    SCORE_INDICATORS_ONLINE,
    SOURCE,
    SURGE_TAGS,
    TAGS_BY_LEVEL,
)

__all__ = [
    "CAMPAIGN_COMMENTS",
    "CHANNEL_MIX",
    "FRAUD_SCENARIOS",
    "HALL_CHANNELS",
    "KIND_DUPLICATE",
    "KIND_DUPLICATE_TRANSACTION",
    "KIND_VALID",
    "MALFORMED_PREFIX",
    "MALFORMED_REASONS",
    "SCENARIOS",
    "SCORE_INDICATORS_HALL",
    "SCORE_INDICATORS_ONLINE",
    "SOURCE",
    "SURGE_TAGS",
    "TAGS_BY_LEVEL",
    "Scenario",
    "SimulatedMessage",
    "Simulator",
    "encode_message",
    "hall_address",
    "halls_open",
    "message_key",
    "office_intensity",
    "public_address",
]
