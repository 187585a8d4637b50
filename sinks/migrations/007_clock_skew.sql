-- Wrong clocks made visible (issue 18). Every evaluation on ratings.valid carries clock_skew_s:
-- evaluated_at minus the time Kafka got it, in seconds. In `ratings` the same figure is
-- evaluated_at - ingested_at (ingested_at is that Kafka time), so no column is added.

-- 时钟偏差: one row per source (channel, hall, window, producer id) that sent in the last
-- day, with how far its evaluated_at stood from Kafka's time. A source ahead by over a minute
-- has a wrong clock (evaluations cannot be made in the future); one behind by over a minute
-- is a late sender (SMS, hotline batches, a pad syncing after an outage) or a slow clock: a
-- hall pad behind all the time, with a steady median, has a slow clock.
CREATE VIEW IF NOT EXISTS clock_skew_sources AS
SELECT
    channel,
    hall_code,
    window_code,
    source,
    count() AS evaluations,
    quantileExact(0.5)(clock_skew_s) AS median_skew_s,
    min(clock_skew_s) AS most_behind_s,
    max(clock_skew_s) AS most_ahead_s,
    countIf(clock_skew_s > 60) AS ahead_over_1min,
    countIf(clock_skew_s < -60) AS behind_over_1min,
    max(ingested_at) AS last_seen
FROM
(
    SELECT
        channel,
        hall_code,
        window_code,
        source,
        ingested_at,
        toInt64(evaluated_at) - toInt64(ingested_at) AS clock_skew_s
    FROM ratings FINAL
    WHERE ingested_at >= now() - INTERVAL 1 DAY
)
GROUP BY channel, hall_code, window_code, source;
