-- Late arrivals (issue 13): two horizons, and reconciliation of the day windows.
--
-- `ratings.late` keeps its meaning: older than the SHORT horizon (allowed_lateness_s, 1 h) on
-- arrival; such an evaluation is in its day window but in no minute window (surge detection,
-- satisfaction_rolling_hour). `beyond_horizon` marks one older than the LONG horizon
-- (late_horizon_days, 30) on arrival: it is in `ratings` and `late_statistics`, in no window
-- and in none of the figures below. Rows landed before this migration have 0.
-- 18.16 has no ADD COLUMN IF NOT EXISTS: sinks/migrate.py checks system.columns first there;
-- nor DROP VIEW: DROP TABLE drops a view on both engines.
ALTER TABLE ratings ADD COLUMN IF NOT EXISTS beyond_horizon UInt8 DEFAULT 0 AFTER late;

-- 迟到评价 per Shanghai day of evaluation and channel: `late_evaluations` arrived after the
-- short horizon (counted in their day, not in a minute), `beyond_horizon_evaluations` after
-- the long one (counted nowhere else), with their shares of all evaluations of that day.
DROP TABLE IF EXISTS late_statistics;
CREATE VIEW IF NOT EXISTS late_statistics AS
SELECT
    day,
    channel,
    late_evaluations,
    evaluations,
    late_evaluations / evaluations AS late_rate,
    max_delay_s,
    beyond_horizon_evaluations,
    beyond_horizon_evaluations / evaluations AS beyond_horizon_rate
FROM
(
    SELECT
        toDate(evaluated_at) AS day,
        channel,
        countIf(late = 1) AS late_evaluations,
        countIf(beyond_horizon = 1) AS beyond_horizon_evaluations,
        count() AS evaluations,
        maxIf(toInt64(ingested_at) - toInt64(evaluated_at), late = 1) AS max_delay_s
    FROM ratings FINAL
    GROUP BY day, channel
)
WHERE late_evaluations > 0;

-- The day and month figures count what the day windows count: every evaluation but those
-- beyond the long horizon. So they equal the worker's day windows (`satisfaction`, window
-- '1d'), which `reconciliation_daily` and `haochaping reconcile` check.
DROP TABLE IF EXISTS satisfaction_daily;
CREATE VIEW IF NOT EXISTS satisfaction_daily AS
SELECT
    day,
    dimension,
    key,
    if(dimension IN ('department', 'service'), dept_code, '') AS department_code,
    if(dimension IN ('department', 'service'), dept_name, '') AS department_name,
    if(dimension = 'service', svc_name, '') AS service_name,
    l1 + l2 + l3 + l4 + l5 AS total,
    l3 + l4 + l5 AS good,
    l1 + l2 AS bad,
    l1 AS level_1,
    l2 AS level_2,
    l3 AS level_3,
    l4 AS level_4,
    l5 AS level_5,
    good / total AS good_rate,
    bad / total AS bad_rate,
    (l1 + 2 * l2 + 3 * l3 + 4 * l4 + 5 * l5) / total AS mean_level
FROM
(
    SELECT
        toDate(evaluated_at) AS day,
        pair.1 AS dimension,
        pair.2 AS key,
        anyIf(department_code, department_code != '') AS dept_code,
        anyIf(department_name, department_name != '') AS dept_name,
        anyIf(service_name, service_name != '') AS svc_name,
        countIf(level = 1) AS l1,
        countIf(level = 2) AS l2,
        countIf(level = 3) AS l3,
        countIf(level = 4) AS l4,
        countIf(level = 5) AS l5
    FROM ratings FINAL
    ARRAY JOIN
        [('department', department_code), ('service', service_code),
         ('channel', channel), ('region', region_code)] AS pair
    WHERE beyond_horizon = 0
    GROUP BY day, dimension, key
);

DROP TABLE IF EXISTS satisfaction_monthly;
CREATE VIEW IF NOT EXISTS satisfaction_monthly AS
SELECT
    month,
    dimension,
    key,
    if(dimension IN ('department', 'service'), dept_code, '') AS department_code,
    if(dimension IN ('department', 'service'), dept_name, '') AS department_name,
    if(dimension = 'service', svc_name, '') AS service_name,
    l1 + l2 + l3 + l4 + l5 AS total,
    l3 + l4 + l5 AS good,
    l1 + l2 AS bad,
    l1 AS level_1,
    l2 AS level_2,
    l3 AS level_3,
    l4 AS level_4,
    l5 AS level_5,
    good / total AS good_rate,
    bad / total AS bad_rate,
    (l1 + 2 * l2 + 3 * l3 + 4 * l4 + 5 * l5) / total AS mean_level
FROM
(
    SELECT
        toStartOfMonth(evaluated_at) AS month,
        pair.1 AS dimension,
        pair.2 AS key,
        anyIf(department_code, department_code != '') AS dept_code,
        anyIf(department_name, department_name != '') AS dept_name,
        anyIf(service_name, service_name != '') AS svc_name,
        countIf(level = 1) AS l1,
        countIf(level = 2) AS l2,
        countIf(level = 3) AS l3,
        countIf(level = 4) AS l4,
        countIf(level = 5) AS l5
    FROM ratings FINAL
    ARRAY JOIN
        [('department', department_code), ('service', service_code),
         ('channel', channel), ('region', region_code)] AS pair
    WHERE beyond_horizon = 0
    GROUP BY month, dimension, key
);

-- 对账: per Shanghai day, department and service item, the worker's day windows (newest
-- version per source partition, summed: the `satisfaction` view) against a recount of
-- `ratings FINAL` (without the evaluations beyond the long horizon). `difference` is
-- window minus recount; every level must agree too (`levels_agree`). A key on one side only
-- has zeros on the other. Read it once the pipeline has caught up (`haochaping wait --until
-- drained`): an evaluation in flight is in one table before the other.
CREATE VIEW IF NOT EXISTS reconciliation_daily AS
SELECT
    day,
    dimension,
    key,
    w1 + w2 + w3 + w4 + w5 AS window_total,
    r1 + r2 + r3 + r4 + r5 AS recount_total,
    toInt64(w1 + w2 + w3 + w4 + w5) - toInt64(r1 + r2 + r3 + r4 + r5) AS difference,
    w1 = r1 AND w2 = r2 AND w3 = r3 AND w4 = r4 AND w5 = r5 AS levels_agree,
    [w1, w2, w3, w4, w5] AS window_levels,
    [r1, r2, r3, r4, r5] AS recount_levels
FROM
(
    SELECT
        toDate(window_start) AS day,
        dimension,
        key,
        toUInt64(sum(level_1)) AS w1,
        toUInt64(sum(level_2)) AS w2,
        toUInt64(sum(level_3)) AS w3,
        toUInt64(sum(level_4)) AS w4,
        toUInt64(sum(level_5)) AS w5
    FROM satisfaction
    WHERE window = '1d' AND dimension IN ('department', 'service')
    GROUP BY day, dimension, key
) AS windows
ALL FULL OUTER JOIN
(
    SELECT
        toDate(evaluated_at) AS day,
        pair.1 AS dimension,
        pair.2 AS key,
        toUInt64(countIf(level = 1)) AS r1,
        toUInt64(countIf(level = 2)) AS r2,
        toUInt64(countIf(level = 3)) AS r3,
        toUInt64(countIf(level = 4)) AS r4,
        toUInt64(countIf(level = 5)) AS r5
    FROM ratings FINAL
    ARRAY JOIN [('department', department_code), ('service', service_code)] AS pair
    WHERE beyond_horizon = 0
    GROUP BY day, dimension, key
) AS recount
USING (day, dimension, key);
