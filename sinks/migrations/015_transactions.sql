-- Issue 28: 办件 (completed transactions) and 评价率 (evaluations per transaction).
--
-- `transactions` holds one row per record of transactions.valid (the worker checked them).
-- A replayed record is identical and collapses in a merge; a 办件 sent again with a correction
-- (another completed_at, another stage) is a second row until then, so every view below takes
-- each transaction_id once, with the values of its newest record (argMax over ingested_at).
CREATE TABLE IF NOT EXISTS transactions
(
    transaction_id String,
    service_code String,
    service_name String,
    department_code String,
    department_name String,
    region_code String,
    channel String,
    channel_code UInt8,
    hall_code String,
    window_code String,
    staff_id String,
    stage String,
    completed_at DateTime('Asia/Shanghai'),
    ingested_at DateTime('Asia/Shanghai'),
    source String
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(completed_at)
ORDER BY (department_code, service_code, completed_at, transaction_id);

-- Every 办件 once, and whether it was evaluated: a first-round evaluation (追评 is round 2)
-- with its transaction_id is in `ratings`, whenever it came (before its 办件, or days later).
-- The 办件's own service item, department, channel, hall, window and staff are what it counts
-- for, whatever the evaluation says.
CREATE VIEW IF NOT EXISTS transaction_coverage AS
SELECT
    transaction_id,
    argMax(service_code, ingested_at) AS service_code,
    argMax(service_name, ingested_at) AS service_name,
    argMax(department_code, ingested_at) AS department_code,
    argMax(department_name, ingested_at) AS department_name,
    argMax(region_code, ingested_at) AS region_code,
    argMax(channel, ingested_at) AS channel,
    argMax(hall_code, ingested_at) AS hall_code,
    argMax(window_code, ingested_at) AS window_code,
    argMax(staff_id, ingested_at) AS staff_id,
    argMax(stage, ingested_at) AS stage,
    argMax(completed_at, ingested_at) AS completed_at,
    transaction_id IN
    (
        SELECT transaction_id FROM ratings WHERE evaluation_round = 1 AND transaction_id != ''
    ) AS is_evaluated
FROM transactions
GROUP BY transaction_id;

-- 评价率 per Shanghai day of 办结 and every dimension a 办件 has: sum the counts over the
-- dimensions you do not need (the CLI's `haochaping coverage` and docs/analyst-guide.md do).
CREATE VIEW IF NOT EXISTS coverage_daily AS
SELECT
    toDate(completed_at) AS day,
    department_code,
    service_code,
    region_code,
    channel,
    hall_code,
    window_code,
    staff_id,
    count() AS transactions,
    sum(is_evaluated) AS evaluated
FROM transaction_coverage
GROUP BY day, department_code, service_code, region_code, channel, hall_code, window_code, staff_id;

CREATE VIEW IF NOT EXISTS coverage_monthly AS
SELECT
    toStartOfMonth(day) AS month,
    department_code,
    service_code,
    region_code,
    channel,
    hall_code,
    window_code,
    staff_id,
    sum(transactions) AS transactions,
    sum(evaluated) AS evaluated
FROM coverage_daily
GROUP BY month, department_code, service_code, region_code, channel, hall_code, window_code, staff_id;

-- First-round evaluations whose 办件 is not (yet) in `transactions`, or that name none: counted
-- apart, never dropped. A 办件 may come after its evaluation, so read `days_since` against the
-- horizon (HAOCHAPING_TRANSACTION_HORIZON_DAYS; `haochaping coverage` does) before calling one
-- an evaluation without a transaction.
CREATE VIEW IF NOT EXISTS evaluations_without_transaction AS
SELECT
    evaluation_id,
    transaction_id,
    department_code,
    service_code,
    channel,
    hall_code,
    window_code,
    evaluated_at,
    dateDiff('day', evaluated_at, now()) AS days_since
FROM ratings FINAL
WHERE evaluation_round = 1
  AND transaction_id NOT IN (SELECT transaction_id FROM transactions);
