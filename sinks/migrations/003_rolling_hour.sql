-- Rolling hours (hopping windows: one hour long, advancing every 5 minutes), derived at query
-- time from the final minute windows instead of being kept as state by the stream.
-- Horizon: minute windows hold only evaluations that arrived within the SHORT horizon
-- (allowed_lateness_s, 1 h); a later one is in its day window ('1d') but in no rolling hour.
-- Runs unchanged on Debian's ClickHouse 18.16 (no window functions) and a current ClickHouse
-- (tests/unit/sinks/test_ddl_on_current_clickhouse.py, tests/integration/test_analyst_views.py).
--
-- The hour ending at h (a multiple of 5 minutes) is [h - 3600, h); a minute window [m, m + 60)
-- lies in it iff m + 60 <= h <= m + 3600. With f = toStartOfFiveMinute(m) (f <= m <= f + 240),
-- those h are exactly f + 300, f + 600, ..., f + 3600: twelve hop ends, whether or not m is
-- aligned to 5 minutes. So every minute is expanded into its 12 hop ends and summed per hop end.
-- No lambda (arrayMap(k -> ... window_start ...)): 18.16 does not read a column used only inside
-- a lambda ("Unknown identifier: window_start"); arrayJoin(range(12)) gives the same 12 rows.
-- Hop ends later than the newest data are partial hours (they hold the minutes seen so far).
-- Reads satisfaction_partials FINAL (newest version per source partition), like `satisfaction`.
-- toStartOfFiveMinute and DateTime arithmetic drop the column's time zone on 18.16: toDateTime
-- (..., 'Asia/Shanghai') puts it back. Inner names differ from the outer ones (h_end, l1..l5):
-- ClickHouse resolves an alias before a column.
CREATE VIEW IF NOT EXISTS satisfaction_rolling_hour AS
SELECT
    dimension,
    key,
    toDateTime(h_end - 3600, 'Asia/Shanghai') AS window_start,
    h_end AS window_end,
    l1 + l2 + l3 + l4 + l5 AS total,
    l3 + l4 + l5 AS good,
    l1 + l2 AS bad,
    l1 AS level_1,
    l2 AS level_2,
    l3 AS level_3,
    l4 AS level_4,
    l5 AS level_5,
    if(total = 0, 0, good / total) AS good_rate,
    if(total = 0, 0, bad / total) AS bad_rate,
    if(total = 0, 0, (l1 + 2 * l2 + 3 * l3 + 4 * l4 + 5 * l5) / total) AS mean_level
FROM
(
    SELECT
        dimension,
        key,
        toDateTime(toStartOfFiveMinute(window_start) + 300 * (1 + arrayJoin(range(12))),
            'Asia/Shanghai') AS h_end,
        sum(level_1) AS l1,
        sum(level_2) AS l2,
        sum(level_3) AS l3,
        sum(level_4) AS l4,
        sum(level_5) AS l5
    FROM satisfaction_partials FINAL
    WHERE window = '1m'
    GROUP BY dimension, key, h_end
);
