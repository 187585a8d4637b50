-- Follow-up of bad reviews: every case event and every overdue warning, deduplicated on
-- their sorting keys (a replayed event or warning is identical to the first), and the
-- national indicators computed from them. `note` is not landed: departments' free text
-- may hold personal data.

CREATE TABLE IF NOT EXISTS case_events
(
    case_id String,
    event String,
    at DateTime('Asia/Shanghai'),
    department_code String,
    actor String,
    service_code String,
    level UInt8,
    evaluated_at DateTime('Asia/Shanghai'),
    callback_due_at DateTime('Asia/Shanghai'),
    rectification_due_at DateTime('Asia/Shanghai')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (case_id, event, at, department_code);

CREATE TABLE IF NOT EXISTS case_warnings
(
    case_id String,
    deadline String,
    kind String,
    due_at DateTime('Asia/Shanghai'),
    at DateTime('Asia/Shanghai'),
    department_code String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(due_at)
ORDER BY (case_id, deadline, kind);

-- One row per case: its current state. A case exists once its `opened` event has landed.
CREATE VIEW IF NOT EXISTS cases AS
SELECT
    case_id,
    c_department AS department_code,
    c_routed_to AS routed_to,
    c_service AS service_code,
    c_level AS level,
    c_opened_at AS opened_at,
    c_callback_due AS callback_due_at,
    c_rectification_due AS rectification_due_at,
    c_called_back_at AS called_back_at,
    c_rectified_at AS rectified_at,
    c_appealed AS appealed,
    c_appeal_outcome AS appeal_outcome,
    c_closed_at AS closed_at,
    c_called_back_at != toDateTime(0) AS called_back,
    c_called_back_at != toDateTime(0) AND c_called_back_at <= c_callback_due
        AS called_back_on_time,
    c_rectified_at != toDateTime(0) AS rectified,
    c_rectified_at != toDateTime(0) AND c_rectified_at <= c_rectification_due
        AS rectified_on_time,
    (c_called_back_at != toDateTime(0)) OR (c_rectified_at != toDateTime(0)) OR c_appealed
        AS replied
FROM
(
    -- inner names differ from the outer ones: ClickHouse resolves an alias before a column
    SELECT
        case_id,
        anyIf(department_code, event = 'opened') AS c_department,
        argMaxIf(department_code, at, event = 'routed') AS c_routed_to,
        anyIf(service_code, event = 'opened') AS c_service,
        anyIf(level, event = 'opened') AS c_level,
        minIf(at, event = 'opened') AS c_opened_at,
        anyIf(callback_due_at, event = 'opened') AS c_callback_due,
        anyIf(rectification_due_at, event = 'opened') AS c_rectification_due,
        minIf(at, event = 'called_back') AS c_called_back_at,
        minIf(at, event = 'rectified') AS c_rectified_at,
        countIf(event = 'appealed') > 0 AS c_appealed,
        multiIf(countIf(event = 'appeal_upheld') > 0, 'upheld',
                countIf(event = 'appeal_rejected') > 0, 'rejected',
                countIf(event = 'appealed') > 0, 'pending', '') AS c_appeal_outcome,
        minIf(at, event IN ('closed', 'appeal_upheld')) AS c_closed_at,
        countIf(event = 'opened') AS c_opened_events
    FROM case_events FINAL
    GROUP BY case_id
)
WHERE c_opened_events > 0;

-- 差评回复率, 回访率, 按期整改率, 整改率 and appeals per department and month (of opening).
CREATE VIEW IF NOT EXISTS case_indicators_monthly AS
SELECT
    department_code,
    month,
    bad_reviews,
    replied_cases,
    called_back_cases,
    rectified_cases,
    rectified_on_time_cases,
    appeals,
    appeals_upheld,
    appeals_rejected,
    round(replied_cases / bad_reviews, 4) AS reply_rate,
    round(called_back_cases / bad_reviews, 4) AS callback_rate,
    round(rectified_on_time_cases / bad_reviews, 4) AS on_time_rectification_rate,
    round(rectified_cases / bad_reviews, 4) AS rectification_rate
FROM
(
    SELECT
        department_code,
        toStartOfMonth(opened_at) AS month,
        count() AS bad_reviews,
        sum(replied) AS replied_cases,
        sum(called_back) AS called_back_cases,
        sum(rectified) AS rectified_cases,
        sum(rectified_on_time) AS rectified_on_time_cases,
        sum(appealed) AS appeals,
        sum(appeal_outcome = 'upheld') AS appeals_upheld,
        sum(appeal_outcome = 'rejected') AS appeals_rejected
    FROM cases
    GROUP BY department_code, month
);
