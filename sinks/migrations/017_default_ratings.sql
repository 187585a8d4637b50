-- Issue 28: 默认评价. One row per default rating the worker gave a 办件 still unrated
-- HAOCHAPING_DEFAULT_RATING_AFTER_DAYS after its 办结 (off unless set; Guangdong: 7 natural
-- days → 基本满意). A default rating is not an evaluation: it is not in `ratings`, so no
-- 好评率, raw or official, and no 评价率 counts it; it is counted here, apart. A repeat after a
-- crash has the same transaction_id and collapses.
CREATE TABLE IF NOT EXISTS default_ratings
(
    transaction_id String,
    service_code String,
    department_code String,
    region_code String,
    channel String,
    hall_code String,
    window_code String,
    level UInt8,
    completed_at DateTime('Asia/Shanghai'),
    defaulted_at DateTime('Asia/Shanghai')
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(completed_at)
ORDER BY (department_code, service_code, completed_at, transaction_id);

-- Default ratings per Shanghai day of 办结 (the day coverage_daily counts the 办件 in) and the
-- dimensions a default rating has; a 办件 whose applicant rated it after all (a late
-- evaluation) is counted as evaluated in coverage_daily and not here.
CREATE VIEW IF NOT EXISTS default_ratings_daily AS
SELECT
    toDate(completed_at) AS day,
    department_code,
    service_code,
    region_code,
    channel,
    hall_code,
    window_code,
    count() AS defaulted
FROM
(
    SELECT
        transaction_id,
        any(department_code) AS department_code,
        any(service_code) AS service_code,
        any(region_code) AS region_code,
        any(channel) AS channel,
        any(hall_code) AS hall_code,
        any(window_code) AS window_code,
        min(completed_at) AS completed_at
    FROM default_ratings
    GROUP BY transaction_id
)
WHERE transaction_id NOT IN
(
    SELECT transaction_id FROM ratings WHERE evaluation_round = 1 AND transaction_id != ''
)
GROUP BY day, department_code, service_code, region_code, channel, hall_code, window_code;
