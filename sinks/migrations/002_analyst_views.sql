-- Analyst views (docs/analyst-guide.md). Plain views only: every number is computed at query
-- time from the deduplicated base tables (`FINAL`), so a replayed message never counts twice.
-- (A materialized view would count every insert, replays included: FIELD-NOTES.)
-- Every statement runs unchanged on Debian's ClickHouse 18.16 and on a current ClickHouse
-- (tests/unit/sinks/test_ddl_on_current_clickhouse.py, tests/integration/test_analyst_views.py).
-- Dates are Shanghai calendar dates: evaluated_at is DateTime('Asia/Shanghai'), and toDate /
-- toStartOfMonth use the column's time zone, whatever the server's.
-- Inner column names differ from the outer aliases: ClickHouse resolves an alias before a column.

-- The 40 national review tags (评价标签), first digit = the level they belong to.
-- Filled from system.one (clickhouse-driver cannot send INSERT ... VALUES without data);
-- CREATE ... IF NOT EXISTS ... AS SELECT fills it once, so a re-run adds nothing.
CREATE TABLE IF NOT EXISTS review_tags
ENGINE = MergeTree()
ORDER BY code
AS SELECT
    pair.1 AS code,
    toUInt8(substring(pair.1, 1, 1)) AS level,
    pair.2 AS label
FROM system.one
ARRAY JOIN
    [
        ('510', '一窗受理一次办结'), ('511', '可以先受理后补材料'), ('512', '不用提交证明'),
        ('513', '可以全程网上办理'), ('514', '可以使用手机办理'), ('515', '可以就近办理'),
        ('516', '无需材料直接办理'), ('517', '服务热情效率高'), ('406', '填写一张表单就可完成申报'),
        ('407', '在线提交材料窗口核验'), ('408', '一张清单告知全部申报材料'), ('409', '用告知承诺减免申报材料'),
        ('410', '可以在线预约办理'), ('411', '跑大厅一次办完'), ('412', '可以使用自助机办理'),
        ('413', '服务态度较好'), ('307', '一次性告知需要补正的材料'), ('308', '提供申报材料样本'),
        ('309', '在承诺的时间内办结'), ('310', '办事指南指引准确'), ('311', '按办事指南要求的材料即可办理'),
        ('312', '可以快递送达'), ('313', '跑动次数与承诺的一致'), ('314', '服务态度一般'),
        ('207', '没有提供材料样本'), ('208', '没有提供材料清单'), ('209', '未在承诺时间内办结'),
        ('210', '同样内容的证明材料被要求多次提交'), ('211', '承诺网办但无法在线办理'), ('212', '在线预约办理后到实体大厅重复取号排队'),
        ('213', '窗口人员业务不熟练'), ('214', '服务态度生硬'), ('108', '在办事指南之外增加新的审批条件'),
        ('109', '需提供办事指南之外的申报材料'), ('110', '无理由超过法定办理时间'), ('111', '办事指南提供样本有错'),
        ('112', '承诺在线收取申报材料实际无法收取'), ('113', '多头跑窗口和部门'), ('114', '跑动次数与承诺的不一致'),
        ('115', '服务态度差效率低')
    ] AS pair;

-- 满意度 per Shanghai calendar day and dimension (department / service / channel / region).
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
    GROUP BY day, dimension, key
);

-- The same per calendar month (month = its first day).
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
    GROUP BY month, dimension, key
);

-- 部门排名: one row per department and day; rank with ORDER BY good_rate / bad_rate and a
-- minimum volume (WHERE total >= 20), see docs/analyst-guide.md.
CREATE VIEW IF NOT EXISTS ranking_departments_daily AS
SELECT
    day,
    department_code,
    department_name,
    total,
    good,
    bad,
    good_rate,
    bad_rate,
    mean_level,
    level_1,
    level_2,
    level_3,
    level_4,
    level_5
FROM satisfaction_daily
WHERE dimension = 'department';

-- 事项排名: one row per service item and day.
CREATE VIEW IF NOT EXISTS ranking_services_daily AS
SELECT
    day,
    key AS service_code,
    service_name,
    department_code,
    department_name,
    total,
    good,
    bad,
    good_rate,
    bad_rate,
    mean_level,
    level_1,
    level_2,
    level_3,
    level_4,
    level_5
FROM satisfaction_daily
WHERE dimension = 'service';

-- 差评 by review tag, department, service item and day. A bad review with two tags counts
-- under both; one without tags counts under tag '' (tag_label '(无标签)').
CREATE VIEW IF NOT EXISTS bad_reviews_by_tag AS
SELECT
    day,
    department_code,
    dept_name AS department_name,
    service_code,
    svc_name AS service_name,
    tag,
    if(tag = '', toUInt8(0), t_level) AS tag_level,
    if(tag = '', '(无标签)', t_label) AS tag_label,
    bad_reviews,
    l1 AS level_1,
    l2 AS level_2
FROM
(
    SELECT
        toDate(evaluated_at) AS day,
        department_code,
        anyIf(department_name, department_name != '') AS dept_name,
        service_code,
        anyIf(service_name, service_name != '') AS svc_name,
        tag,
        count() AS bad_reviews,
        countIf(level = 1) AS l1,
        countIf(level = 2) AS l2
    FROM ratings FINAL
    LEFT ARRAY JOIN tags AS tag
    WHERE level <= 2
    GROUP BY day, department_code, service_code, tag
) AS bad
ANY LEFT JOIN
(
    SELECT code AS tag, level AS t_level, label AS t_label FROM review_tags
) AS labels USING (tag);

-- One row per alert: when it opened, its last event, when (if) it resolved, its peak.
CREATE VIEW IF NOT EXISTS alert_history AS
SELECT
    alert_id,
    dimension,
    key,
    status,
    opened_at,
    last_event_at,
    resolved_at,
    if(status = 'resolved', toInt64(resolved_at) - toInt64(opened_at), toInt64(-1))
        AS duration_s,
    events,
    updates,
    peak_bad,
    peak_total,
    max_score,
    expected_at_peak,
    first_window_start,
    last_window_end,
    last_explanation
FROM
(
    SELECT
        alert_id,
        any(dimension) AS dimension,
        any(key) AS key,
        if(countIf(state = 'resolved') > 0, 'resolved', 'open') AS status,
        if(countIf(state = 'opened') > 0, minIf(at, state = 'opened'), min(at)) AS opened_at,
        max(at) AS last_event_at,
        maxIf(at, state = 'resolved') AS resolved_at,
        count() AS events,
        countIf(state = 'updated') AS updates,
        max(bad) AS peak_bad,
        argMax(total, bad) AS peak_total,
        max(score) AS max_score,
        argMax(expected, score) AS expected_at_peak,
        min(window_start) AS first_window_start,
        max(window_end) AS last_window_end,
        argMax(explanation, at) AS last_explanation
    FROM alerts FINAL
    GROUP BY alert_id
);

-- 迟到评价: evaluations older than the allowed lateness when ingested (in ratings, in no
-- window), per Shanghai day of evaluation and channel, with the share of all evaluations.
CREATE VIEW IF NOT EXISTS late_statistics AS
SELECT
    day,
    channel,
    late_evaluations,
    evaluations,
    late_evaluations / evaluations AS late_rate,
    max_delay_s
FROM
(
    SELECT
        toDate(evaluated_at) AS day,
        channel,
        countIf(late = 1) AS late_evaluations,
        count() AS evaluations,
        maxIf(toInt64(ingested_at) - toInt64(evaluated_at), late = 1) AS max_delay_s
    FROM ratings FINAL
    GROUP BY day, channel
)
WHERE late_evaluations > 0;

-- Rejected messages (not landed in ratings) per Shanghai day, reason and source topic.
CREATE VIEW IF NOT EXISTS rejected_statistics AS
SELECT
    toDate(rejected_at) AS day,
    reason,
    source_topic,
    count() AS rejected,
    min(rejected_at) AS first_at,
    max(rejected_at) AS last_at
FROM rejected FINAL
GROUP BY day, reason, source_topic;
