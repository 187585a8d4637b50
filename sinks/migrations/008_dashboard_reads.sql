-- What the dashboard reads on every page, kept in the order it reads it. Both tables are
-- derived: a materialized view fills each from a contract table on every insert, and a copy
-- of what was there before fills it once (the copy may run twice: both tables drop exact
-- duplicates the way their sources do). Neither changes the contract tables.

-- satisfaction_partials again, sorted by window and start before key: a range of one
-- dimension's windows (every service item's day windows of 30 days) is a few contiguous
-- granules here, where the contract table's sort key (…, key, window, …) spreads it over
-- every key's minute windows. Same columns, same deduplication: one row per (dimension, key,
-- window, window_start, source_partition), the highest version wins (read with FINAL).
CREATE TABLE IF NOT EXISTS satisfaction_partials_by_window
(
    dimension String,
    key String,
    window String,
    window_start DateTime('Asia/Shanghai'),
    window_end DateTime('Asia/Shanghai'),
    source_partition UInt16,
    version UInt64,
    level_1 UInt32,
    level_2 UInt32,
    level_3 UInt32,
    level_4 UInt32,
    level_5 UInt32
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (dimension, window, window_start, key, source_partition);

CREATE MATERIALIZED VIEW IF NOT EXISTS satisfaction_partials_by_window_feed
TO satisfaction_partials_by_window
AS SELECT dimension, key, window, window_start, window_end, source_partition, version,
          level_1, level_2, level_3, level_4, level_5
FROM satisfaction_partials;

INSERT INTO satisfaction_partials_by_window
SELECT dimension, key, window, window_start, window_end, source_partition, version,
       level_1, level_2, level_3, level_4, level_5
FROM satisfaction_partials;

-- The names of departments and service items per Shanghai day they were evaluated on (the
-- newest name of the day wins): the dashboard's names for a range without reading `ratings`.
CREATE TABLE IF NOT EXISTS names_daily
(
    day Date,
    department_code String,
    service_code String,
    department_name String,
    service_name String,
    seen_at DateTime('Asia/Shanghai')
)
ENGINE = ReplacingMergeTree(seen_at)
PARTITION BY toYYYYMM(day)
ORDER BY (day, department_code, service_code);

CREATE MATERIALIZED VIEW IF NOT EXISTS names_daily_feed
TO names_daily
AS SELECT toDate(evaluated_at) AS day, department_code, service_code,
          argMax(department_name, evaluated_at) AS department_name,
          argMax(service_name, evaluated_at) AS service_name,
          max(evaluated_at) AS seen_at
FROM ratings
GROUP BY day, department_code, service_code;

INSERT INTO names_daily
SELECT toDate(evaluated_at) AS day, department_code, service_code,
       argMax(department_name, evaluated_at) AS department_name,
       argMax(service_name, evaluated_at) AS service_name,
       max(evaluated_at) AS seen_at
FROM ratings
GROUP BY day, department_code, service_code;
