-- Screening of fake and malicious evaluations (issue 16): the suspects the worker flags
-- (ratings.suspect), the exclusions people decided on cases.events (an upheld appeal, a
-- confirmed suspect), and the rates before ("raw") and after review ("official").
-- Replays change nothing: suspects keep the highest version per evaluation, and every view
-- reads decisions with argMax (a replayed event is the same event) and ratings FINAL.

-- the client's device and network, pseudonymized on ingest like evaluator_hash
-- (18.16 has no ADD COLUMN IF NOT EXISTS: sinks/migrate.py checks system.columns first there)
ALTER TABLE ratings ADD COLUMN IF NOT EXISTS device_hash String DEFAULT '' AFTER evaluator_type;
ALTER TABLE ratings ADD COLUMN IF NOT EXISTS network_hash String DEFAULT '' AFTER device_hash;

-- one row per flagged evaluation: its reasons so far (version = how many)
CREATE TABLE IF NOT EXISTS suspects
(
    evaluation_id String,
    version UInt16,
    reasons Array(String),
    score Float32,
    evidence Array(String),
    department_code String,
    service_code String,
    channel String,
    level UInt8,
    hall_code String,
    window_code String,
    staff_id String,
    evaluator_hash String,
    device_hash String,
    network_hash String,
    evaluated_at DateTime('Asia/Shanghai')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(evaluated_at)
ORDER BY evaluation_id;

-- Evaluations excluded from the official numbers: the latest appeal decision of their case is
-- `appeal_upheld`, or the latest review of them is `suspect_confirmed` (not cleared since).
-- Decisions at the same second: the upheld appeal and the confirmation win.
CREATE VIEW IF NOT EXISTS exclusions AS
SELECT
    evaluation_id,
    appeal_decision = 'appeal_upheld' AS appeal_upheld,
    review_decision = 'suspect_confirmed' AS suspect_confirmed,
    decided_at
FROM
(
    SELECT
        case_id AS evaluation_id,
        argMaxIf(event, (at, event), event IN ('appeal_upheld', 'appeal_rejected'))
            AS appeal_decision,
        argMaxIf(event, (at, event = 'suspect_confirmed'),
                 event IN ('suspect_confirmed', 'suspect_cleared')) AS review_decision,
        max(at) AS decided_at
    FROM case_events
    WHERE event IN ('appeal_upheld', 'appeal_rejected', 'suspect_confirmed', 'suspect_cleared')
    GROUP BY case_id
)
WHERE appeal_decision = 'appeal_upheld' OR review_decision = 'suspect_confirmed';

-- Each suspect with its review status: pending, confirmed or cleared.
CREATE VIEW IF NOT EXISTS suspect_reviews AS
SELECT
    evaluation_id,
    reasons,
    score,
    evidence,
    department_code,
    service_code,
    channel,
    level,
    hall_code,
    window_code,
    staff_id,
    evaluator_hash,
    device_hash,
    network_hash,
    evaluated_at,
    if(review = '', 'pending', if(review = 'suspect_confirmed', 'confirmed', 'cleared'))
        AS status
FROM
(
    SELECT *
    FROM suspects FINAL
) AS flagged
ANY LEFT JOIN
(
    SELECT
        case_id AS evaluation_id,
        argMax(event, (at, event = 'suspect_confirmed')) AS review
    FROM case_events
    WHERE event IN ('suspect_confirmed', 'suspect_cleared')
    GROUP BY case_id
) AS reviewed USING evaluation_id;

-- Suspects per Shanghai day, department and reason (an evaluation counts once per reason).
CREATE VIEW IF NOT EXISTS suspects_daily AS
SELECT
    toDate(evaluated_at) AS day,
    department_code,
    reason,
    count() AS evaluations,
    countIf(level >= 3) AS good,
    countIf(level <= 2) AS bad
FROM suspects FINAL
ARRAY JOIN reasons AS reason
GROUP BY day, department_code, reason;

-- Raw and official (after review) rates per Shanghai day, for the dimensions of
-- satisfaction_daily and the hall: `raw_*` count every evaluation, the official ones leave out
-- `excluded` (an upheld appeal or a confirmed suspect). Evaluations beyond the long horizon
-- are in neither, as in satisfaction_daily.
CREATE VIEW IF NOT EXISTS satisfaction_official_daily AS
SELECT
    day,
    dimension,
    key,
    if(dimension IN ('department', 'service'), dept_code, '') AS department_code,
    raw_total,
    raw_good,
    raw_bad,
    raw_good / raw_total AS raw_good_rate,
    raw_bad / raw_total AS raw_bad_rate,
    excluded,
    excluded_good,
    excluded_bad,
    raw_total - excluded AS total,
    raw_good - excluded_good AS good,
    raw_bad - excluded_bad AS bad,
    if(total = 0, nan, good / total) AS good_rate,
    if(total = 0, nan, bad / total) AS bad_rate
FROM
(
    SELECT
        toDate(evaluated_at) AS day,
        pair.1 AS dimension,
        pair.2 AS key,
        anyIf(department_code, department_code != '') AS dept_code,
        count() AS raw_total,
        countIf(level >= 3) AS raw_good,
        countIf(level <= 2) AS raw_bad,
        countIf(is_excluded) AS excluded,
        countIf(is_excluded AND level >= 3) AS excluded_good,
        countIf(is_excluded AND level <= 2) AS excluded_bad
    FROM
    (
        SELECT
            evaluated_at,
            department_code,
            service_code,
            channel,
            region_code,
            hall_code,
            level,
            evaluation_id IN (SELECT evaluation_id FROM exclusions) AS is_excluded
        FROM ratings FINAL
        WHERE beyond_horizon = 0
    )
    ARRAY JOIN
        [('department', department_code), ('service', service_code),
         ('channel', channel), ('region', region_code), ('hall', hall_code)] AS pair
    WHERE pair.2 != ''
    GROUP BY day, dimension, key
);

-- The same per Shanghai month.
CREATE VIEW IF NOT EXISTS satisfaction_official_monthly AS
SELECT
    month,
    dimension,
    key,
    department_code,
    raw_total,
    raw_good,
    raw_bad,
    raw_good / raw_total AS raw_good_rate,
    excluded,
    total,
    good,
    bad,
    if(total = 0, nan, good / total) AS good_rate,
    if(total = 0, nan, bad / total) AS bad_rate
FROM
(
    SELECT
        toStartOfMonth(day) AS month,
        dimension,
        key,
        any(department_code) AS department_code,
        sum(raw_total) AS raw_total,
        sum(raw_good) AS raw_good,
        sum(raw_bad) AS raw_bad,
        sum(excluded) AS excluded,
        sum(total) AS total,
        sum(good) AS good,
        sum(bad) AS bad
    FROM satisfaction_official_daily
    GROUP BY month, dimension, key
);

-- Departments whose 好评率 is implausibly perfect for their volume, per Shanghai day: no bad
-- review among `total` when their peers that day had a bad-review rate `peer_bad_rate`.
-- `p_value` = (1 - peer_bad_rate)^total, the chance of that by luck; reported for review, not
-- per evaluation. With ~20 departments a day, a department at p_value < 0.001 is a false alarm
-- about once in 50 days.
CREATE VIEW IF NOT EXISTS suspect_departments_daily AS
SELECT
    day,
    department_code,
    total,
    bad,
    peer_bad_rate,
    exp(total * log(1 - peer_bad_rate)) AS p_value
FROM
(
    SELECT day, key AS department_code, raw_total AS total, raw_bad AS bad
    FROM satisfaction_official_daily
    WHERE dimension = 'department'
) AS departments
ALL INNER JOIN
(
    SELECT day, sum(raw_bad) / sum(raw_total) AS peer_bad_rate
    FROM satisfaction_official_daily
    WHERE dimension = 'department'
    GROUP BY day
) AS peers USING day
WHERE bad = 0 AND peer_bad_rate > 0 AND peer_bad_rate < 1;
