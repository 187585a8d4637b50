-- Issue 28: 主动邀评. One row per invitation the worker sent for a 办件 left unrated after
-- HAOCHAPING_INVITATION_AFTER_HOURS; a 办件 is invited once (a repeat after a crash has the same
-- transaction_id and collapses here).
CREATE TABLE IF NOT EXISTS invitations
(
    transaction_id String,
    service_code String,
    department_code String,
    region_code String,
    channel String,
    hall_code String,
    window_code String,
    completed_at DateTime('Asia/Shanghai'),
    due_at DateTime('Asia/Shanghai'),
    invited_at DateTime('Asia/Shanghai')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(completed_at)
ORDER BY (department_code, service_code, completed_at, transaction_id);

-- What the invitations brought: invited 办件 per Shanghai day of invitation and department,
-- and how many of them were then rated (a 办件 invited and then rated counts as rated in
-- coverage_daily too).
CREATE VIEW IF NOT EXISTS invitation_response_daily AS
SELECT
    toDate(invited_at) AS day,
    department_code,
    service_code,
    channel,
    count() AS invited,
    sum(transaction_id IN
    (
        SELECT transaction_id FROM ratings WHERE evaluation_round = 1 AND transaction_id != ''
    )) AS rated_after
FROM
(
    SELECT
        transaction_id,
        any(department_code) AS department_code,
        any(service_code) AS service_code,
        any(channel) AS channel,
        min(invited_at) AS invited_at
    FROM invitations
    GROUP BY transaction_id
)
GROUP BY day, department_code, service_code, channel;
