"""Prometheus metrics of the ClickHouse sink."""

from prometheus_client import Counter, Gauge, Histogram

rows_written = Counter("haochaping_sink_rows_written_total", "rows inserted", ["table"])
rows_refused = Counter(
    "haochaping_sink_rows_refused_total", "records ClickHouse or the schema refused", ["table"]
)
insert_seconds = Histogram(
    "haochaping_sink_insert_seconds",
    "time of one batch insert",
    ["table"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
retries = Counter("haochaping_sink_retries_total", "insert attempts that failed and were retried")
outage = Gauge("haochaping_sink_clickhouse_down", "1 while ClickHouse cannot be reached")
consumer_lag = Gauge(
    "haochaping_sink_consumer_lag",
    "records not yet landed: end offset minus the group's committed offset, read by the "
    "watchdog every 10 s (it moves while the sink is stuck)",
    ["topic", "partition"],
)
last_batch = Gauge(
    "haochaping_sink_last_batch_timestamp_seconds",
    "when the sink last landed a batch and committed its offsets (unix time)",
)
