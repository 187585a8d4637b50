-- The contract tables. Every statement runs on Debian's ClickHouse 18.16 and on a current
-- ClickHouse (tests run both). Deduplication is by the sorting key: a replayed row is
-- identical to the first, and queries read through FINAL or the views below.

CREATE TABLE IF NOT EXISTS ratings
(
    evaluation_id String,
    transaction_id String,
    evaluation_round UInt8,
    service_code String,
    service_name String,
    department_code String,
    department_name String,
    region_code String,
    channel String,
    channel_code UInt8,
    level UInt8,
    tags Array(String),
    comment String,
    score_efficiency UInt8,
    score_attitude UInt8,
    score_competence UInt8,
    score_guidance UInt8,
    score_convenience UInt8,
    score_usability UInt8,
    evaluator_hash String,
    evaluator_type UInt8,
    hall_code String,
    window_code String,
    staff_id String,
    evaluated_at DateTime('Asia/Shanghai'),
    ingested_at DateTime('Asia/Shanghai'),
    late UInt8,
    source String
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY (department_code, service_code, evaluated_at, evaluation_id);

CREATE TABLE IF NOT EXISTS rejected
(
    reason String,
    message String,
    raw String,
    source_topic String,
    source_partition UInt32,
    source_offset UInt64,
    rejected_at DateTime('Asia/Shanghai')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(rejected_at)
ORDER BY (source_topic, source_partition, source_offset);

-- One row per (dimension, key, window, source partition), replaced by higher versions.
CREATE TABLE IF NOT EXISTS satisfaction_partials
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
ORDER BY (dimension, key, window, window_start, source_partition);

-- The contract's `satisfaction`: the final numbers of every window, whatever the number
-- and order of emissions (newest version per partition, summed over partitions).
CREATE VIEW IF NOT EXISTS satisfaction AS
SELECT
    dimension,
    key,
    window,
    window_start,
    window_end,
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
    -- inner names differ from the outer ones: ClickHouse resolves an alias before a column
    SELECT
        dimension,
        key,
        window,
        window_start,
        window_end,
        sum(level_1) AS l1,
        sum(level_2) AS l2,
        sum(level_3) AS l3,
        sum(level_4) AS l4,
        sum(level_5) AS l5
    FROM satisfaction_partials FINAL
    GROUP BY dimension, key, window, window_start, window_end
);

CREATE TABLE IF NOT EXISTS alerts
(
    alert_id String,
    dimension String,
    key String,
    state Enum8('opened' = 1, 'updated' = 2, 'resolved' = 3),
    bad UInt32,
    total UInt32,
    expected Float64,
    score Float64,
    window_start DateTime('Asia/Shanghai'),
    window_end DateTime('Asia/Shanghai'),
    at DateTime('Asia/Shanghai'),
    explanation String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (alert_id, state, at);
