-- Issue 27: who can be called back, and what the citizen said afterwards. A bad review is 实名
-- when it carries an evaluator (its pseudonym, evaluator_hash, is not empty): those must all be
-- called back (实名差评回访率), anonymous ones are counted apart. Its 追评 is the latest later
-- round of the same transaction (evaluation_round > the bad review's), rated by the citizen
-- after the department answered. Both read `ratings`, so a replay changes neither.
CREATE VIEW IF NOT EXISTS case_follow_ups AS
SELECT
    case_id,
    real_name,
    transaction_id,
    if(f_round > c_round, f_level, 0) AS follow_up_level,
    if(f_round > c_round, f_at, toDateTime(0)) AS follow_up_at
FROM
(
    SELECT
        evaluation_id AS case_id,
        evaluator_hash != '' AS real_name,
        transaction_id,
        evaluation_round AS c_round
    FROM ratings FINAL
    WHERE level <= 2
) AS bad
ANY LEFT JOIN
(
    SELECT
        transaction_id,
        max(evaluation_round) AS f_round,
        argMax(level, evaluation_round) AS f_level,
        argMax(evaluated_at, evaluation_round) AS f_at
    FROM ratings FINAL
    WHERE evaluation_round > 1 AND transaction_id != ''
    GROUP BY transaction_id
) AS later USING (transaction_id);

-- case_loop_monthly with the 实名 and 追评 columns: 实名差评回访率 (实名 cases whose call-back
-- reached the citizen, of all 实名 cases) and the 追评 after the answer (follow_ups, and those
-- rated 基本满意 or better).
-- (18.16 has no DROP VIEW: DROP TABLE drops a view on both engines)
DROP TABLE IF EXISTS case_loop_monthly;

CREATE VIEW IF NOT EXISTS case_loop_monthly AS
SELECT
    department_code,
    month,
    cases,
    verified_cases,
    truthful_cases,
    routed_cases,
    reroute_requests,
    reroutes_refused,
    reached_callbacks,
    rated_rectifications,
    satisfied_rectifications,
    appeals_upheld,
    real_name_cases,
    real_name_reached,
    anonymous_cases,
    follow_ups,
    satisfied_follow_ups,
    round(verified_cases / cases, 4) AS verification_rate,
    round(reached_callbacks / cases, 4) AS reached_callback_rate,
    if(rated_rectifications = 0, 0,
       round(satisfied_rectifications / rated_rectifications, 4)) AS rectification_satisfaction_rate,
    if(real_name_cases = 0, 0,
       round(real_name_reached / real_name_cases, 4)) AS real_name_callback_rate,
    if(follow_ups = 0, 0, round(satisfied_follow_ups / follow_ups, 4)) AS follow_up_satisfaction_rate
FROM
(
    SELECT
        if(l_routed_to = '', l_department, l_routed_to) AS department_code,
        toStartOfMonth(l_opened_at) AS month,
        count() AS cases,
        sum(l_verified) AS verified_cases,
        sum(l_truthful) AS truthful_cases,
        sum(l_routes > 0) AS routed_cases,
        sum(l_requests) AS reroute_requests,
        sum(l_refusals) AS reroutes_refused,
        sum(l_reached) AS reached_callbacks,
        sum(l_rating != '') AS rated_rectifications,
        sum(l_rating IN ('satisfied', 'basically_satisfied')) AS satisfied_rectifications,
        sum(l_upheld) AS appeals_upheld,
        sum(real_name) AS real_name_cases,
        sum(real_name AND l_reached) AS real_name_reached,
        sum(known AND NOT real_name) AS anonymous_cases,
        sum(follow_up_level > 0) AS follow_ups,
        sum(follow_up_level >= 3) AS satisfied_follow_ups
    FROM
    (
        SELECT
            case_id,
            anyIf(department_code, event = 'opened') AS l_department,
            argMaxIf(department_code, at, event = 'routed') AS l_routed_to,
            minIf(at, event = 'opened') AS l_opened_at,
            countIf(event = 'opened') AS l_opened,
            countIf(event = 'verified') > 0 AS l_verified,
            argMinIf(truthful, at, event = 'verified') = 1 AS l_truthful,
            countIf(event = 'routed') AS l_routes,
            countIf(event = 'reroute_requested') AS l_requests,
            countIf(event = 'reroute_refused') AS l_refusals,
            countIf(event = 'called_back' AND outcome = 'reached') > 0 AS l_reached,
            argMinIf(satisfaction, at, event = 'rectification_rated') AS l_rating,
            countIf(event = 'appeal_upheld') > 0 AS l_upheld
        FROM case_events FINAL
        GROUP BY case_id
    ) AS loop
    ANY LEFT JOIN
    (
        -- known: the bad review itself has landed (an external system's case may have none)
        SELECT case_id, 1 AS known, real_name, follow_up_level FROM case_follow_ups
    ) AS reviews USING (case_id)
    WHERE l_opened > 0
    GROUP BY department_code, month
);

-- 约谈: the department ranked last by 好评率 (among those with 20 evaluations or more in the
-- month, the dashboard's default minimum) two months running; `second_month` is the later.
CREATE VIEW IF NOT EXISTS interview_list AS
SELECT department_code, second_month, first_rate, second_rate
FROM
(
    SELECT month AS second_month, argMin(key, good_rate) AS department_code,
           min(good_rate) AS second_rate
    FROM satisfaction_monthly
    WHERE dimension = 'department' AND total >= 20
    GROUP BY month
) AS later
ANY INNER JOIN
(
    SELECT addMonths(month, 1) AS second_month, argMin(key, good_rate) AS department_code,
           min(good_rate) AS first_rate
    FROM satisfaction_monthly
    WHERE dimension = 'department' AND total >= 20
    GROUP BY month
) AS earlier USING (second_month, department_code);

-- Who did what with which case, and what the worker said (审计): the accepted actions (their
-- events on cases.events) and the refused ones (ratings.rejected, reason action_refused),
-- with the action's time, its user and, for a refusal, why.
CREATE VIEW IF NOT EXISTS action_audit AS
SELECT at, actor, case_id, event AS step, 'accepted' AS verdict, '' AS why, action_id
FROM case_events FINAL
WHERE action_id != ''
UNION ALL
SELECT
    rejected_at AS at,
    visitParamExtractString(raw, 'actor') AS actor,
    visitParamExtractString(raw, 'case_id') AS case_id,
    visitParamExtractString(raw, 'action') AS step,
    'refused' AS verdict,
    message AS why,
    visitParamExtractString(raw, 'action_id') AS action_id
FROM rejected FINAL
WHERE reason = 'action_refused';
