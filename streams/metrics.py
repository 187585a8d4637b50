"""Prometheus metrics of the Faust worker (served by `haochaping worker` on its metrics port)."""

from prometheus_client import Counter, Gauge, Histogram

evaluations_in = Counter("haochaping_evaluations_in_total", "messages read from ratings.raw")
evaluations_accepted = Counter(
    "haochaping_evaluations_accepted_total", "evaluations written to ratings.valid", ["channel"]
)
evaluations_rejected = Counter(
    "haochaping_evaluations_rejected_total", "messages written to ratings.rejected", ["reason"]
)
duplicates_dropped = Counter(
    "haochaping_duplicates_dropped_total", "repeated evaluation_ids dropped at ingest"
)
evaluations_late = Counter(
    "haochaping_evaluations_late_total",
    "evaluations older than the short horizon (allowed_lateness_s) on arrival: counted in "
    "their day window, in no minute window",
)
evaluations_beyond_horizon = Counter(
    "haochaping_evaluations_beyond_horizon_total",
    "evaluations older than the long horizon (late_horizon_days) on arrival: in ratings and "
    "late_statistics, in no window",
)
offset_jumps = Counter(
    "haochaping_offset_jumps_total",
    "records Faust handed over ahead of earlier offsets of their partition, across batches "
    "(a prefetched record after a seek); within a batch they are put back in order",
)
offset_gaps_fetched = Counter(
    "haochaping_offset_gaps_fetched_total",
    "records of the worker's follow-up topics that Faust passed over (taken for offsets with "
    "no record), fetched by the worker itself and processed in place",
    ["topic"],
)
miskeyed = Counter(
    "haochaping_miskeyed_total",
    "accepted evaluations found outside their contract key's partition of ratings.raw (keyed "
    "by another id, or not keyed) and sent to it through the rekeyed topic",
    ["channel"],
)
replayed_skipped = Counter(
    "haochaping_replayed_window_skips_total",
    "evaluations a replay offered to windows that had already counted them",
)
batch_seconds = Histogram(
    "haochaping_batch_seconds",
    "time to process one batch of ratings.raw",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
batch_size = Histogram(
    "haochaping_batch_size", "messages per batch", buckets=(1, 10, 100, 500, 1000, 2000, 5000)
)
consumer_lag = Gauge(
    "haochaping_consumer_lag",
    "messages of ratings.raw not yet processed: end offset minus committed offset, read by "
    "the watchdog every 10 s (it moves while the worker is stuck)",
    ["partition"],
)
last_batch = Gauge(
    "haochaping_worker_last_batch_timestamp_seconds",
    "when the worker last processed a batch of ratings.raw (unix time)",
)
# the follow-up half (haochaping worker --role follow-up): per input topic, since one agent
# can hang while the others move
follow_up_lag = Gauge(
    "haochaping_follow_up_lag",
    "records of the follow-up half's input (surge minutes, screening facts, cases.events) not "
    "yet processed: end offset minus committed offset, read by the watchdog every 10 s",
    ["topic", "partition"],
)
follow_up_last_batch = Gauge(
    "haochaping_follow_up_last_batch_timestamp_seconds",
    "when the follow-up half last processed a batch of this topic (unix time; its start time "
    "until then)",
    ["topic"],
)
window_entries = Gauge(
    "haochaping_window_entries",
    "open per-partition window records in memory (a minute bundle of a dimension is one)",
)
open_alerts = Gauge("haochaping_open_alerts", "open bad-review surge alerts", ["dimension"])
alerts_raised = Counter(
    "haochaping_alert_events_total", "alert lifecycle events sent", ["dimension", "state"]
)
case_warnings = Counter(
    "haochaping_case_warnings_total", "overdue warnings (超期预警) sent", ["deadline", "kind"]
)
case_actions = Counter(
    "haochaping_case_actions_total",
    "actions of the office and the departments judged (cases.actions)",
    ["action", "verdict"],
)
cases_expired = Counter(
    "haochaping_cases_expired_total",
    "finished cases past their retention, and events whose case never opened, dropped",
)
second_looks = Counter(
    "haochaping_surge_second_looks_total",
    "judged minutes judged again because late evaluations changed them",
    ["dimension"],
)
clock_drift = Counter(
    "haochaping_clock_drift_total",
    "accepted evaluations whose evaluated_at is over a minute ahead of or behind the time Kafka "
    "got them (a source's wrong clock, or a late sender); each carries clock_skew_s",
    ["channel", "direction"],
)
suspects_flagged = Counter(
    "haochaping_suspects_flagged_total",
    "reasons added to evaluations by the screening (ratings.suspect), by reason",
    ["reason"],
)
screening_failures = Counter(
    "haochaping_screening_failures_total",
    "batches of screening facts the screening step failed on (a bug: see the worker's log)",
)
